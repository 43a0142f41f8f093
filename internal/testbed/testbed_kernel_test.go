package testbed

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The layouts route plain packets (no IPVS yet): a client reaches the
// real servers behind the director, on IPv4 and IPv6, over HTTP and UDP,
// and the LAN's tunnel receivers and marks can be set up.
func TestKernelTestbedLayouts(t *testing.T) {
	start := time.Now()
	nat := NewNAT(t, 1, 2)
	nat.ServeHTTP(80)
	nat.ServeUDP(53)
	c := nat.Clients[0]
	for _, rs := range nat.Servers {
		for _, a := range []netip.Addr{rs.V4(), rs.V6()} {
			if got, err := c.Get(netip.AddrPortFrom(a, 80)); err != nil || got != rs.Name {
				t.Errorf("GET %s: %q, %v; want %q", a, got, err, rs.Name)
			}
			if got, err := c.UDP(netip.AddrPortFrom(a, 53), []byte("ping")); err != nil || got != rs.Name {
				t.Errorf("UDP %s: %q, %v; want %q", a, got, err, rs.Name)
			}
		}
	}
	src := netip.AddrPortFrom(c.V4(), 40000)
	if got, err := c.UDPSession(src, netip.AddrPortFrom(nat.Servers[0].V4(), 53), 3, nil); err != nil || len(got) != 3 {
		t.Errorf("UDP session: %q, %v", got, err)
	}

	lan := NewLAN(t, 1, 1)
	rs := lan.Servers[0]
	rs.DecapGRE()
	rs.DecapGUE(6080)
	rs.ServeHTTP(80)
	rs.ServeUDP(53)
	if got, err := lan.Clients[0].Get(netip.AddrPortFrom(rs.V6(), 80)); err != nil || got != rs.Name {
		t.Errorf("LAN GET: %q, %v", got, err)
	}
	// The hidden virtual address answers locally only.
	if got, err := rs.UDP(lan.VIP4Port(53), nil); err != nil || got != rs.Name {
		t.Errorf("UDP to the VIP on the real server itself: %q, %v", got, err)
	}
	nat.Director.MarkIngress("eth0", unix.IPPROTO_TCP, 1, 80, 443)
	t.Logf("two layouts built and checked in %v", time.Since(start).Round(time.Millisecond))
}
