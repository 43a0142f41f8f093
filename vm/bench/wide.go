package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// wideViews are the listings measured on one service with many real
// servers: every view that dumps real servers over netlink, and the two
// that read them from /proc.
var wideViews = [][]string{
	{"-Ln"}, {"-Sn"}, {"-Ln", "-t", wideVIP}, {"-Ln", "--stats"}, {"-Ln", "--rate"},
	{"-Ln", "--thresholds"}, {"-Ln", "--persistent-conn"}, {"-Ln", "--tun-info"},
}

const wideVIP = "10.250.0.1:80"

// wideRules is one wrr service with reals NAT real servers.
func wideRules(reals int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "-A -t %s -s wrr\n", wideVIP)
	for i := 0; i < reals; i++ {
		fmt.Fprintf(&b, "-a -t %s -r 172.20.%d.%d:8080 -m -w %d\n", wideVIP, i/250, i%250+1, 1+i%9)
	}
	return b.Bytes()
}

// wide measures every view of one service with reals real servers (a
// listing once quadratic in them): both tools must print the same bytes,
// and ours should be no slower.
func (b *runner) wide(reals, rounds int) error {
	fmt.Printf("\n== one service with %d real servers ==\n", reals)
	ref := b.tools[0]
	rules := filepath.Join(b.work, fmt.Sprintf("rules-wide-%d", reals))
	if err := os.WriteFile(rules, wideRules(reals), 0o644); err != nil {
		return err
	}
	ns, err := b.newNS()
	if err != nil {
		return err
	}
	defer func() {
		unix.Close(ns)
		waitSlab()
	}()
	time.Sleep(b.settle)
	if _, err := b.exec(ns, ref, rules, "", "-R"); err != nil {
		return err
	}
	label := fmt.Sprintf("1x%dk", reals/1000)
	for _, view := range wideViews {
		name := strings.Join(view, " ")
		if len(view) == 3 && view[1] == "-t" {
			name = "-Ln -t VIP"
		}
		r := b.row(name+" "+label, "wide")
		var outs [2][]byte
		for i, t := range b.tools {
			p := filepath.Join(b.work, "wide-"+t.name)
			if _, err := b.exec(ns, t, "", p, view...); err != nil {
				return err
			}
			outs[i], _ = os.ReadFile(p)
		}
		if !bytes.Equal(outs[0], outs[1]) {
			return fmt.Errorf("%w: `ipvsadm %s` of %d real servers: ours differs from the reference: %s",
				errCorrectness, strings.Join(view, " "), reals, firstDifference(outs[0], outs[1]))
		}
		if err := b.measure(ns, r, rounds, nil, view...); err != nil {
			return err
		}
	}
	return nil
}
