package main

import (
	"bytes"
	"strings"
	"testing"
)

func lineSet(t *testing.T, what string, b []byte) map[string]bool {
	t.Helper()
	m := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if m[l] {
			t.Fatalf("%s: duplicate line %q", what, l)
		}
		m[l] = true
	}
	return m
}

// TestConvergeTables checks the converge case: deterministic, about 1%
// of the lines changed in an even mix, every real server under a service
// of its table, and the probed services in both tables.
func TestConvergeTables(t *testing.T) {
	for _, tc := range []struct{ services, reals int }{{10000, 5}, {2000, 5}, {1000, 5}, {200, 5}, {300, 1}} {
		c := convergeTables(tc.services, tc.reals)
		if again := convergeTables(tc.services, tc.reals); !bytes.Equal(c.desired, again.desired) {
			t.Fatalf("%dx%d: not deterministic", tc.services, tc.reals)
		}
		lines := tc.services * (1 + tc.reals)
		base, desired := lineSet(t, "base", c.base), lineSet(t, "desired", c.desired)
		var gone, added int
		for l := range base {
			if !desired[l] {
				gone++
			}
		}
		for l := range desired {
			if !base[l] {
				added++
			}
		}
		// An edit is one line gone and one added; everything else one of them.
		if gone+added != c.changed+c.edits {
			t.Errorf("%dx%d: %d lines gone, %d added; the case says %d changed of which %d edits",
				tc.services, tc.reals, gone, added, c.changed, c.edits)
		}
		if lines >= 6000 && (c.changed < lines*8/1000 || c.changed > lines*12/1000) {
			t.Errorf("%dx%d: %d of %d lines changed, not about 1%%", tc.services, tc.reals, c.changed, lines)
		}
		// The mix: each kind a third of the changed lines, give or take
		// (a small table has fewer lines to change than a service has).
		svcLines := 2 * c.svcSwaps * (1 + tc.reals)
		t.Logf("%dx%d: %d lines changed: %d weights, %d real servers swapped, %d services swapped", tc.services, tc.reals, c.changed, c.edits, c.swaps, c.svcSwaps)
		for _, part := range []int{c.edits, 2 * c.swaps, svcLines} {
			if lines >= 6000 && (part < c.changed/6 || part > c.changed/2) {
				t.Errorf("%dx%d: uneven mix: %d edits, %d swaps, %d services swapped (%d lines)",
					tc.services, tc.reals, c.edits, c.swaps, c.svcSwaps, svcLines)
				break
			}
		}
		if desired["-A -t "+c.removedSvc+" -s wlc"] || desired["-A -t "+c.removedSvc+" -s rr"] || !strings.Contains(string(c.desired), "-A -t "+c.addedPrefix) {
			t.Errorf("%dx%d: service %s not removed or none added", tc.services, tc.reals, c.removedSvc)
		}
		svcs := map[string]bool{}
		for _, l := range strings.Split(strings.TrimSuffix(string(c.desired), "\n"), "\n") {
			f := strings.Fields(l)
			switch {
			case f[0] == "-A":
				svcs[f[2]] = true
			case !svcs[f[2]]:
				t.Fatalf("%dx%d: %q before or without its service", tc.services, tc.reals, l)
			}
		}
		if len(c.probe) < min(tc.services, probeServices)-c.svcSwaps {
			t.Errorf("%dx%d: only %d services to probe", tc.services, tc.reals, len(c.probe))
		}
		for _, k := range c.probe {
			vip := k.Addr.String() + ":80"
			if !svcs[vip] || !strings.Contains(string(c.base), "-A -t "+vip+" ") {
				t.Errorf("%dx%d: probed service %s is not in both tables", tc.services, tc.reals, vip)
			}
		}
	}
}
