package rules

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTableLargeService runs random additions, edits and deletions of real
// servers of one service across the size from which they are found through
// an index, against a plain list of them, and checks the listing, every
// lookup and a clone's independence as it goes.
func TestTableLargeService(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var pool []Destination
	for i := range 3 * indexFrom {
		a := netip.AddrFrom4([4]byte{10, 1, byte(i / 256), byte(i)})
		if i%3 == 0 {
			a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)})
		}
		pool = append(pool, Destination{Family: FamilyOf(a), Addr: a, Port: uint16(80 + i%2), Forward: Tunnel})
	}
	tb := modelTable(t, addSvc(svcOf(tcp80, "rr")))
	var want []Destination // oldest first
	find := func(k DestinationKey) int {
		return slices.IndexFunc(want, func(d Destination) bool { return d.Key() == k })
	}
	var clone *Table
	var cloneWant []Destination
	for step := range 5000 {
		d := pool[r.IntN(len(pool))]
		d.Weight = int32(r.IntN(100))
		i := find(d.Key())
		var err, wantErr error
		// Deletions are rarer than additions, so that the service grows
		// through the index's threshold and lives above it.
		switch op := r.IntN(5); {
		case op < 2:
			err = tb.Apply(addDst(tcp80, d))
			if i >= 0 {
				wantErr = syscall.EEXIST
			} else {
				want = append(want, d)
			}
		case op < 4:
			err = tb.Apply(editDst(tcp80, d))
			if i < 0 {
				wantErr = syscall.ENOENT
			} else {
				want[i] = d
			}
		default:
			err = tb.Apply(delDst(tcp80, d))
			if i < 0 {
				wantErr = syscall.ENOENT
			} else {
				want = slices.Delete(want, i, i+1)
			}
		}
		if wantErr == nil {
			require.NoError(t, err, "step %d", step)
		} else {
			require.ErrorIs(t, err, wantErr, "step %d", step)
		}
		listed := slices.Clone(want)
		slices.Reverse(listed)
		require.Equal(t, listed, tb.Destinations(tcp80), "step %d", step)
		if step%50 == 0 {
			for _, p := range pool {
				got, ok := tb.Destination(tcp80, p.Key())
				if j := find(p.Key()); j >= 0 {
					require.True(t, ok, "step %d: %s", step, p.Key())
					require.Equal(t, want[j], got)
				} else {
					require.False(t, ok, "step %d: %s", step, p.Key())
				}
			}
		}
		if step == 2500 {
			clone, cloneWant = tb.Clone(), slices.Clone(want)
		}
	}
	// The clone kept its state through the original's later changes.
	slices.Reverse(cloneWant)
	require.Equal(t, cloneWant, clone.Destinations(tcp80))
	for _, d := range cloneWant {
		got, ok := clone.Destination(tcp80, d.Key())
		require.True(t, ok)
		require.Equal(t, d, got)
	}
}

// TestTableTags checks that ApplyTagged tags what it adds or edits, that
// Apply's edits keep a tag, and that refusals and clones behave.
func TestTableTags(t *testing.T) {
	tb := modelTable(t)
	d := destOf(rs1, 80, Masquerade)
	require.NoError(t, tb.ApplyTagged(addSvc(svcOf(tcp80, "rr")), 3))
	require.NoError(t, tb.ApplyTagged(addDst(tcp80, d), 4))
	require.Equal(t, int32(3), tb.ServiceTag(tcp80))
	require.Equal(t, int32(4), tb.DestinationTag(tcp80, d.Key()))

	require.Error(t, tb.ApplyTagged(addDst(tcp80, d), 9), "a refused change tags nothing")
	require.Equal(t, int32(4), tb.DestinationTag(tcp80, d.Key()))

	require.NoError(t, tb.Apply(editDst(tcp80, withDst(d, func(d *Destination) { d.Weight = 7 }))))
	require.NoError(t, tb.Apply(editSvc(svcOf(tcp80, "wlc"))))
	require.Equal(t, int32(4), tb.DestinationTag(tcp80, d.Key()), "Apply's edit keeps the tag")
	require.Equal(t, int32(3), tb.ServiceTag(tcp80))

	c := tb.Clone()
	require.NoError(t, tb.ApplyTagged(editDst(tcp80, d), 5))
	require.Equal(t, int32(5), tb.DestinationTag(tcp80, d.Key()))
	require.Equal(t, int32(4), c.DestinationTag(tcp80, d.Key()))

	require.Zero(t, tb.ServiceTag(udp53), "no such service")
	require.Zero(t, tb.DestinationTag(tcp80, destOf(rs2, 80, Masquerade).Key()), "no such real server")
	require.Equal(t, Destination{Family: IPv4, Addr: rs1, Port: 80, Weight: 1}, tb.Destinations(tcp80)[0], "tags are not settings")
}

// TestTableAllAndLoad checks that All walks what Entries lists, its
// DestLists finding what they hold, and that a
// table loaded service by service from a listing lists the same.
func TestTableAllAndLoad(t *testing.T) {
	tb := modelTable(t,
		addSvc(svcOf(tcp80, "rr")), addSvc(svcOf(udp53, "wlc")), addSvc(svcOf(fwm6, "sh")),
		addDst(tcp80, destOf(rs1, 80, Masquerade)), addDst(tcp80, destOf(rs2, 80, Route)),
		addDst(fwm6, destOf(rs6, 0, Tunnel)), addDst(fwm6, destOf(rs1, 0, Tunnel)))
	var all []ServiceEntry
	for s, dests := range tb.All() {
		e := ServiceEntry{Service: s}
		for i := range dests.Len() {
			d := dests.At(i)
			e.Dests = append(e.Dests, d)
			got, ok := dests.Find(d.Key())
			require.True(t, ok)
			require.Equal(t, d, got)
			require.True(t, dests.Contains(d.Key()))
		}
		all = append(all, e)
	}
	require.Equal(t, tb.Entries(), all)
	require.Zero(t, tb.Dests(tcp6).Len(), "no such service")
	require.False(t, tb.Dests(tcp6).Contains(destOf(rs1, 80, Masquerade).Key()))

	loaded := NewTable()
	for _, e := range tb.Entries() {
		// Counters are dropped.
		e.Service.Stats.Conns = 9
		for i := range e.Dests {
			e.Dests[i].ActiveConns = 3
		}
		loaded.LoadService(&e)
	}
	require.Equal(t, tb.Entries(), loaded.Entries())
}
