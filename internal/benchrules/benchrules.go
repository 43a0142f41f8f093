// Package benchrules generates the rule table of the benchmarks: the rule
// file the VM benchmark (vm/bench) restores with both ipvsadm 1.31 and ours,
// and the table of the in-process benchmarks of cmd/ipvsadm, so that both
// measure the same table.
package benchrules

import (
	"bytes"
	"fmt"
)

// Addr is the n-th (from 0) host address after base, skipping .0 and .255.
func Addr(base uint32, n int) string {
	a := base + uint32(n/254)<<8 + uint32(n%254) + 1
	return fmt.Sprintf("%d.%d.%d.%d", a>>24, a>>16&255, a>>8&255, a&255)
}

// Rules is a rule file as `ipvsadm -Sn` prints it (same order): TCP
// services on distinct VIPs 10.0.x.y:80, two thirds wlc and one third rr,
// each with `reals` NAT real servers 172.16.x.y:8080 of weights 1..5.
func Rules(services, reals int) []byte {
	var b bytes.Buffer
	for i := 0; i < services; i++ {
		vip := Addr(10<<24, i)
		sched := "wlc"
		if i%3 == 2 {
			sched = "rr"
		}
		fmt.Fprintf(&b, "-A -t %s:80 -s %s\n", vip, sched)
		for j := 0; j < reals; j++ {
			fmt.Fprintf(&b, "-a -t %s:80 -r %s:8080 -m -w %d\n", vip, Addr(172<<24|16<<16, i*reals+j), 1+(i+j)%5)
		}
	}
	return b.Bytes()
}
