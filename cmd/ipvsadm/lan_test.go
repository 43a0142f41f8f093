package main

// A test LAN for kernel tests that need real traffic between hosts: network
// namespaces on one Ethernet segment (a bridge in a namespace of its own),
// a line echo server that names the host it runs on, and TCP clients
// opened inside a namespace (sockets made on a thread in the namespace, by
// inNS, stay there).

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs/ipvstest"
)

// A lan is an Ethernet segment: the bridge br0 in a namespace of its own,
// with one port per attached host.
type lan struct {
	sw     *ipvstest.NS
	bridge netlink.Link
}

// newLAN creates the segment.
func newLAN(t *testing.T) *lan {
	t.Helper()
	sw := ipvstest.NewNS(t)
	la := netlink.NewLinkAttrs()
	la.Name = "br0"
	if err := sw.Links().LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil {
		ipvstest.SkipOrFail(t, "cannot create a bridge (module bridge loaded?): "+err.Error())
	}
	br, err := sw.Links().LinkByName("br0")
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Links().LinkSetUp(br); err != nil {
		t.Fatal(err)
	}
	return &lan{sw: sw, bridge: br}
}

// attach creates a host: a fresh namespace whose eth0 is a port of the
// segment (its bridge end is named after the host) with the given
// addresses (CIDR notation), up.
func (l *lan) attach(t *testing.T, host string, cidrs ...string) *ipvstest.NS {
	t.Helper()
	ns := ipvstest.NewNS(t)
	la := netlink.NewLinkAttrs()
	la.Name = host
	veth := &netlink.Veth{LinkAttrs: la, PeerName: "eth0", PeerNamespace: netlink.NsFd(ns.FD())}
	if err := l.sw.Links().LinkAdd(veth); err != nil {
		t.Fatalf("veth for %s: %v", host, err)
	}
	port, err := l.sw.Links().LinkByName(host)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.sw.Links().LinkSetMaster(port, l.bridge); err != nil {
		t.Fatalf("%s into the bridge: %v", host, err)
	}
	if err := l.sw.Links().LinkSetUp(port); err != nil {
		t.Fatal(err)
	}
	addAddrs(t, ns, "eth0", cidrs...)
	eth0, err := ns.Links().LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.Links().LinkSetUp(eth0); err != nil {
		t.Fatal(err)
	}
	return ns
}

// addAddrs adds addresses (CIDR notation) to an interface of ns.
func addAddrs(t *testing.T, ns *ipvstest.NS, ifname string, cidrs ...string) {
	t.Helper()
	link, err := ns.Links().LinkByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cidrs {
		a, err := netlink.ParseAddr(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := ns.Links().AddrAdd(link, a); err != nil {
			t.Fatalf("add %s to %s: %v", c, ifname, err)
		}
	}
}

// serveEcho listens on addr in ns and answers every line a client sends
// with "NAME LINE", until the test ends.
func serveEcho(t *testing.T, ns *ipvstest.NS, name, addr string) {
	t.Helper()
	var ln net.Listener
	var err error
	inNS(t, ns, func() { ln, err = net.Listen("tcp", addr) })
	if err != nil {
		t.Fatalf("%s: listen on %s: %v", name, addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				lines := bufio.NewScanner(c)
				for lines.Scan() {
					if _, err := fmt.Fprintf(c, "%s %s\n", name, lines.Text()); err != nil {
						return
					}
				}
			}()
		}
	}()
}

// An echoConn is a client's connection to an echo server.
type echoConn struct {
	conn  net.Conn
	lines *bufio.Reader
}

// dialEcho connects from ns to addr.
func dialEcho(t *testing.T, ns *ipvstest.NS, addr string) *echoConn {
	t.Helper()
	var c net.Conn
	var err error
	inNS(t, ns, func() { c, err = net.DialTimeout("tcp", addr, 10*time.Second) })
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &echoConn{conn: c, lines: bufio.NewReader(c)}
}

// exchange sends line and returns the name of the server that answered
// it; the answer must come within timeout (TCP retransmits meanwhile).
func (e *echoConn) exchange(line string, timeout time.Duration) (string, error) {
	if err := e.conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	if _, err := fmt.Fprintln(e.conn, line); err != nil {
		return "", err
	}
	answer, err := e.lines.ReadString('\n')
	if err != nil {
		return "", err
	}
	name, echoed, ok := strings.Cut(strings.TrimSuffix(answer, "\n"), " ")
	if !ok || echoed != line {
		return "", errors.New("unexpected answer " + fmt.Sprintf("%q", answer))
	}
	return name, nil
}

// clientPort is the local port of the connection.
func (e *echoConn) clientPort() uint16 {
	return uint16(e.conn.LocalAddr().(*net.TCPAddr).Port)
}
