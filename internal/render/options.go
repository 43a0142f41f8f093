package render

import (
	"net/netip"
	"strings"
)

// ListOptions are the display options of -L (and -n of -S).
type ListOptions struct {
	Numeric        bool // -n
	Connections    bool // -c
	Timeout        bool // --timeout
	Daemon         bool // --daemon
	Stats          bool // --stats
	Rate           bool // --rate
	Thresholds     bool // --thresholds
	PersistentConn bool // --persistent-conn
	NoSort         bool // --nosort
	Exact          bool // --exact
	TunInfo        bool // --tun-info
	Conn           ConnFilter
}

// A ConnFilter selects connections of -L -c (an extension: see
// COMPATIBILITY.md). The zero value selects every connection.
type ConnFilter struct {
	// Virtual and Real match the virtual and real server address; an
	// invalid address matches any, port 0 any port.
	Virtual, Real netip.AddrPort
	State         string // the kernel's state name, any case; "" for any
	Count         bool   // print counts by state instead of connections
}

// Active reports whether f filters or counts at all.
func (f ConnFilter) Active() bool { return f != ConnFilter{} }

// Match reports whether a connection to the virtual address vaddr:vport,
// forwarded to the real server daddr:dport, in state, passes f.
func (f ConnFilter) Match(vaddr netip.Addr, vport uint16, daddr netip.Addr, dport uint16, state string) bool {
	return endpointMatch(f.Virtual, vaddr, vport) && endpointMatch(f.Real, daddr, dport) &&
		(f.State == "" || strings.EqualFold(f.State, state))
}

func endpointMatch(want netip.AddrPort, a netip.Addr, port uint16) bool {
	if !want.Addr().IsValid() {
		return true
	}
	return want.Addr() == a.Unmap() && (want.Port() == 0 || want.Port() == port)
}
