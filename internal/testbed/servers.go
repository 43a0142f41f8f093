package testbed

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
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

// ServeTCP answers, on port (all addresses), every line a client sends
// with a line holding the node's name, on connections kept open until
// the client closes them: a connection that outlives changes of the
// director's table shows which server it stays with (Session). The
// listener and its connections close when the test ends.
func (n *Node) ServeTCP(port int) {
	t := n.bed.t
	t.Helper()
	var ln net.Listener
	err := n.Do(func() (err error) {
		ln, err = net.Listen("tcp", ":"+strconv.Itoa(port))
		return err
	})
	if err != nil {
		t.Fatalf("testbed: TCP server on port %d of %s: %v", port, n.Name, err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	answer := []byte(n.Name + "\n")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go answerLines(c, answer)
		}
	}()
}

// answerLines writes answer for every line read from c, until c ends.
func answerLines(c net.Conn, answer []byte) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		if _, err := r.ReadString('\n'); err != nil {
			return
		}
		if _, err := c.Write(answer); err != nil {
			return
		}
	}
}

// errNotReady is the error of a bounded wait that ran out.
var errNotReady = errors.New("not ready")
