package render

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// TestBriefEntries: a table read in brief (real servers in
// ServiceEntry.Brief) lists and saves exactly as the same table with full
// real servers that have only what brief ones keep, in every layout and
// with and without sorting.
func TestBriefEntries(t *testing.T) {
	for _, name := range []string{"b", "f", "h", "i"} {
		table := loadTable(t, name)
		full := make([]rules.ServiceEntry, len(table.Entries))
		brief := make([]rules.ServiceEntry, len(table.Entries))
		for i, e := range table.Entries {
			full[i].Service, brief[i].Service = e.Service, e.Service
			for j := range e.Dests {
				b := e.Dests[j].Brief()
				brief[i].Brief = append(brief[i].Brief, b)
				full[i].Dests = append(full[i].Dests, b.Destination())
			}
		}
		for _, o := range []ListOptions{
			{Numeric: true}, {Numeric: true, NoSort: true}, {Numeric: true, Stats: true},
			{Numeric: true, Rate: true}, {Numeric: true, Thresholds: true},
			{Numeric: true, PersistentConn: true}, {Numeric: true, TunInfo: true},
		} {
			var want, got bytes.Buffer
			WriteList(&want, table.Info, full, o, nil)
			WriteList(&got, table.Info, brief, o, nil)
			require.Equal(t, want.String(), got.String(), "%s %+v", name, o)
		}
		var want, got bytes.Buffer
		require.NoError(t, WriteSave(&want, full, true, nil))
		require.NoError(t, WriteSave(&got, brief, true, nil))
		require.Equal(t, want.String(), got.String(), name)
		require.NotEmpty(t, got.String())
	}
}

// TestBriefDestLines: a brief real server's line, in the list and in a
// save, is the line of the Destination it stands for, whatever its values.
func TestBriefDestLines(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	svcs := []rules.Service{
		{ServiceKey: rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}},
		{ServiceKey: rules.ServiceKey{Family: rules.IPv6, Protocol: rules.UDP, Addr: netip.MustParseAddr("2001:db8::1"), Port: 53}},
		{ServiceKey: rules.ServiceKey{Family: rules.IPv4, FWMark: 7}},
	}
	for range 2000 {
		var d rules.BriefDestination
		if rng.IntN(2) == 0 {
			d.Family = rules.IPv4
			binary.BigEndian.PutUint32(d.IP[:4], rng.Uint32())
		} else {
			d.Family = rules.IPv6
			binary.BigEndian.PutUint64(d.IP[:8], rng.Uint64())
			binary.BigEndian.PutUint64(d.IP[8:], rng.Uint64())
		}
		d.Port = uint16(rng.Uint32())
		d.Forward = rules.ForwardMethod(rng.IntN(8))
		d.Weight = int32(rng.Uint32() >> rng.IntN(32))
		d.ActiveConns, d.InactiveConns = rng.Uint32()>>rng.IntN(32), rng.Uint32()>>rng.IntN(32)
		full := d.Destination()
		for i := range svcs {
			s := &svcs[i]
			o := ListOptions{Numeric: true}
			require.Equal(t, string(appendDestLine(nil, s, &full, formatDefault, o, nil)),
				string(appendBriefDestLine(nil, s, &d, o, nil)), "%+v", d)
			e := rules.ServiceEntry{Service: *s, Brief: []rules.BriefDestination{d}}
			var want, got bytes.Buffer
			require.NoError(t, WriteSave(&want, []rules.ServiceEntry{{Service: *s, Dests: []rules.Destination{full}}}, true, nil))
			require.NoError(t, WriteSave(&got, []rules.ServiceEntry{e}, true, nil))
			require.Equal(t, want.String(), got.String(), "%+v", d)
		}
	}
}

// TestDestSorterOrder: the order of a service's real servers is the one
// SortDests gives (ipvsadm's merge sort with its wrapping comparator),
// whether insertion sort may stand in for it or not.
func TestDestSorterOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var s destSorter
	for range 20000 {
		n := rng.IntN(2 * smallSort)
		var e rules.ServiceEntry
		base := rng.Uint32()
		for range n {
			d := rules.Destination{Family: rules.IPv4, Port: uint16(rng.IntN(4))}
			w := base + rng.Uint32()>>rng.IntN(33)
			if rng.IntN(8) == 0 {
				w = rng.Uint32() // far apart: the comparator wraps
			}
			if rng.IntN(16) == 0 {
				d.Family, d.Addr = rules.IPv6, netip.AddrFrom16([16]byte{0x20, 1, byte(w), byte(w >> 8)})
			} else {
				d.Addr = netip.AddrFrom4([4]byte{byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w)})
			}
			e.Dests = append(e.Dests, d)
		}
		want := slices.Clone(e.Dests)
		SortDests(want)
		var got []rules.Destination
		for _, i := range s.order(&e) {
			got = append(got, e.Dests[i])
		}
		require.Equal(t, want, got)
	}
}
