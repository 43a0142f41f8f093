package main

import (
	"strings"
	"testing"
	"time"
)

// TestReportConverge checks the converge rows of the report: the 50x
// target, the no-change row against ours -Sn, and the flush-window table.
func TestReportConverge(t *testing.T) {
	s := func(sec float64) sample { return sample{wall: time.Duration(sec * float64(time.Second))} }
	w := func(total, longest float64) flushWindow {
		return flushWindow{total: time.Duration(total * float64(time.Second)), longest: time.Duration(longest * float64(time.Second))}
	}
	b := &runner{}
	conv := b.row("converge 1% 6000 (1000x5)", "converge")
	conv.samples = [2][]sample{{s(6), s(5), s(7)}, {s(0.1), s(0.1), s(0.2)}}
	conv.maxRSS[1] = 10 << 10
	conv.windows = [2][]flushWindow{{w(4, 3), w(5, 4), w(6, 5)}, {w(0, 0), w(0, 0), w(0, 0)}}
	same := b.row("-R --replace no change 6000", "replace-same")
	same.vs = "ours -Sn"
	same.samples = [2][]sample{{s(0.2)}, {s(0.3)}}
	same.maxRSS = [2]int64{8 << 10, 9 << 10}
	js := b.row("-Ln --json 12k", "json")
	js.vs = "ours -Ln"
	js.samples = [2][]sample{{s(0.2)}, {s(0.19)}}
	out := b.report()
	for _, want := range []string{
		"| converge 1% 6000 (1000x5)     |            6.000 |         0.100 | 60.00x |",
		">=50x PASS, mem PASS",
		"| -R --replace no change 6000 * |",
		">=1x vs ours -Sn MISS, mem PASS",
		"* -R --replace no change 6000: the ipvsadm columns hold ours -Sn of the same table",
		"| converge 1% 6000 (1000x5) |            5.000 |             4.000 |         0.000 |          0.000 |               0.000 | ours 0 in every round PASS |",
		"| -Ln --json 12k *",
		">=1x vs ours -Ln PASS, mem PASS",
		"* -Ln --json 12k: the ipvsadm columns hold ours -Ln of the same table",
		"targets: 6 PASS, 1 MISS",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
}
