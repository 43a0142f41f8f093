package sched

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// This file holds the userspace model of a virtual service's scheduler:
// the real servers in the kernel's order and whatever state the scheduler
// keeps, with the kernel's hooks for adds, edits and deletes. The
// algorithms are in rr.go, leastconn.go, hash.go and maglev.go; each
// follows Linux 6.1 (net/netfilter/ipvs/ip_vs_*.c) as a 64-bit
// little-endian kernel with Debian's configuration runs it.

// A Server is a real server as a scheduler sees it.
type Server struct {
	Addr netip.Addr
	Port uint16
	// Weight is the current weight; 0 quiesces the server.
	Weight int32
	// LastWeight is the kernel's last_weight, which only mh reads: the
	// weight the server was added with, then every weight other than 0
	// it was edited to. The kernel does not export it; Add and ServerOf
	// take Weight when it is 0.
	LastWeight int32
	// ActiveConns and InactiveConns are the connection counters.
	ActiveConns, InactiveConns uint32
	// Overloaded is the kernel's OVERLOAD flag (the upper connection
	// threshold was reached); the kernel does not export it: see
	// OverloadOf.
	Overloaded bool
}

// ServerOf is the scheduler's view of a real server read from the kernel:
// LastWeight is taken to be Weight and Overloaded is what OverloadOf
// finds (false where it cannot tell).
func ServerOf(d rules.Destination) Server {
	over, _ := OverloadOf(d)
	return Server{Addr: d.Addr, Port: d.Port, Weight: d.Weight, LastWeight: d.Weight,
		ActiveConns: d.ActiveConns, InactiveConns: d.InactiveConns, Overloaded: over}
}

// OverloadOf derives the OVERLOAD flag of a real server from its
// thresholds and counters. The kernel sets the flag when a new connection
// brings active+inactive to the upper threshold, and clears it when a
// connection ends and the total falls below the lower threshold (or below
// 3/4 of the upper one when there is no lower one). In between the flag
// depends on the history: certain is false there.
func OverloadOf(d rules.Destination) (overloaded, certain bool) {
	if d.UpperThreshold == 0 {
		return false, true
	}
	total := uint64(d.ActiveConns) + uint64(d.InactiveConns)
	if total >= uint64(d.UpperThreshold) {
		return true, true
	}
	if d.LowerThreshold != 0 {
		return false, total < uint64(d.LowerThreshold)
	}
	return false, total*4 < uint64(d.UpperThreshold)*3
}

// A Packet is the first packet of a connection, the fields a scheduler
// reads.
type Packet struct {
	// Protocol is the packet's protocol; the port flags of sh and mh use
	// the source port of TCP, UDP and SCTP packets only.
	Protocol rules.Protocol
	// Client is the source address and port.
	Client netip.AddrPort
	// Virtual is the destination address (the virtual address, for a
	// service that is not a firewall mark): what dh hashes.
	Virtual netip.Addr
}

// A Determinism tells what a scheduler's choice depends on, and so how
// far a model can predict it.
type Determinism int

// Kinds of Determinism.
const (
	// Unmodelled schedulers depend on state the kernel does not export
	// (lblc and lblcr keep a table of recent destinations) or are unknown.
	Unmodelled Determinism = iota
	// Hashing schedulers (sh, dh, mh) depend only on the real servers and
	// the packet: the model matches the kernel exactly.
	Hashing
	// Positional schedulers (rr, wrr) depend on a position in the list
	// that the kernel keeps and does not export; the model predicts the
	// sequence from a fresh service or a known position.
	Positional
	// Counting schedulers (lc, wlc, sed, nq, fo, ovf) depend on the
	// connection counters at the moment of the connection: the model is
	// exact for the counters it is given.
	Counting
)

func (d Determinism) String() string {
	switch d {
	case Hashing:
		return "hashing"
	case Positional:
		return "positional"
	case Counting:
		return "counting"
	}
	return "unmodelled"
}

// DeterminismOf tells what scheduler's choices depend on.
func DeterminismOf(scheduler string) Determinism {
	switch scheduler {
	case "sh", "dh", "mh":
		return Hashing
	case "rr", "wrr":
		return Positional
	case "lc", "wlc", "sed", "nq", "fo", "ovf":
		return Counting
	}
	return Unmodelled
}

// ErrNoModel is returned for a scheduler without a model.
var ErrNoModel = errors.New("no model of this scheduler")

// A Model is a virtual service's scheduler: its real servers in the
// kernel's list order (most recently added first, as the kernel dumps
// them) and the scheduler's state. Its methods mirror what the kernel does
// on a connection (Schedule) and on changes of real servers (Add, Update,
// Delete), so a Model driven with the same events as a service chooses
// what the kernel chooses.
type Model struct {
	scheduler string
	family    rules.Family
	flags     rules.ServiceFlags
	servers   []Server

	// cursor is rr's position and wrr's current server: an index in
	// servers, or -1 for the list head.
	cursor int
	wrr    wrrMark
	// table is the lookup table of sh, dh and mh: indexes in servers, -1
	// for an empty slot.
	table []int
}

// New returns the model of a service with this scheduler, family and
// flags (the scheduler bits count: sh-port, sh-fallback, mh-port,
// mh-fallback), whose real servers are servers in the kernel's order, as
// the kernel initialises a service created with them: rr and wrr start at
// the head of the list. The servers are copied.
func New(scheduler string, family rules.Family, flags rules.ServiceFlags, servers []Server) (*Model, error) {
	if DeterminismOf(scheduler) == Unmodelled {
		return nil, fmt.Errorf("scheduler %q: %w", scheduler, ErrNoModel)
	}
	m := &Model{scheduler: scheduler, family: family, flags: flags, servers: slices.Clone(servers), cursor: -1}
	for i := range m.servers {
		if m.servers[i].LastWeight == 0 {
			m.servers[i].LastWeight = m.servers[i].Weight
		}
	}
	m.wrrInit()
	m.rebuild()
	return m, nil
}

// Clone returns an independent copy of m, state included.
func (m *Model) Clone() *Model {
	c := *m
	c.servers = slices.Clone(m.servers)
	c.table = slices.Clone(m.table)
	return &c
}

// Scheduler returns the scheduler's name.
func (m *Model) Scheduler() string { return m.scheduler }

// Servers returns the real servers in the kernel's order. The slice is a
// copy.
func (m *Model) Servers() []Server { return slices.Clone(m.servers) }

// Index returns the position of the real server addr:port, or -1.
func (m *Model) Index(addr netip.Addr, port uint16) int {
	return slices.IndexFunc(m.servers, func(s Server) bool { return s.Addr == addr && s.Port == port })
}

// Add adds a real server as the kernel does: at the head of the list, then
// the scheduler's add hook. A LastWeight of 0 is taken from Weight.
func (m *Model) Add(s Server) {
	if s.LastWeight == 0 {
		s.LastWeight = s.Weight
	}
	m.servers = slices.Insert(m.servers, 0, s)
	if m.cursor >= 0 {
		m.cursor++
	}
	switch m.scheduler {
	case "wrr":
		m.wrrChanged()
	case "sh", "dh", "mh":
		m.rebuild()
	}
}

// SetWeight edits the weight of the server at i as the kernel's edit does:
// last_weight follows unless the weight is 0, then the scheduler's update
// hook runs (wrr realigns, sh and mh rebuild their tables; rr and dh keep
// theirs).
func (m *Model) SetWeight(i int, weight int32) {
	m.servers[i].Weight = weight
	if weight != 0 {
		m.servers[i].LastWeight = weight
	}
	switch m.scheduler {
	case "wrr":
		m.wrrChanged()
	case "sh", "mh":
		m.rebuild()
	}
}

// Delete removes the server at i as the kernel does: it leaves the list,
// then the scheduler's delete hook runs (rr steps its position back).
func (m *Model) Delete(i int) {
	m.servers = slices.Delete(m.servers, i, i+1)
	switch {
	case m.cursor == i:
		m.cursor = i - 1
	case m.cursor > i:
		m.cursor--
	}
	switch m.scheduler {
	case "wrr":
		m.wrrChanged()
	case "sh", "dh", "mh":
		m.rebuild()
	}
}

// SetCounters sets the connection counters and the OVERLOAD flag of the
// server at i, what lc, wlc, sed, nq, fo and ovf read (and every
// scheduler's overload test).
func (m *Model) SetCounters(i int, active, inactive uint32, overloaded bool) {
	s := &m.servers[i]
	s.ActiveConns, s.InactiveConns, s.Overloaded = active, inactive, overloaded
}

// Schedule returns the index of the server the kernel's scheduler picks
// for p, or -1 when it finds none; rr and wrr advance their position as
// the kernel does. Schedule does not count the new connection: callers
// that go on without reading the kernel's counters again update them with
// SetCounters.
func (m *Model) Schedule(p Packet) int {
	switch m.scheduler {
	case "rr":
		return m.rr()
	case "wrr":
		return m.wrrSchedule()
	case "lc":
		return m.lc()
	case "wlc":
		return m.wlc(overheadConns)
	case "sed":
		return m.wlc(overheadSED)
	case "nq":
		return m.nq()
	case "fo":
		return m.fo()
	case "ovf":
		return m.ovf()
	case "sh":
		return m.sh(p)
	case "dh":
		return m.dh(p)
	case "mh":
		return m.mh(p)
	}
	return -1
}

// rebuild rebuilds the lookup table of a hashing scheduler.
func (m *Model) rebuild() {
	switch m.scheduler {
	case "sh":
		m.shBuild()
	case "dh":
		m.dhBuild()
	case "mh":
		m.mhBuild()
	}
}

// unavailable is the hashing schedulers' test: weight 0 or overloaded.
func (s *Server) unavailable() bool { return s.Weight <= 0 || s.Overloaded }

// foldAddr is the kernel's addr_fold in host order: the IPv4 address, or
// the XOR of the four 32-bit words of an IPv6 address.
func foldAddr(a netip.Addr) uint32 {
	if a.Is4() {
		b := a.As4()
		return be32(b[:])
	}
	b := a.As16()
	return be32(b[0:]) ^ be32(b[4:]) ^ be32(b[8:]) ^ be32(b[12:])
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// hashPort is the source port the sh-port and mh-port flags (the same
// bit) add to the hash: that of a TCP, UDP or SCTP packet, else 0.
func (m *Model) hashPort(p Packet) uint32 {
	if m.flags&rules.FlagSched2 == 0 {
		return 0
	}
	switch p.Protocol {
	case rules.TCP, rules.UDP, rules.SCTP:
		return uint32(p.Client.Port())
	}
	return 0
}
