package sched

import (
	"math/bits"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// This file holds the Maglev hashing scheduler mh (ip_vs_mh.c): a table of
// a prime number of slots filled from each server's permutation, looked up
// by hsiphash of the client.

// mhTabSize is the table size for Debian's CONFIG_IP_VS_MH_TAB_INDEX=12
// (the 5th of the kernel's primes); mhTabBits is index/2, the bits weights
// are scaled down to.
const (
	mhTabSize = 4093
	mhTabBits = 6
)

// The kernel's fixed hsiphash keys (generate_hash_secret).
var (
	mhKey1 = sipKey{2654435761, 2654435761}
	mhKey2 = sipKey{2654446892, 2654446892}
)

// mhHash is ip_vs_mh_hashkey: hsiphash of offset + port + folded address.
func mhHash(addrFold, port uint32, key sipKey, offset uint32) uint32 {
	return hsiphash32(offset+port+addrFold, key)
}

// mhBuild fills the table the Maglev way: servers take turns in list order
// (turns from last_weight, divided by the gcd and shifted down to 6 bits),
// each claiming the next free slot of its permutation, until every slot is
// taken. With more servers than slots the kernel keeps its old table.
func (m *Model) mhBuild() {
	if len(m.servers) > mhTabSize && m.table != nil {
		return
	}
	m.table = make([]int, mhTabSize)
	for i := range m.table {
		m.table[i] = -1
	}
	var g, maxW int32
	for _, s := range m.servers {
		if w := s.LastWeight; w > 0 {
			if g > 0 {
				g = gcd(w, g)
			} else {
				g = w
			}
			maxW = max(maxW, w)
		}
	}
	if g < 1 {
		return
	}
	shift := max(bits.Len32(uint32(maxW/g))-mhTabBits, 0)
	type setup struct {
		perm, skip uint32
		turns      int32
	}
	ds := make([]setup, len(m.servers))
	for i, s := range m.servers {
		a := foldAddr(s.Addr)
		ds[i].perm = mhHash(a, uint32(s.Port), mhKey1, 0) % mhTabSize
		ds[i].skip = mhHash(a, uint32(s.Port), mhKey2, 0)%(mhTabSize-1) + 1
		ds[i].turns = s.LastWeight / g >> shift
		if ds[i].turns == 0 && s.LastWeight != 0 {
			ds[i].turns = 1
		}
	}
	filled := make([]bool, mhTabSize)
	n := 0
	for {
		for i := range ds {
			for t := int32(0); t < ds[i].turns; t++ {
				c := ds[i].perm
				for filled[c] {
					if ds[i].perm += ds[i].skip; ds[i].perm >= mhTabSize {
						ds[i].perm -= mhTabSize
					}
					c = ds[i].perm
				}
				filled[c] = true
				m.table[c] = i
				if n++; n == mhTabSize {
					return
				}
			}
		}
	}
}

// mh looks the client up; with mh-fallback an unavailable server sends it
// on to the slot of a rehash with the probe offset added to the key,
// stopping at an empty slot.
func (m *Model) mh(p Packet) int {
	a, port := foldAddr(p.Client.Addr()), m.hashPort(p)
	ih := mhHash(a, port, mhKey1, 0) % mhTabSize
	d := m.table[ih]
	if d < 0 {
		return -1
	}
	if !m.servers[d].unavailable() {
		return d
	}
	if m.flags&rules.FlagSched1 == 0 {
		return -1
	}
	for offset := range uint32(mhTabSize) {
		roffset := (offset + ih) % mhTabSize
		d = m.table[mhHash(a, port, mhKey1, roffset)%mhTabSize]
		if d < 0 {
			return -1
		}
		if !m.servers[d].unavailable() {
			return d
		}
	}
	return -1
}
