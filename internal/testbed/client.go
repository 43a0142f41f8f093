package testbed

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// ClientTimeout bounds every client request, from connecting to the last
// byte of the answer.
const ClientTimeout = 5 * time.Second

// Get fetches http://target/ from the node and returns the page: the
// name of the server that answered.
func (n *Node) Get(target netip.AddrPort) (string, error) {
	return n.GetFrom(netip.AddrPort{}, target)
}

// GetFrom is Get from the source address and port src; a zero address or
// port in src is chosen by the kernel.
func (n *Node) GetFrom(src, target netip.AddrPort) (string, error) {
	deadline := time.Now().Add(ClientTimeout)
	c, err := n.dialTCP(src, target, deadline)
	if err != nil {
		return "", fmt.Errorf("%s: GET %s: %w", n.Name, target, err)
	}
	defer c.Close()
	if err := c.SetDeadline(deadline); err != nil {
		return "", err
	}
	if _, err := io.WriteString(c, "GET / HTTP/1.0\r\nHost: "+target.String()+"\r\n\r\n"); err != nil {
		return "", fmt.Errorf("%s: GET %s: %w", n.Name, target, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "", fmt.Errorf("%s: GET %s: %w", n.Name, target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("%s: GET %s: %w", n.Name, target, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: GET %s: %s", n.Name, target, resp.Status)
	}
	return strings.TrimSpace(string(body)), nil
}

// MustGet is Get that fails the test on error.
func (n *Node) MustGet(target netip.AddrPort) string {
	t := n.bed.t
	t.Helper()
	s, err := n.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// UDP sends one datagram with payload to target from a new socket (so a
// new connection for IPVS) and returns the answer: the name of the server.
func (n *Node) UDP(target netip.AddrPort, payload []byte) (string, error) {
	names, err := n.UDPSession(netip.AddrPort{}, target, 1, payload)
	if err != nil {
		return "", err
	}
	return names[0], nil
}

// UDPSession sends count datagrams with payload to target from one
// socket (bound to src when it is valid or has a port), one at a time,
// each after the answer to the one before, and returns the answers.
func (n *Node) UDPSession(src, target netip.AddrPort, count int, payload []byte) ([]string, error) {
	var laddr *net.UDPAddr
	if src.IsValid() || src.Port() != 0 {
		laddr = &net.UDPAddr{IP: src.Addr().AsSlice(), Port: int(src.Port())}
	}
	var c *net.UDPConn
	err := n.Do(func() (err error) {
		c, err = net.DialUDP("udp", laddr, net.UDPAddrFromAddrPort(target))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: UDP to %s: %w", n.Name, target, err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(ClientTimeout)); err != nil {
		return nil, err
	}
	var names []string
	buf := make([]byte, 65536)
	for i := 0; i < count; i++ {
		if _, err := c.Write(payload); err != nil {
			return names, fmt.Errorf("%s: UDP to %s: %w", n.Name, target, err)
		}
		k, err := c.Read(buf)
		if err != nil {
			return names, fmt.Errorf("%s: UDP to %s: datagram %d: %w", n.Name, target, i+1, err)
		}
		names = append(names, string(buf[:k]))
	}
	return names, nil
}

// A Session is a TCP connection from a node to a ServeTCP server, kept
// open across questions.
type Session struct {
	c net.Conn
	r *bufio.Reader
}

// OpenSession connects from the node (from src when it is valid or has a
// port) to target, a ServeTCP server or a virtual service in front of
// some. The session is closed when the test ends, if not before.
func (n *Node) OpenSession(src, target netip.AddrPort) (*Session, error) {
	c, err := n.dialTCP(src, target, time.Now().Add(ClientTimeout))
	if err != nil {
		return nil, fmt.Errorf("%s: connect to %s: %w", n.Name, target, err)
	}
	n.bed.t.Cleanup(func() { c.Close() })
	return &Session{c: c, r: bufio.NewReader(c)}, nil
}

// Ask sends a line and returns the answer: the name of the server at the
// other end of the connection.
func (s *Session) Ask() (string, error) { return s.AskWithin(ClientTimeout) }

// AskWithin is Ask with the answer due within timeout (TCP retransmits
// meanwhile, as across a failover).
func (s *Session) AskWithin(timeout time.Duration) (string, error) {
	if err := s.c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	if _, err := io.WriteString(s.c, "who\n"); err != nil {
		return "", fmt.Errorf("session %s: %w", s.c.LocalAddr(), err)
	}
	line, err := s.r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("session %s: %w", s.c.LocalAddr(), err)
	}
	return strings.TrimSuffix(line, "\n"), nil
}

// LocalAddr is the session's address and port on the client.
func (s *Session) LocalAddr() netip.AddrPort {
	return s.c.LocalAddr().(*net.TCPAddr).AddrPort()
}

// Close closes the connection.
func (s *Session) Close() error { return s.c.Close() }

// dialTCP connects from the node (from src when it is valid or has a
// port; the kernel chooses what src leaves zero) to target by deadline.
func (n *Node) dialTCP(src, target netip.AddrPort, deadline time.Time) (net.Conn, error) {
	d := net.Dialer{Deadline: deadline}
	if src.IsValid() || src.Port() != 0 {
		d.LocalAddr = &net.TCPAddr{IP: src.Addr().AsSlice(), Port: int(src.Port())}
	}
	var c net.Conn
	err := n.Do(func() (err error) {
		c, err = d.Dial("tcp", target.String())
		return err
	})
	return c, err
}
