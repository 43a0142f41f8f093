// Package testbed builds small networks of namespaces in which tests send
// real packets through IPVS: clients, a director and real servers, each in
// its own network namespace, joined by veth pairs to Linux bridges that
// live in a namespace of their own (the "switch"), so that nothing touches
// the namespace the test runs in.
//
// A Bed is the switch with its Networks (a bridge each, with an IPv4 and an
// IPv6 prefix); a Node is a namespace attached to networks, with helpers
// for addresses, routes, sysctls, processes, servers (busybox httpd and a
// UDP answerer that both name their node) and client requests that report
// which server answered. NewNAT and NewLAN build the two classic layouts
// (Lab): real servers behind the director for NAT, and one LAN shared by
// everybody for direct routing and tunnels.
//
// Everything is undone when the test ends: processes are killed, sockets
// closed, namespaces released. Every wait is bounded. Like ipvstest, a
// missing capability skips the test outside the project's VM and fails it
// inside.
package testbed

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs/ipvstest"
)

// A Bed is one test's network: a switch namespace holding a bridge per
// Network, and the Nodes attached to them.
type Bed struct {
	t        testing.TB
	sw       *ipvstest.NS
	networks []*Network
	nodes    []*Node
}

// New creates an empty bed whose switch namespace is released when the
// test ends.
func New(t testing.TB) *Bed {
	t.Helper()
	b := &Bed{t: t, sw: ipvstest.NewNS(t)}
	// The bridges and their ports carry frames only: no IPv6 addresses,
	// no duplicate address detection, no router solicitations on them.
	sw := &Node{Name: "switch", NS: b.sw, bed: b}
	sw.Sysctl("net.ipv6.conf.default.disable_ipv6", "1")
	sw.Sysctl("net.ipv6.conf.all.disable_ipv6", "1")
	return b
}

// A Network is a bridge in the switch namespace with the prefixes its
// nodes take addresses from.
type Network struct {
	Name             string
	Prefix4, Prefix6 netip.Prefix
	bridge           *netlink.Bridge
	ports            int
}

// Network creates a bridge named name (at most 10 bytes: its ports are
// named after it) for the given prefixes, in CIDR notation.
func (b *Bed) Network(name, prefix4, prefix6 string) *Network {
	t := b.t
	t.Helper()
	if len(name) > 10 {
		t.Fatalf("testbed: network name %q longer than 10 bytes", name)
	}
	p4, err := netip.ParsePrefix(prefix4)
	if err != nil || !p4.Addr().Is4() {
		t.Fatalf("testbed: network %s: bad IPv4 prefix %q", name, prefix4)
	}
	p6, err := netip.ParsePrefix(prefix6)
	if err != nil || !p6.Addr().Is6() {
		t.Fatalf("testbed: network %s: bad IPv6 prefix %q", name, prefix6)
	}
	la := netlink.NewLinkAttrs()
	la.Name = name
	br := &netlink.Bridge{LinkAttrs: la, MulticastSnooping: new(bool)}
	if err := b.sw.Links().LinkAdd(br); err != nil {
		ipvstest.SkipOrFail(t, fmt.Sprintf("testbed: add bridge %s (module bridge loaded?): %v", name, err))
	}
	if err := b.sw.Links().LinkSetUp(br); err != nil {
		t.Fatalf("testbed: set bridge %s up: %v", name, err)
	}
	nw := &Network{Name: name, Prefix4: p4.Masked(), Prefix6: p6.Masked(), bridge: br}
	b.networks = append(b.networks, nw)
	return nw
}

// Host4 and Host6 are the addresses of host number n on the network
// (the network address plus n).
func (nw *Network) Host4(n int) netip.Addr { return plus(nw.Prefix4.Addr(), n) }

// Host6 is Host4 for IPv6.
func (nw *Network) Host6(n int) netip.Addr { return plus(nw.Prefix6.Addr(), n) }

// plus adds n (0..65535) to the low bytes of a.
func plus(a netip.Addr, n int) netip.Addr {
	b := a.AsSlice()
	carry := n
	for i := len(b) - 1; i >= 0 && carry > 0; i-- {
		s := int(b[i]) + carry
		b[i] = byte(s)
		carry = s >> 8
	}
	r, _ := netip.AddrFromSlice(b)
	return r
}

// Nodes are the bed's nodes in the order they were made.
func (b *Bed) Nodes() []*Node { return b.nodes }

func (b *Bed) String() string {
	return fmt.Sprintf("testbed with %d networks, %d nodes", len(b.networks), len(b.nodes))
}
