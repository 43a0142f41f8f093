package ipvs

import (
	"encoding/binary"
	"math/bits"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// dropRepeats removes the later entries of a service that entries holds
// more than once, in place. A dump resumes its walk by position, so it
// shows a service twice when the table grows between two of its parts.
//
// The services seen are kept in an open-addressing table of positions
// rather than a map of keys: it is a quarter of the size, and hashing a
// key is a few multiplications, which mattered for a listing of
// thousands of services (a map was a tenth of -Ln's user time).
func dropRepeats(entries []rules.ServiceEntry) []rules.ServiceEntry {
	if len(entries) < 2 {
		return entries
	}
	shift := 64 - bits.Len(uint(len(entries))) - 1 // at least twice the slots
	slots := make([]int32, 1<<(64-shift))          // position+1 of a kept entry; 0 is free
	mask := uint64(len(slots) - 1)
	n := 0
	for i := range entries {
		k := &entries[i].Service.ServiceKey
		repeat := false
		for h := serviceHash(k) >> shift; ; h = (h + 1) & mask {
			s := slots[h]
			if s == 0 {
				slots[h] = int32(n + 1)
				break
			}
			if sameService(&entries[s-1].Service.ServiceKey, k) {
				repeat = true
				break
			}
		}
		if repeat {
			continue
		}
		if n != i {
			entries[n] = entries[i]
		}
		n++
	}
	clear(entries[n:])
	return entries[:n]
}

// serviceHash mixes what identifies a service into 64 bits, whose top
// bits index dropRepeats' table.
func serviceHash(k *rules.ServiceKey) uint64 {
	a := k.Addr.As16()
	x := binary.LittleEndian.Uint64(a[:8])*0x9e3779b97f4a7c15 ^ binary.LittleEndian.Uint64(a[8:])
	x ^= uint64(k.Port) | uint64(k.Protocol)<<16 | uint64(k.Family)<<24 | uint64(k.FWMark)<<32
	x *= 0xbf58476d1ce4e5b9
	return x ^ x>>31
}

// sameService reports whether a and b are the same service: the same
// address (of any zone), port, protocol, family and mark.
func sameService(a, b *rules.ServiceKey) bool {
	return a.Addr.As16() == b.Addr.As16() && a.Port == b.Port && a.Protocol == b.Protocol &&
		a.Family == b.Family && a.FWMark == b.FWMark
}
