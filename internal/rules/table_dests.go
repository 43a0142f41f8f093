package rules

import (
	"net/netip"
	"slices"
)

// Real servers as a Table keeps them: compact settings, oldest first, found
// by a scan in a short list and through an index in a long one.

// A tableDest is a real server as a Table keeps it: its settings (a table
// has no counters) in a fifth of a Destination's size, and its tag. It
// holds no pointers, so the collector never scans a table's real servers.
type tableDest struct {
	ip          [16]byte // the address in 16-byte form (IPv4-mapped for IPv4)
	weight      int32
	upper       uint32
	lower       uint32
	forward     ForwardMethod
	family      Family // always set
	port        uint16
	tunnelPort  uint16
	tunnelFlags TunnelFlags
	tunnelType  TunnelType
	tag         int32
}

// storedDest is d's settings as a table keeps them, with tag. An address
// has no zone here: the kernel has none either.
func storedDest(d *Destination, tag int32) tableDest {
	return tableDest{
		ip: d.Addr.As16(), weight: d.Weight, upper: d.UpperThreshold, lower: d.LowerThreshold,
		forward: d.Forward, family: d.Family, port: d.Port,
		tunnelPort: d.TunnelPort, tunnelFlags: d.TunnelFlags, tunnelType: d.TunnelType, tag: tag,
	}
}

func (td *tableDest) addr() netip.Addr { return addrFrom16(td.family, td.ip) }

// addrFrom16 is the address of family f whose 16-byte form is ip.
func addrFrom16(f Family, ip [16]byte) netip.Addr {
	a := netip.AddrFrom16(ip)
	if f == IPv4 {
		return a.Unmap()
	}
	return a
}

// destination is td as a Destination, with zero counters.
func (td *tableDest) destination() Destination {
	return Destination{
		Family: td.family, Addr: td.addr(), Port: td.port, Forward: td.forward, Weight: td.weight,
		UpperThreshold: td.upper, LowerThreshold: td.lower,
		TunnelType: td.tunnelType, TunnelPort: td.tunnelPort, TunnelFlags: td.tunnelFlags,
	}
}

func (td *tableDest) key() DestinationKey {
	return DestinationKey{Family: td.family, Addr: td.addr(), Port: td.port}
}

// A DestList is the real servers of one service of a Table, read in
// place, newest first as the kernel lists them. It is valid until the
// table changes; the zero DestList is empty.
type DestList struct{ ts *tableService }

// Dests returns the real servers of the service with key k; none if there
// is no such service.
func (t *Table) Dests(k ServiceKey) DestList { return DestList{t.byKey[kernelKey(k)]} }

// Len is the number of real servers.
func (l DestList) Len() int {
	if l.ts == nil {
		return 0
	}
	return len(l.ts.dests)
}

// Contains reports whether the list holds real server k.
func (l DestList) Contains(k DestinationKey) bool { return l.ts != nil && l.ts.findDest(k) >= 0 }

// At returns the i-th real server, newest first.
func (l DestList) At(i int) Destination { return l.ts.dests[len(l.ts.dests)-1-i].destination() }

// Find returns real server k, if the list holds it.
func (l DestList) Find(k DestinationKey) (Destination, bool) {
	if l.ts == nil {
		return Destination{}, false
	}
	if i := l.ts.findDest(k); i >= 0 {
		return l.ts.dests[i].destination(), true
	}
	return Destination{}, false
}

// listed returns the real servers in the kernel's order, newest first;
// nil for none.
func (ts *tableService) listed() []Destination {
	if len(ts.dests) == 0 {
		return nil
	}
	out := make([]Destination, len(ts.dests))
	for i := range out {
		out[i] = DestList{ts}.At(i)
	}
	return out
}

// indexFrom is the number of real servers from which a service finds
// them through a map: below it a scan is as fast, and a table of
// thousands of small services needs no maps.
const indexFrom = 32

// findDest is the index of the real server with key k in ts, or -1.
func (ts *tableService) findDest(k DestinationKey) int {
	ip := k.Addr.As16()
	if len(ts.dests) < indexFrom {
		for i := range ts.dests {
			if d := &ts.dests[i]; d.ip == ip && d.family == k.Family && d.port == k.Port {
				return i
			}
		}
		return -1
	}
	if ts.index == nil {
		ts.index = make(map[DestinationKey]int32, len(ts.dests))
		for i := range ts.dests {
			ts.index[ts.dests[i].key()] = int32(i)
		}
	}
	// The key as the index holds it, as the scan compares it.
	k.Addr = addrFrom16(k.Family, ip)
	if i, ok := ts.index[k]; ok {
		return int(i)
	}
	return -1
}

// exactUpTo is the number of real servers up to which a service's slice
// grows by one, not by doubling: as many bytes are copied on the way, and
// the thousands of small services of a big table end up without spare
// room.
const exactUpTo = 8

// appendDest adds d as the newest real server.
func (ts *tableService) appendDest(d tableDest) {
	if n := len(ts.dests); n == cap(ts.dests) && n < exactUpTo {
		ts.dests = append(make([]tableDest, 0, n+1), ts.dests...)
	}
	ts.dests = append(ts.dests, d)
	if ts.index != nil {
		ts.index[d.key()] = int32(len(ts.dests) - 1)
	}
}

// deleteDest removes the real server at index i.
func (ts *tableService) deleteDest(i int) {
	if ts.index != nil {
		delete(ts.index, ts.dests[i].key())
		for j := i + 1; j < len(ts.dests); j++ {
			ts.index[ts.dests[j].key()] = int32(j - 1)
		}
	}
	ts.dests = slices.Delete(ts.dests, i, i+1)
}
