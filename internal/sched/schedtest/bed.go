// Package schedtest is a test bed for traffic through a real IPVS (the
// project's VM): a director namespace with IPVS and a client namespace
// joined by a veth pair. Clients are sockets
// bound to addresses of a range the client namespace treats as local
// (AnyIP routes on lo), so that hundreds of client addresses cost one
// route. Real servers live in a subnet routed to a dummy interface of the
// director: they never answer, but the kernel schedules and records a
// connection for the first packet all the same.
package schedtest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/ipvs/ipvstest"
	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// Addresses of the bed, per family: the link between the namespaces, the
// virtual addresses, the real servers' subnet and the clients' range.
type Addrs struct {
	Director, Client netip.Prefix // on the veth pair
	VIPs             netip.Prefix // on the director's dummy, one per service
	Servers          netip.Prefix // routed to a dummy of the director
	Clients          netip.Prefix // local to the client namespace
}

var V4 = Addrs{
	Director: netip.MustParsePrefix("10.88.0.1/24"), Client: netip.MustParsePrefix("10.88.0.2/24"),
	VIPs: netip.MustParsePrefix("10.99.0.0/24"), Servers: netip.MustParsePrefix("10.66.0.0/24"),
	Clients: netip.MustParsePrefix("10.77.0.0/16"),
}

var V6 = Addrs{
	Director: netip.MustParsePrefix("fd88::1/64"), Client: netip.MustParsePrefix("fd88::2/64"),
	VIPs: netip.MustParsePrefix("fd99::/64"), Servers: netip.MustParsePrefix("fd66::/64"),
	Clients: netip.MustParsePrefix("fd77::/64"),
}

// A bed is the two namespaces and an IPVS client of the director's.
type Bed struct {
	t        *testing.T
	Director *ipvstest.NS
	Client   *ipvstest.NS
	IPVS     *ipvs.Client // bound to the director
	open     []int        // sockets kept open until the test ends
}

// NewBed builds the namespaces, links, addresses and routes.
func NewBed(t *testing.T) *Bed {
	t.Helper()
	b := &Bed{t: t, Director: ipvstest.NewNS(t), Client: ipvstest.NewNS(t)}
	c, err := ipvs.Dial(&ipvs.Config{NetNS: b.Director.FD()})
	if errors.Is(err, ipvs.ErrNotAvailable) {
		ipvstest.SkipOrFail(t, "the kernel has no IPVS: "+err.Error())
	}
	require.NoError(t, err)
	b.IPVS = c
	t.Cleanup(func() {
		for _, fd := range b.open {
			unix.Close(fd)
		}
		c.Close()
	})

	dl, cl := b.Director.Links(), b.Client.Links()
	la := netlink.NewLinkAttrs()
	la.Name = "dir0"
	veth := &netlink.Veth{LinkAttrs: la, PeerName: "cli0", PeerNamespace: netlink.NsFd(b.Client.FD())}
	if err := dl.LinkAdd(veth); err != nil {
		ipvstest.SkipOrFail(t, "cannot create a veth pair: "+err.Error())
	}
	dir0, err := dl.LinkByName("dir0")
	require.NoError(t, err)
	cli0, err := cl.LinkByName("cli0")
	require.NoError(t, err)
	b.Director.AddDummy(t, "vip0")
	b.Director.AddDummy(t, "rs0")
	vip0, err := dl.LinkByName("vip0")
	require.NoError(t, err)
	rs0, err := dl.LinkByName("rs0")
	require.NoError(t, err)
	clo, err := cl.LinkByName("lo")
	require.NoError(t, err)
	require.NoError(t, dl.LinkSetUp(dir0))
	require.NoError(t, cl.LinkSetUp(cli0))
	for _, a := range []Addrs{V4, V6} {
		addAddr(t, dl, dir0, a.Director)
		addAddr(t, cl, cli0, a.Client)
		// The virtual addresses: the whole prefix is local (AnyIP), so
		// each service can have an address of its own.
		addRoute(t, dl, &netlink.Route{LinkIndex: vip0.Attrs().Index, Dst: prefixNet(a.VIPs),
			Type: unix.RTN_LOCAL, Table: unix.RT_TABLE_LOCAL, Scope: netlink.SCOPE_HOST})
		addRoute(t, dl, &netlink.Route{LinkIndex: rs0.Attrs().Index, Dst: prefixNet(a.Servers)})
		addRoute(t, dl, &netlink.Route{LinkIndex: dir0.Attrs().Index, Dst: prefixNet(a.Clients),
			Gw: net.IP(a.Client.Addr().AsSlice())})
		addRoute(t, cl, &netlink.Route{LinkIndex: clo.Attrs().Index, Dst: prefixNet(a.Clients),
			Type: unix.RTN_LOCAL, Table: unix.RT_TABLE_LOCAL, Scope: netlink.SCOPE_HOST})
		addRoute(t, cl, &netlink.Route{LinkIndex: cli0.Attrs().Index, Dst: prefixNet(a.VIPs),
			Gw: net.IP(a.Director.Addr().AsSlice())})
		// A permanent neighbour entry: no packet waits (or is dropped)
		// in address resolution, so packets reach IPVS in sending order.
		require.NoError(t, cl.NeighAdd(&netlink.Neigh{LinkIndex: cli0.Attrs().Index, State: netlink.NUD_PERMANENT,
			IP: net.IP(a.Director.Addr().AsSlice()), HardwareAddr: dir0.Attrs().HardwareAddr}))
	}
	return b
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func addAddr(t *testing.T, h *netlink.Handle, link netlink.Link, p netip.Prefix) {
	t.Helper()
	// No duplicate address detection: an IPv6 address is usable at once.
	a := &netlink.Addr{IPNet: prefixNet(p), Flags: unix.IFA_F_NODAD}
	a.IPNet.IP = net.IP(p.Addr().AsSlice())
	require.NoError(t, h.AddrAdd(link, a), "address %s", p)
}

func addRoute(t *testing.T, h *netlink.Handle, r *netlink.Route) {
	t.Helper()
	require.NoError(t, h.RouteAdd(r), "route %s", r.Dst)
}

// Nth returns the n-th address of p (n from 1).
func Nth(p netip.Prefix, n int) netip.Addr {
	b := p.Addr().As16()
	for i := 15; n > 0 && i >= 0; i-- {
		s := int(b[i]) + n&0xff
		b[i], n = byte(s), n>>8+s>>8
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		return a.Unmap()
	}
	return a
}

// inClient runs fn on a thread in the client namespace.
func (b *Bed) inClient(fn func() error) {
	b.t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		if err := netns.Set(netns.NsHandle(b.Client.FD())); err != nil {
			errc <- err
			return
		}
		err = fn()
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		} // else the thread dies with the goroutine
		errc <- err
	}()
	require.NoError(b.t, <-errc)
}

func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Addr: ap.Addr().As4(), Port: int(ap.Port())}
	}
	return &unix.SockaddrInet6{Addr: ap.Addr().As16(), Port: int(ap.Port())}
}

// A Flow is one new connection: a client and a virtual service.
type Flow struct {
	Proto   rules.Protocol
	Client  netip.AddrPort
	Virtual netip.AddrPort
}

// Send opens the connections in order from the client namespace: a UDP
// datagram, or a TCP SYN (a non-blocking connect whose socket stays open,
// so that it sends nothing else).
func (b *Bed) Send(flows ...Flow) {
	b.t.Helper()
	b.inClient(func() error {
		for _, f := range flows {
			fam := unix.AF_INET
			if f.Client.Addr().Is6() {
				fam = unix.AF_INET6
			}
			typ := unix.SOCK_DGRAM
			if f.Proto == rules.TCP {
				typ = unix.SOCK_STREAM | unix.SOCK_NONBLOCK
			}
			fd, err := unix.Socket(fam, typ|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
				unix.Close(fd)
				return err
			}
			// IPv6 binds only to configured addresses, AnyIP or not,
			// unless the socket may bind to any.
			if fam == unix.AF_INET6 {
				if err := unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_FREEBIND, 1); err != nil {
					unix.Close(fd)
					return err
				}
			}
			if err := unix.Bind(fd, sockaddr(f.Client)); err != nil {
				unix.Close(fd)
				return fmt.Errorf("bind %s: %w", f.Client, err)
			}
			if f.Proto == rules.TCP {
				if err := unix.Connect(fd, sockaddr(f.Virtual)); err != nil && err != unix.EINPROGRESS {
					unix.Close(fd)
					return fmt.Errorf("connect %s: %w", f.Virtual, err)
				}
				b.open = append(b.open, fd)
				continue
			}
			err = unix.Sendto(fd, []byte("x"), 0, sockaddr(f.Virtual))
			unix.Close(fd)
			if err != nil {
				return fmt.Errorf("send %s -> %s: %w", f.Client, f.Virtual, err)
			}
		}
		return nil
	})
}

// A ConnKey is a connection's identity in the connection table.
type ConnKey struct {
	Client  netip.AddrPort
	Virtual netip.AddrPort
}

// Connections reads the director's connection table: the real server of
// each connection.
func (b *Bed) Connections() map[ConnKey]netip.AddrPort {
	b.t.Helper()
	r, err := b.IPVS.Connections()
	require.NoError(b.t, err)
	defer r.Close()
	out := map[ConnKey]netip.AddrPort{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		c, ok := jsondoc.ParseConnection(sc.Text())
		if !ok || c.Template {
			continue
		}
		k := ConnKey{
			netip.AddrPortFrom(netip.MustParseAddr(c.ClientAddress), c.ClientPort),
			netip.AddrPortFrom(netip.MustParseAddr(c.VirtualAddress), c.VirtualPort),
		}
		out[k] = netip.AddrPortFrom(netip.MustParseAddr(c.RealAddress), c.RealPort)
	}
	require.NoError(b.t, sc.Err())
	return out
}

// WaitTotal waits until the service's real servers count want
// connections in all, and returns them.
func (b *Bed) WaitTotal(key rules.ServiceKey, want uint64) []rules.Destination {
	b.t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		ds, err := b.IPVS.Destinations(key)
		require.NoError(b.t, err)
		var total uint64
		for _, d := range ds {
			total += uint64(d.ActiveConns) + uint64(d.InactiveConns)
		}
		if total >= want || time.Now().After(deadline) {
			return ds
		}
		time.Sleep(time.Millisecond)
	}
}
