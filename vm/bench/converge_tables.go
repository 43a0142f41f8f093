package main

import (
	"bytes"
	"fmt"
	"net/netip"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/testkit"
)

// A convergeCase is the converge workload's pair of tables: base is
// testkit.BenchRules, desired is base with about 1% of its lines changed,
// in three even parts: weights edited, real servers swapped (one deleted,
// another added on the same service), and whole services removed and
// others added with their -a lines.
type convergeCase struct {
	base, desired []byte
	// changed counts the lines that differ: an edited line once, a
	// deleted or an added line once each.
	changed                 int
	edits, swaps, svcSwaps  int
	probe                   []rules.ServiceKey // services both tables hold, for the flush-window prober
	removedSvc, addedPrefix string             // for the unit test: one removed VIP, the added VIPs' prefix
}

// convergeAddrBase holds the swapped-in real servers and the added
// services' real servers (192.168.0.0/16), apart from BenchRules'
// 172.16.0.0/12; added services are on 10.200.0.0/16, apart from
// BenchRules' 10.0.x.y (60,000 services reach 10.0.236.x).
const (
	convergeRealBase = 192<<24 | 168<<16
	convergeVIPBase  = 10<<24 | 200<<16
	probeServices    = 200
)

// convergeTables makes the converge case for a services x reals table.
// It is deterministic: the changes are spread evenly over the table.
func convergeTables(services, reals int) convergeCase {
	c := convergeCase{base: testkit.BenchRules(services, reals)}
	lines := services * (1 + reals)
	third := max(lines/100, 3) / 3
	// Services removed (as many added): their lines make a third.
	k := max(1, third/(2*(1+reals)))
	removed := map[int]bool{}
	for j := 0; j < k; j++ {
		removed[(2*j+1)*services/(2*k)] = true
	}
	k = len(removed)
	// Weight edits and real-server swaps on the other services' -a
	// lines, every stride-th one, swaps spread among the edits.
	c.swaps = max(1, third/2)
	c.edits = max(1, third)
	picks := c.edits + c.swaps
	keptDests := (services - k) * reals
	stride := max(1, keptDests/picks)
	var b bytes.Buffer
	d, picked, swapped := 0, 0, 0
	for i := 0; i < services; i++ {
		if removed[i] {
			if c.removedSvc == "" {
				c.removedSvc = testkit.BenchAddr(10<<24, i) + ":80"
			}
			continue
		}
		vip := testkit.BenchAddr(10<<24, i)
		sched := "wlc"
		if i%3 == 2 {
			sched = "rr"
		}
		fmt.Fprintf(&b, "-A -t %s:80 -s %s\n", vip, sched)
		for j := 0; j < reals; j++ {
			rs, w := testkit.BenchAddr(172<<24|16<<16, i*reals+j), 1+(i+j)%5
			if picked < picks && d%stride == stride/2 {
				// Bresenham: the swaps fall evenly among the picks.
				if (picked+1)*c.swaps/picks != picked*c.swaps/picks {
					rs = testkit.BenchAddr(convergeRealBase, swapped)
					swapped++
				} else {
					w = w%5 + 1
				}
				picked++
			}
			d++
			fmt.Fprintf(&b, "-a -t %s:80 -r %s:8080 -m -w %d\n", vip, rs, w)
		}
	}
	c.swaps, c.edits = swapped, picked-swapped
	c.addedPrefix = "10.200."
	for j := 0; j < k; j++ {
		vip := testkit.BenchAddr(convergeVIPBase, j)
		fmt.Fprintf(&b, "-A -t %s:80 -s wlc\n", vip)
		for r := 0; r < reals; r++ {
			fmt.Fprintf(&b, "-a -t %s:80 -r %s:8080 -m -w %d\n", vip, testkit.BenchAddr(convergeRealBase, c.swaps+j*reals+r), 1+r%5)
		}
	}
	c.svcSwaps = k
	c.desired = b.Bytes()
	c.changed = c.edits + 2*c.swaps + 2*k*(1+reals)
	// Up to 200 services both tables hold, spread over the table.
	seen := map[int]bool{}
	for t := 0; t < min(probeServices, services); t++ {
		i := t * services / min(probeServices, services)
		if removed[i] || seen[i] {
			continue
		}
		seen[i] = true
		c.probe = append(c.probe, rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP,
			Addr: netip.MustParseAddr(testkit.BenchAddr(10<<24, i)), Port: 80})
	}
	return c
}
