package sched

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestGolden pins the models' choices for fixed services and clients, v4
// and v6, through adds, a weight change and a delete: a change of any
// algorithm shows here. The kernel tests check the same models against
// live traffic.
func TestGolden(t *testing.T) {
	type variant struct {
		sched string
		flags rules.ServiceFlags
	}
	variants := []variant{
		{"sh", 0}, {"sh", rules.FlagSched1}, {"sh", rules.FlagSched2}, {"dh", 0},
		{"mh", 0}, {"mh", rules.FlagSched1}, {"mh", rules.FlagSched2}, {"rr", 0}, {"wrr", 0},
	}
	for _, fam := range []string{"v4", "v6"} {
		for _, v := range variants {
			name := v.sched
			if v.flags != 0 {
				name += "-" + string(AppendFlags(nil, v.sched, v.flags))
			}
			file := name + "-" + fam + ".txt"
			t.Run(file, func(t *testing.T) {
				got := goldenRun(v.sched, v.flags, fam == "v6")
				path := filepath.Join("testdata", "golden", file)
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("choices differ from %s (run with -update after checking why):\n%s", path, got)
				}
			})
		}
	}
}

// goldenRun drives a model through a fixed story and writes one line per
// phase: the server each of 48 clients gets.
func goldenRun(scheduler string, flags rules.ServiceFlags, v6 bool) string {
	addr := func(prefix string, i int) netip.Addr {
		if v6 {
			return netip.MustParseAddr(fmt.Sprintf("2001:db8:%s::%x", prefix, i))
		}
		return netip.MustParseAddr(fmt.Sprintf("10.%s.%d.%d", prefix, i/250, i%250+1))
	}
	fam := rules.IPv4
	if v6 {
		fam = rules.IPv6
	}
	m, _ := New(scheduler, fam, flags, nil)
	var b strings.Builder
	phase := func(title string) {
		fmt.Fprintf(&b, "%-18s", title)
		for c := range 48 {
			i := m.Schedule(Packet{Protocol: rules.UDP, Client: netip.AddrPortFrom(addr("7", c*37), uint16(1000+c*101)),
				Virtual: addr("9", 1)})
			if i < 0 {
				b.WriteString(" -")
				continue
			}
			fmt.Fprintf(&b, " %d", m.servers[i].Addr.As16()[15])
		}
		b.WriteByte('\n')
	}
	for i, w := range []int32{1, 3, 2, 5} {
		m.Add(Server{Addr: addr("1", i+1), Port: 80, Weight: w})
	}
	phase("added 1,2,3,4")
	m.SetWeight(m.Index(addr("1", 2), 80), 0)
	phase("2 quiesced")
	m.SetWeight(m.Index(addr("1", 3), 80), 7)
	phase("3 weighs 7")
	m.Delete(m.Index(addr("1", 4), 80))
	phase("4 deleted")
	m.Add(Server{Addr: addr("1", 5), Port: 80, Weight: 2})
	phase("5 added")
	return b.String()
}
