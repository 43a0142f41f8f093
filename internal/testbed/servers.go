package testbed

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// ReadyTimeout bounds the wait for a server to accept connections.
const ReadyTimeout = 10 * time.Second

// ServeHTTP starts busybox httpd on each port (all addresses, IPv4 and
// IPv6) serving a page whose body is the node's name, and waits until
// every one accepts connections. The servers end with the test.
func (n *Node) ServeHTTP(ports ...int) {
	t := n.bed.t
	t.Helper()
	dir := filepath.Join(t.TempDir(), n.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(n.Name), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, port := range ports {
		p := n.Start(append(httpd(), "-f", "-p", strconv.Itoa(port), "-h", dir)...)
		if err := n.waitListening(port, p); err != nil {
			t.Fatalf("testbed: httpd on port %d of %s: %v; its output: %s", port, n.Name, err, p.Output())
		}
	}
}

// httpd is the command of busybox httpd: its applet link when there is
// one (the VM), else busybox itself.
func httpd() []string {
	if _, err := exec.LookPath("httpd"); err == nil {
		return []string{"httpd"}
	}
	return []string{"busybox", "httpd"}
}

// waitListening polls until a TCP connection to port on the node's
// loopback succeeds, p ends, or ReadyTimeout passes.
func (n *Node) waitListening(port int, p *Process) error {
	deadline := time.Now().Add(ReadyTimeout)
	for {
		err := n.Do(func() error {
			c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
			if err == nil {
				c.Close()
			}
			return err
		})
		if err == nil {
			return nil
		}
		if done, perr := p.Exited(); done {
			return fmt.Errorf("exited (%v) before listening", perr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %v: %v", errNotReady, ReadyTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ServeUDP answers every datagram to port, on each of the node's
// addresses given so far (call it after AddVIP), with one datagram
// holding the node's name. A socket per address makes the answer leave
// from the address the request was sent to, as direct routing and
// tunnels need. The sockets close when the test ends.
func (n *Node) ServeUDP(port int) {
	t := n.bed.t
	t.Helper()
	for _, a := range n.Addrs() {
		var c *net.UDPConn
		err := n.Do(func() (err error) {
			c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, uint16(port))))
			return err
		})
		if err != nil {
			t.Fatalf("testbed: UDP server on %s port %d of %s: %v", a, port, n.Name, err)
		}
		t.Cleanup(func() { c.Close() })
		go answerUDP(c, []byte(n.Name))
	}
}

// answerUDP sends answer back for every datagram until c is closed.
func answerUDP(c *net.UDPConn, answer []byte) {
	buf := make([]byte, 65536)
	for {
		_, from, err := c.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err == nil {
			_, _ = c.WriteToUDPAddrPort(answer, from)
		}
	}
}
