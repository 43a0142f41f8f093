package rules

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTableProperties applies random changes over a small pool and checks
// what must hold after each: a refused change changes nothing, the listing
// is in hash order, keys are unique, a clone lists the same, and sync
// daemons never run beside mixed-family real servers.
func TestTableProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	keys := []ServiceKey{tcp80, udp53, tcp6, fwm4, fwm6, {Family: IPv4, Protocol: TCP, Addr: tcp80.Addr, Port: 0x151}}
	addrs := []netip.Addr{rs1, rs2, rs6, netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("ff02::1")}
	scheds := []string{"rr", "mh", "none", "nosuch"}
	pick := func(n int) int { return r.IntN(n) }
	tb := modelTable(t)
	tb.Env.BucketSalt = 0x33
	for i := range 20000 {
		k := keys[pick(len(keys))]
		s := svcOf(k, scheds[pick(len(scheds))])
		s.Netmask = []uint32{s.Netmask, 0, 64}[pick(3)]
		a := addrs[pick(len(addrs))]
		d := Destination{Family: FamilyOf(a), Addr: a, Port: uint16(pick(2) * 80), Forward: ForwardMethod(pick(4)),
			Weight: int32(pick(3) - 1), UpperThreshold: uint32(pick(3)), LowerThreshold: uint32(pick(2))}
		c := Change{Op: Op(1 + pick(int(OpStopDaemon))), Service: s, Dest: d,
			Timeouts: Timeouts{TCP: uint32(pick(3)) * 4294967295 / 2},
			Daemon:   Daemon{State: SyncState(pick(3)), Interface: []string{syncIf, "lo", "x"}[pick(3)]}}
		before := stateOf(tb)
		if err := tb.Apply(c); err != nil {
			require.Equal(t, before, stateOf(tb), "step %d: %s refused (%v) but changed the table", i, c, err)
			continue
		}
		entries := tb.Entries()
		require.Len(t, tb.byKey, len(entries))
		for j, e := range entries {
			got, ok := tb.Service(e.Service.ServiceKey)
			require.True(t, ok)
			require.Equal(t, e.Service, got)
			if j > 0 {
				require.LessOrEqual(t, tb.rankOf(entries[j-1].Service.ServiceKey), tb.rankOf(e.Service.ServiceKey))
			}
			seen := map[DestinationKey]bool{}
			for _, d := range e.Dests {
				require.False(t, seen[d.Key()], "step %d: %s twice", i, d.Key())
				seen[d.Key()] = true
				require.NotZero(t, d.Family)
			}
		}
		if i%100 == 0 {
			require.Equal(t, stateOf(tb), stateOf(tb.Clone()))
		}
		if len(tb.Daemons()) > 0 {
			require.Zero(t, tb.mixedDests(), "step %d: daemons beside mixed families", i)
		}
	}
}
