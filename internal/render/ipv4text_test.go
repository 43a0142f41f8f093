package render

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// FuzzIPv4DestLine checks the in-place numeric IPv4 lines against the
// general formatters and printf: a plain listing's real-server line, a
// save's address and port, and the decimal digits.
func FuzzIPv4DestLine(f *testing.F) {
	f.Add([]byte{10, 0, 0, 1}, uint16(80), uint8(0), int32(1), uint32(0), uint32(0))
	f.Add([]byte{255, 255, 255, 255}, uint16(65535), uint8(3), int32(-2147483648), uint32(4294967295), uint32(1234567890))
	f.Add([]byte{0, 9, 99, 100}, uint16(0), uint8(7), int32(2147483647), uint32(100), uint32(99))
	f.Fuzz(func(t *testing.T, ip []byte, port uint16, fwd uint8, weight int32, active, inactive uint32) {
		if len(ip) < 4 {
			return
		}
		d := rules.BriefDestination{Family: rules.IPv4, Port: port, Forward: rules.ForwardMethod(fwd), Weight: weight, ActiveConns: active, InactiveConns: inactive}
		copy(d.IP[:4], ip)
		addr := netip.AddrFrom4([4]byte(ip))
		svc := &rules.Service{ServiceKey: rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP}}

		general := appendPlainDestTail(appendDestAddr([]byte("x"), svc, addr, port, rules.IPv4, ListOptions{Numeric: true}, nil), d.Forward, weight, active, inactive)
		if got := appendIPv4DestLine([]byte("x"), &d); string(got) != string(general) {
			t.Fatalf("appendIPv4DestLine = %q, want %q", got, general)
		}
		ip4 := addr.As4()
		if got, want := appendIPv4Port([]byte("y"), &ip4, port), AppendAddrPortText([]byte("y"), addr, port, rules.TCP, true, nil); string(got) != string(want) {
			t.Fatalf("appendIPv4Port = %q, want %q", got, want)
		}
		for _, v := range []uint64{uint64(active), uint64(inactive) << 32, uint64(port)} {
			var l [20]byte
			if got, want := string(l[:putDec(l[:], v)]), fmt.Sprint(v); got != want {
				t.Fatalf("putDec(%d) = %q", v, got)
			}
		}
	})
}
