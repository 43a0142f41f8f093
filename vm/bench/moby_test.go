package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ipvsadm-go/ipvsadm/internal/testkit"
)

// TestReportMoby checks the table against moby/ipvs: its own section, the
// ratio moby/ours, the 3x targets (none for -C) and the shared samples.
func TestReportMoby(t *testing.T) {
	s := func(sec float64) sample { return sample{wall: time.Duration(sec * float64(time.Second))} }
	b := &runner{}
	restore := b.row("restore 1200 lines (200x5)", "restore")
	flush := b.row("-C 1200", "flush")
	m := b.mobyRowsFor(tableSize{services: 200, reals: 5}, "1200")
	restore.samples = [2][]sample{{s(1)}, {s(0.1)}}
	restore.maxRSS = [2]int64{1 << 10, 2 << 10}
	flush.samples = [2][]sample{{s(0.02)}, {s(0.02)}}
	m.restore.samples[0] = []sample{s(0.4), s(0.5), s(0.6)}
	m.restore.maxRSS[0] = 12 << 10
	m.flush.samples[0] = []sample{s(0.03)}
	m.stats.samples = [2][]sample{{s(0.2)}, {s(0.1)}}
	m.json.samples = [2][]sample{{s(0.2)}, {s(0.05)}}
	m.shareOurs(restore, flush)
	out := b.report()
	for _, want := range []string{
		"ours vs moby/ipvs v1.1.0",
		"| restore 1200 lines (200x5) vs moby           |         0.500 |         0.100 |             5.00x |",
		"|            12.0 |             2.0 | >=3x PASS",
		"| list+counters 1200: ours -Ln --stats --exact |         0.200 |         0.100 |             2.00x |",
		">=3x MISS",
		"| list+counters 1200: ours -Ln --json          |         0.200 |         0.050 |             4.00x |",
		"| -C 1200 vs moby                              |         0.030 |         0.020 |             1.50x |",
		"- (informational)",
		"targets: 6 PASS, 1 MISS",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	if main, _, _ := strings.Cut(out, "ours vs moby/ipvs"); strings.Contains(main, "vs moby") || strings.Contains(main, "list+counters") {
		t.Errorf("the moby rows appear outside their table:\n%s", out)
	}
}

func TestMobyListingHolds(t *testing.T) {
	rules := testkit.BenchRules(3, 2)
	good := "TCP 10.0.0.3:80 rr 0 0 0 0 0\n" +
		"  -> 172.16.0.6:8080 Masq 4 0 0 0 0 0 0 0\n" +
		"  -> 172.16.0.5:8080 Masq 3 0 0 0 0 0 0 0\n" +
		"TCP 10.0.0.1:80 wlc 0 0 0 0 0\n" +
		"  -> 172.16.0.1:8080 Masq 1 0 0 0 0 0 0 0\n" +
		"  -> 172.16.0.2:8080 Masq 2 0 0 0 0 0 0 0\n" +
		"TCP 10.0.0.2:80 wlc 0 0 0 0 0\n" +
		"  -> 172.16.0.3:8080 Masq 2 0 0 0 0 0 0 0\n" +
		"  -> 172.16.0.4:8080 Masq 3 0 0 0 0 0 0 0\n"
	if err := mobyListingHolds([]byte(good), rules); err != nil {
		t.Fatalf("%v\nrules:\n%s", err, rules)
	}
	for name, bad := range map[string]string{
		"a real server missing": strings.Replace(good, "  -> 172.16.0.4:8080 Masq 3 0 0 0 0 0 0 0\n", "", 1),
		"a weight changed":      strings.Replace(good, "172.16.0.4:8080 Masq 3", "172.16.0.4:8080 Masq 4", 1),
		"counters missing":      strings.Replace(good, "wlc 0 0 0 0 0", "wlc", 1),
		"a service twice":       good + "TCP 10.0.0.2:80 wlc 0 0 0 0 0\n",
		"empty":                 "",
	} {
		if err := mobyListingHolds([]byte(bad), rules); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
