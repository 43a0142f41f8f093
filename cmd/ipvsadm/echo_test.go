package main

// A line echo server that names the node it runs on, and a client that
// keeps one TCP connection open while the network changes under it (the
// servers of internal/testbed answer one request per connection).

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipvsadm-go/ipvsadm/internal/testbed"
)

// serveEcho listens on port of n (every address) and answers every line a
// client sends with "NODE LINE", until the test ends.
func serveEcho(t *testing.T, n *testbed.Node, port int) {
	t.Helper()
	var ln net.Listener
	err := n.Do(func() (err error) {
		ln, err = net.Listen("tcp", ":"+strconv.Itoa(port))
		return err
	})
	if err != nil {
		t.Fatalf("echo server on port %d of %s: %v", port, n.Name, err)
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
					if _, err := fmt.Fprintf(c, "%s %s\n", n.Name, lines.Text()); err != nil {
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

// dialEcho connects from n to target; the connection closes when the
// test ends.
func dialEcho(t *testing.T, n *testbed.Node, target netip.AddrPort) *echoConn {
	t.Helper()
	var c net.Conn
	err := n.Do(func() (err error) {
		c, err = net.DialTimeout("tcp", target.String(), 10*time.Second)
		return err
	})
	if err != nil {
		t.Fatalf("%s: connect to %s: %v", n.Name, target, err)
	}
	t.Cleanup(func() { c.Close() })
	return &echoConn{conn: c, lines: bufio.NewReader(c)}
}

// exchange sends line and returns the name of the node that answered it;
// the answer must come within timeout (TCP retransmits meanwhile).
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
		return "", fmt.Errorf("unexpected answer %q to %q", answer, line)
	}
	return name, nil
}

// clientPort is the client's port of the connection.
func (e *echoConn) clientPort() uint16 {
	return uint16(e.conn.LocalAddr().(*net.TCPAddr).Port)
}
