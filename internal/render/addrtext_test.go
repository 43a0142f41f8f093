package render

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

func TestAddrText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"10.0.0.1", "10.0.0.1"},
		{"::", "::"},
		{"::1", "::1"},
		{"::2", "::2"},
		{"1::", "1::"},
		{"2001:db8::1", "2001:db8::1"},
		{"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
		{"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},
		{"1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"},
		{"fe80::abcd:ef01", "fe80::abcd:ef01"},
		// glibc writes an embedded IPv4 address for these two forms.
		{"::1.2.3.4", "::1.2.3.4"},
		{"::ffff:1.2.3.4", "::ffff:1.2.3.4"},
		{"::fffe:1.2.3.4", "::fffe:102:304"},
		{"0:0:0:0:0:1:102:304", "::1:102:304"},
	}
	for _, tt := range tests {
		if got := AddrText(netip.MustParseAddr(tt.in)); got != tt.want {
			t.Errorf("AddrText(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := AddrText(netip.Addr{}); got != "0.0.0.0" {
		t.Errorf("AddrText(invalid) = %q", got)
	}
}

// mapResolver is a Resolver over fixed tables.
type mapResolver struct {
	hosts map[netip.Addr]string
	ports map[rules.Protocol]map[uint16]string
}

func (m mapResolver) LookupHost4(string) (netip.Addr, bool)            { return netip.Addr{}, false }
func (m mapResolver) LookupPort(string, rules.Protocol) (uint16, bool) { return 0, false }
func (m mapResolver) HostName(a netip.Addr) (string, bool) {
	n, ok := m.hosts[a]
	return n, ok
}
func (m mapResolver) PortName(port uint16, p rules.Protocol) (string, bool) {
	n, ok := m.ports[p][port]
	return n, ok
}

func TestAddrPortText(t *testing.T) {
	long := strings.Repeat("x", 60) + ".example.com"
	r := mapResolver{
		hosts: map[netip.Addr]string{
			netip.MustParseAddr("10.0.0.1"):    "vip.example.com",
			netip.MustParseAddr("2001:db8::1"): "v6host.example.com",
			netip.MustParseAddr("10.0.0.9"):    long,
		},
		ports: map[rules.Protocol]map[uint16]string{
			rules.TCP:  {80: "http", 8080: "http-alt"},
			rules.UDP:  {53: "domain"},
			rules.SCTP: {80: "http"},
			47:         {80: "never"},
		},
	}
	tests := []struct {
		addr    string
		port    uint16
		p       rules.Protocol
		numeric bool
		want    string
	}{
		{"10.0.0.1", 80, rules.TCP, true, "10.0.0.1:80"},
		{"10.0.0.1", 80, rules.TCP, false, "vip.example.com:http"},
		{"10.0.0.1", 53, rules.UDP, false, "vip.example.com:domain"},
		{"10.0.0.1", 80, rules.SCTP, false, "vip.example.com:http"},
		{"10.0.0.1", 80, 0, false, "vip.example.com:80"}, // fwmark services
		{"10.0.0.1", 80, 47, false, "vip.example.com:80"},
		{"10.0.0.2", 9999, rules.TCP, false, "10.0.0.2:9999"},
		{"2001:db8::1", 80, rules.TCP, false, "[v6host.example.com]:http"},
		{"2001:db8::1", 80, rules.TCP, true, "[2001:db8::1]:80"},
		{"2001:db8::99", 8080, rules.TCP, false, "[2001:db8::99]:http-alt"},
		{"::ffff:10.0.0.1", 0, rules.TCP, true, "[::ffff:10.0.0.1]:0"},
		{"10.0.0.9", 80, rules.TCP, false, (long + ":http")[:59]},
	}
	for _, tt := range tests {
		got := AddrPortText(netip.MustParseAddr(tt.addr), tt.port, tt.p, tt.numeric, r)
		if got != tt.want {
			t.Errorf("AddrPortText(%s, %d, %v, %v) = %q, want %q", tt.addr, tt.port, tt.p, tt.numeric, got, tt.want)
		}
	}
	if got := AddrPortText(netip.MustParseAddr("10.0.0.1"), 80, rules.TCP, false, nil); got != "10.0.0.1:80" {
		t.Errorf("nil resolver: got %q", got)
	}
}
