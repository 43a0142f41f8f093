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
	d := net.Dialer{Deadline: deadline}
	if src.IsValid() || src.Port() != 0 {
		d.LocalAddr = &net.TCPAddr{IP: src.Addr().AsSlice(), Port: int(src.Port())}
	}
	var c net.Conn
	err := n.Do(func() (err error) {
		c, err = d.Dial("tcp", target.String())
		return err
	})
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
