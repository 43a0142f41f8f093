package testbed

import (
	"fmt"
	"net/netip"
	"testing"
)

// A Lab is a bed in one of the classic IPVS layouts: clients c1, c2, ...,
// a director "director" holding the virtual addresses, and real servers
// rs1, rs2, ...
//
// Addresses: the public network (every node of NewLAN, the clients and
// the director of NewNAT) is 10.0.0.0/24 and 2001:db8::/64, the private
// one of NewNAT 10.1.0.0/24 and 2001:db8:1::/64. The director is host 1
// of each, client i (from 0) host 11+i, real server i host 21+i, and the
// virtual addresses VIP4, VIP6 are host 100 of the public network.
type Lab struct {
	*Bed
	Director *Node
	Clients  []*Node
	Servers  []*Node
	// Public joins the clients and the director; in NewLAN the real
	// servers too.
	Public *Network
	// Private joins the director and the real servers of NewNAT; nil in
	// NewLAN.
	Private    *Network
	VIP4, VIP6 netip.Addr
}

// Host numbers of the lab's nodes on their networks.
const (
	hostDirector = 1
	hostClient   = 11
	hostServer   = 21
	hostVIP      = 100
)

// NewNAT builds the layout of masquerading (-m): the clients and the
// director on the public network, the real servers on the private one with
// the director as their default gateway, so that their answers pass the
// director. The director forwards IPv4 and IPv6.
func NewNAT(t testing.TB, clients, servers int) *Lab {
	t.Helper()
	l := newLab(t)
	l.Private = l.Network("priv", "10.1.0.0/24", "2001:db8:1::/64")
	d := l.Director.Attach(l.Private, hostDirector)
	l.addClients(clients)
	for i := 0; i < servers; i++ {
		rs := l.Node(fmt.Sprintf("rs%d", i+1))
		rs.Attach(l.Private, hostServer+i)
		rs.DefaultRoute(d.V4, d.V6)
		l.Servers = append(l.Servers, rs)
	}
	return l
}

// NewLAN builds the layout of direct routing (-g) and tunnels (-i): every
// node on the public network. The real servers hold the virtual addresses
// on lo without answering ARP for them (AddHiddenVIP) and accept
// tunnelled packets from any interface (reverse path filter off).
func NewLAN(t testing.TB, clients, servers int) *Lab {
	t.Helper()
	l := newLab(t)
	l.addClients(clients)
	for i := 0; i < servers; i++ {
		rs := l.Node(fmt.Sprintf("rs%d", i+1))
		rs.Attach(l.Public, hostServer+i)
		rs.AddHiddenVIP(l.VIP4, l.VIP6)
		l.Servers = append(l.Servers, rs)
	}
	return l
}

// newLab makes the bed, the public network and the director with the
// virtual addresses on its public interface.
func newLab(t testing.TB) *Lab {
	l := &Lab{Bed: New(t)}
	l.Public = l.Network("pub", "10.0.0.0/24", "2001:db8::/64")
	l.VIP4, l.VIP6 = l.Public.Host4(hostVIP), l.Public.Host6(hostVIP)
	l.Director = l.Node("director")
	ifc := l.Director.Attach(l.Public, hostDirector)
	l.Director.AddAddr(ifc.Name, netip.PrefixFrom(l.VIP4, l.Public.Prefix4.Bits()))
	l.Director.AddAddr(ifc.Name, netip.PrefixFrom(l.VIP6, l.Public.Prefix6.Bits()))
	l.Director.Sysctl("net.ipv4.ip_forward", "1")
	l.Director.Sysctl("net.ipv6.conf.all.forwarding", "1")
	return l
}

// addClients adds n clients on the public network, with the director
// as their default gateway.
func (l *Lab) addClients(n int) {
	d := l.Director.Ifaces[0]
	for i := 0; i < n; i++ {
		c := l.Node(fmt.Sprintf("c%d", i+1))
		c.Attach(l.Public, hostClient+i)
		c.DefaultRoute(d.V4, d.V6)
		l.Clients = append(l.Clients, c)
	}
}

// ServeHTTP starts HTTP servers on the ports of every real server.
func (l *Lab) ServeHTTP(ports ...int) {
	l.t.Helper()
	for _, rs := range l.Servers {
		rs.ServeHTTP(ports...)
	}
}

// ServeUDP starts UDP answerers on the port of every real server.
func (l *Lab) ServeUDP(port int) {
	l.t.Helper()
	for _, rs := range l.Servers {
		rs.ServeUDP(port)
	}
}

// VIP4Port and VIP6Port are the virtual addresses with a port.
func (l *Lab) VIP4Port(port uint16) netip.AddrPort { return netip.AddrPortFrom(l.VIP4, port) }

// VIP6Port is VIP4Port for IPv6.
func (l *Lab) VIP6Port(port uint16) netip.AddrPort { return netip.AddrPortFrom(l.VIP6, port) }

// V4 and V6 are the node's addresses on its first interface.
func (n *Node) V4() netip.Addr { return n.Ifaces[0].V4 }

// V6 is V4 for IPv6.
func (n *Node) V6() netip.Addr { return n.Ifaces[0].V6 }

// AddHiddenVIP puts virtual addresses on lo (AddVIP) and makes the node
// neither answer ARP requests for them (arp_ignore=1: only for addresses
// of the interface asked on) nor use them as the source of its own ARP
// requests (arp_announce=2), so that only the director draws the
// virtual addresses' traffic. IPv6 needs nothing more: neighbour
// discovery answers only for addresses of the interface asked on.
func (n *Node) AddHiddenVIP(vips ...netip.Addr) {
	n.bed.t.Helper()
	n.Sysctl("net.ipv4.conf.all.arp_ignore", "1")
	n.Sysctl("net.ipv4.conf.all.arp_announce", "2")
	n.AddVIP(vips...)
}
