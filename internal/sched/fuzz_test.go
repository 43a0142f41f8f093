package sched

import (
	"net/netip"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// FuzzModel drives every model with arbitrary changes and packets: it must
// never panic, and a chosen server must be one the scheduler may choose.
func FuzzModel(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, uint8(0))
	f.Add([]byte{200, 13, 7, 99, 250, 1, 1, 1, 0, 0, 0, 3}, uint8(9))
	names := []string{"rr", "wrr", "lc", "wlc", "sed", "nq", "fo", "ovf", "sh", "dh", "mh"}
	f.Fuzz(func(t *testing.T, ops []byte, which uint8) {
		name := names[int(which)%len(names)]
		m, err := New(name, rules.IPv4, rules.ServiceFlags(which)&rules.FlagsSched, nil)
		if err != nil {
			t.Fatal(err)
		}
		for len(ops) >= 3 {
			op, a, b := ops[0], ops[1], ops[2]
			ops = ops[3:]
			n := len(m.servers)
			switch op % 5 {
			case 0:
				addr := netip.AddrFrom4([4]byte{10, 0, a, b})
				if m.Index(addr, 80) < 0 {
					m.Add(Server{Addr: addr, Port: 80, Weight: int32(b % 9)})
				}
			case 1:
				if n > 0 {
					m.SetWeight(int(a)%n, int32(b%9))
				}
			case 2:
				if n > 0 {
					m.Delete(int(a) % n)
				}
			case 3:
				if n > 0 {
					m.SetCounters(int(a)%n, uint32(b%4), uint32(b/4), b%7 == 0)
				}
			default:
				p := Packet{Protocol: rules.UDP, Client: netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 168, a, b}), uint16(a)<<8|uint16(b)),
					Virtual: netip.AddrFrom4([4]byte{10, 9, 9, b})}
				i := m.Schedule(p)
				if i >= n || i < -1 {
					t.Fatalf("%s chose %d of %d", name, i, n)
				}
				if i >= 0 && (m.servers[i].Overloaded || m.servers[i].Weight <= 0 && name != "lc") {
					t.Fatalf("%s chose an unavailable server %+v", name, m.servers[i])
				}
			}
		}
	})
}
