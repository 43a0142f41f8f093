package testbed

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs/ipvstest"
)

// A Node is a network namespace of the bed: a client, a director or a
// real server.
type Node struct {
	Name string
	NS   *ipvstest.NS
	// Ifaces are the node's interfaces on the bed's networks, in the
	// order they were attached (eth0, eth1, ...).
	Ifaces []Iface
	bed    *Bed
	mu     sync.Mutex
	local  []netip.Addr // every unicast address given to the node
	// hasIngress are the devices with an ingress qdisc (MarkIngress).
	hasIngress map[string]bool
}

// An Iface is a node's interface on a network, with its addresses there.
type Iface struct {
	Name    string
	Network *Network
	V4, V6  netip.Addr
}

// Node creates a namespace named name (for messages and server pages)
// with lo up, forwarding off and reverse path filtering off.
func (b *Bed) Node(name string) *Node {
	b.t.Helper()
	n := &Node{Name: name, NS: ipvstest.NewNS(b.t), bed: b}
	// Before any interface exists, so that every interface inherits them:
	// addresses usable at once (no duplicate address detection) and no
	// reverse path filter (tunnelled packets arrive on another device
	// than their source's route).
	n.Sysctl("net.ipv6.conf.default.accept_dad", "0")
	n.Sysctl("net.ipv6.conf.all.accept_dad", "0")
	n.Sysctl("net.ipv4.conf.default.rp_filter", "0")
	n.Sysctl("net.ipv4.conf.all.rp_filter", "0")
	n.Sysctl("net.ipv6.conf.default.accept_ra", "0")
	n.Sysctl("net.ipv6.conf.all.accept_ra", "0")
	b.nodes = append(b.nodes, n)
	return n
}

// Attach connects the node to nw through a new veth pair (ethN in the
// node, a bridge port in the switch) and gives it host number host of
// both prefixes.
func (n *Node) Attach(nw *Network, host int) Iface {
	t := n.bed.t
	t.Helper()
	name := fmt.Sprintf("eth%d", len(n.Ifaces))
	nw.ports++
	port := fmt.Sprintf("%s-%d", nw.Name, nw.ports)
	la := netlink.NewLinkAttrs()
	la.Name = port
	la.MasterIndex = nw.bridge.Index
	veth := &netlink.Veth{LinkAttrs: la, PeerName: name, PeerNamespace: netlink.NsFd(n.NS.FD())}
	sw := n.bed.sw.Links()
	if err := sw.LinkAdd(veth); err != nil {
		ipvstest.SkipOrFail(t, fmt.Sprintf("testbed: veth %s/%s for %s (module veth loaded?): %v", port, name, n.Name, err))
	}
	if err := sw.LinkSetUp(veth); err != nil {
		t.Fatalf("testbed: set %s up: %v", port, err)
	}
	ifc := Iface{Name: name, Network: nw, V4: nw.Host4(host), V6: nw.Host6(host)}
	n.AddAddr(name, netip.PrefixFrom(ifc.V4, nw.Prefix4.Bits()))
	n.AddAddr(name, netip.PrefixFrom(ifc.V6, nw.Prefix6.Bits()))
	link := n.link(name)
	if err := n.NS.Links().LinkSetUp(link); err != nil {
		t.Fatalf("testbed: set %s of %s up: %v", name, n.Name, err)
	}
	n.Ifaces = append(n.Ifaces, ifc)
	return ifc
}

func (n *Node) link(name string) netlink.Link {
	t := n.bed.t
	t.Helper()
	l, err := n.NS.Links().LinkByName(name)
	if err != nil {
		t.Fatalf("testbed: %s of %s: %v", name, n.Name, err)
	}
	return l
}

// AddAddr adds an address (usable at once) to the device dev of the node.
func (n *Node) AddAddr(dev string, p netip.Prefix) {
	t := n.bed.t
	t.Helper()
	a := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
	if p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	if err := n.NS.Links().AddrAdd(n.link(dev), a); err != nil {
		t.Fatalf("testbed: add %s to %s of %s: %v", p, dev, n.Name, err)
	}
	n.mu.Lock()
	n.local = append(n.local, p.Addr())
	n.mu.Unlock()
}

// AddVIP adds virtual addresses as host addresses (/32, /128) on lo, as
// real servers of direct routing and tunnels have them.
func (n *Node) AddVIP(vips ...netip.Addr) {
	n.bed.t.Helper()
	for _, v := range vips {
		n.AddAddr("lo", netip.PrefixFrom(v, v.BitLen()))
	}
}

// Addrs are the unicast addresses given to the node so far.
func (n *Node) Addrs() []netip.Addr {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]netip.Addr(nil), n.local...)
}

// Route adds a route to dst through the gateway via (the address family
// of via chooses the table). A zero dst means the default route.
func (n *Node) Route(dst netip.Prefix, via netip.Addr) {
	t := n.bed.t
	t.Helper()
	r := &netlink.Route{Gw: via.AsSlice()}
	if dst.IsValid() {
		r.Dst = &net.IPNet{IP: dst.Addr().AsSlice(), Mask: net.CIDRMask(dst.Bits(), dst.Addr().BitLen())}
	}
	if err := n.NS.Links().RouteAdd(r); err != nil {
		t.Fatalf("testbed: route %v via %s in %s: %v", dst, via, n.Name, err)
	}
}

// DefaultRoute sets default routes (IPv4 and/or IPv6) through gateways.
func (n *Node) DefaultRoute(vias ...netip.Addr) {
	n.bed.t.Helper()
	for _, v := range vias {
		n.Route(netip.Prefix{}, v)
	}
}

// Do runs fn on an OS thread that is in the node's namespace; sockets it
// creates belong to the namespace and may be used from any goroutine
// afterwards. The thread is discarded when fn returns.
func (n *Node) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the goroutine's exit ends the thread, so no
		// other goroutine ever runs in the namespace by accident.
		runtime.LockOSThread()
		if err := netns.Set(netns.NsHandle(n.NS.FD())); err != nil {
			errc <- fmt.Errorf("enter namespace of %s: %w", n.Name, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// Sysctl sets a sysctl of the node's namespace, such as
// "net.ipv4.ip_forward" or "net.ipv4.conf.eth0.arp_ignore".
func (n *Node) Sysctl(key, value string) {
	t := n.bed.t
	t.Helper()
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	if err := n.Do(func() error { return os.WriteFile(path, []byte(value), 0o644) }); err != nil {
		t.Fatalf("testbed: sysctl %s=%s in %s: %v", key, value, n.Name, err)
	}
}

// RunTimeout bounds the programs of Run and MustRun.
const RunTimeout = 30 * time.Second

// Run runs a program in the node's namespace and returns what it did; a
// failure to run it at all (or a timeout) fails the test.
func (n *Node) Run(argv ...string) ipvstest.Result {
	t := n.bed.t
	t.Helper()
	r, err := ipvstest.RunIn(n.NS.FD(), ipvstest.Command{Argv: argv, Timeout: RunTimeout})
	if err != nil {
		t.Fatalf("testbed: in %s: %v", n.Name, err)
	}
	return r
}

// MustRun is Run that also requires exit status 0, and returns the
// standard output.
func (n *Node) MustRun(argv ...string) string {
	t := n.bed.t
	t.Helper()
	r := n.Run(argv...)
	if r.Code != 0 {
		t.Fatalf("testbed: in %s: %q: exit %d: %s%s", n.Name, argv, r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// A Process is a program running in a node's namespace in the
// background.
type Process struct {
	cmd  *exec.Cmd
	out  output // standard output and error
	done chan struct{}
	err  error
}

// Start starts a program (found on PATH) in the node's namespace; it is
// killed, with its process group, when the test ends.
func (n *Node) Start(argv ...string) *Process {
	t := n.bed.t
	t.Helper()
	fd, err := unix.Dup(n.NS.FD())
	if err != nil {
		t.Fatalf("testbed: dup namespace descriptor: %v", err)
	}
	nsFile := os.NewFile(uintptr(fd), "netns")
	defer nsFile.Close()
	p := &Process{done: make(chan struct{})}
	// ExtraFiles[0] is descriptor 3 in nsenter.
	p.cmd = exec.Command("nsenter", append([]string{"--net=/proc/self/fd/3"}, argv...)...)
	p.cmd.ExtraFiles = []*os.File{nsFile}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("testbed: start %q in %s: %v", argv, n.Name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.Stop)
	return p
}

// Stop kills the process group and waits for it (at most 5 s).
func (p *Process) Stop() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

// Exited reports whether the process has ended, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Output is what the process wrote to its standard output and error so
// far.
func (p *Process) Output() string { return p.out.String() }

// output is a buffer written by a process and read by the test.
type output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// errNotReady is the error of a bounded wait that ran out.
var errNotReady = errors.New("not ready")
