package sched

import "github.com/ipvsadm-go/ipvsadm/internal/rules"

// This file holds the source and destination hashing schedulers sh and dh
// (ip_vs_sh.c, ip_vs_dh.c): a 256-slot table of servers indexed by
// hash_32 of an address.

// Debian's kernel: CONFIG_IP_VS_SH_TAB_BITS=8; dh's table is fixed at 8 bits.
const (
	shTabBits = 8
	shTabSize = 1 << shTabBits
	dhTabBits = 8
	dhTabSize = 1 << dhTabBits
)

// shBuild fills the slots going round the list: each server takes as many
// consecutive slots as its weight (at least one) before the next.
func (m *Model) shBuild() {
	m.table = make([]int, shTabSize)
	n := len(m.servers)
	cur, count := 0, int32(0)
	for i := range m.table {
		if n == 0 {
			m.table[i] = -1
			continue
		}
		m.table[i] = cur
		if count++; count >= m.servers[cur].Weight {
			cur, count = (cur+1)%n, 0
		}
	}
}

// shSlot is sh's slot for a client address and port, moved on by offset.
func (m *Model) shSlot(x uint32, offset uint32) int {
	return int((offset + hash32(x, shTabBits)) & (shTabSize - 1))
}

// sh looks the client up; with sh-fallback an unavailable server sends it
// on along a probe sequence that starts at twice the first slot (the
// kernel adds the offset after hashing) and stops at an empty slot.
func (m *Model) sh(p Packet) int {
	x := m.hashPort(p) + foldAddr(p.Client.Addr())
	ih := m.shSlot(x, 0)
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
	for offset := range uint32(shTabSize) {
		roffset := (offset + uint32(ih)) % shTabSize
		d = m.table[m.shSlot(x, roffset)]
		if d < 0 {
			return -1
		}
		if !m.servers[d].unavailable() {
			return d
		}
	}
	return -1
}

// dhBuild gives slot i to the i-th server going round the list, whatever
// the weights.
func (m *Model) dhBuild() {
	m.table = make([]int, dhTabSize)
	for i := range m.table {
		m.table[i] = -1
		if n := len(m.servers); n > 0 {
			m.table[i] = i % n
		}
	}
}

// dh looks up the packet's destination address; there is no fallback.
func (m *Model) dh(p Packet) int {
	d := m.table[hash32(foldAddr(p.Virtual), dhTabBits)]
	if d < 0 || m.servers[d].unavailable() {
		return -1
	}
	return d
}
