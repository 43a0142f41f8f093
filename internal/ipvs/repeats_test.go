package ipvs

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// TestDropRepeats checks dropRepeats against a map of keys on random
// dumps drawn from a small set of services, so that repeats are common:
// the first of each service stays, in order, and nothing else.
func TestDropRepeats(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 13))
	pool := []rules.ServiceKey{{Family: rules.IPv4, FWMark: 1}, {Family: rules.IPv6, FWMark: 1}}
	for i := range 40 {
		a := netip.AddrFrom4([4]byte{10, 0, 0, byte(i % 5)})
		if i%7 == 0 {
			a = netip.MustParseAddr("2001:db8::1")
		}
		pool = append(pool, rules.ServiceKey{Family: rules.FamilyOf(a), Protocol: rules.Protocol(6 + 11*(i%2)), Addr: a, Port: uint16(i / 5)})
	}
	for _, n := range []int{0, 1, 2, 3, 17, 64, 300} {
		entries := make([]rules.ServiceEntry, n)
		for i := range entries {
			entries[i].Service.ServiceKey = pool[rng.IntN(len(pool))]
			entries[i].Service.Scheduler = string(rune('a' + i%26)) // which one was kept
		}
		var want []rules.ServiceEntry
		seen := map[rules.ServiceKey]bool{}
		for _, e := range entries {
			if !seen[e.Service.ServiceKey] {
				seen[e.Service.ServiceKey] = true
				want = append(want, e)
			}
		}
		got := dropRepeats(entries)
		require.Equal(t, len(want), len(got), "n=%d", n)
		if len(want) > 0 {
			require.Equal(t, want, got, "n=%d", n)
		}
		for _, e := range entries[len(got):] {
			require.Zero(t, e, "the dropped tail is cleared")
		}
	}
}
