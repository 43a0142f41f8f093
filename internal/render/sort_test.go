package render

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

func tcp4(addr string, port uint16) rules.ServiceEntry {
	return rules.ServiceEntry{Service: rules.Service{ServiceKey: rules.ServiceKey{
		Family: rules.IPv4, Protocol: rules.TCP, Addr: netip.MustParseAddr(addr), Port: port}}}
}

func proto4(p rules.Protocol, addr string, port uint16) rules.ServiceEntry {
	e := tcp4(addr, port)
	e.Service.Protocol = p
	return e
}

func fwm(f rules.Family, mark uint32) rules.ServiceEntry {
	return rules.ServiceEntry{Service: rules.Service{ServiceKey: rules.ServiceKey{Family: f, FWMark: mark}}}
}

func dest4(addr string, port uint16) rules.Destination {
	return rules.Destination{Family: rules.IPv4, Addr: netip.MustParseAddr(addr), Port: port}
}

func serviceKeys(es []rules.ServiceEntry) []string {
	var s []string
	for _, e := range es {
		s = append(s, e.Service.ServiceKey.String())
	}
	return s
}

// TestSortServicesWrapAround reproduces §10.I: the input in the kernel's
// dump order and ipvsadm's verified output order.
func TestSortServicesWrapAround(t *testing.T) {
	in := []rules.ServiceEntry{
		tcp4("200.0.0.1", 80), tcp4("10.0.0.1", 80), tcp4("150.0.0.1", 80),
		tcp4("100.0.0.1", 80), tcp4("1.0.0.1", 80), tcp4("250.0.0.1", 80),
		tcp4("129.0.0.1", 80), tcp4("127.0.0.1", 80),
		fwm(rules.IPv4, 4294967295), fwm(rules.IPv4, 3),
		tcp4("10.0.0.1", 65535), tcp4("10.0.0.1", 1),
		proto4(rules.UDP, "10.0.0.1", 1), proto4(rules.SCTP, "10.0.0.1", 1),
	}
	want := []rules.ServiceEntry{
		fwm(rules.IPv4, 4294967295),
		tcp4("150.0.0.1", 80), tcp4("200.0.0.1", 80), tcp4("1.0.0.1", 80),
		tcp4("10.0.0.1", 1), tcp4("10.0.0.1", 80), tcp4("10.0.0.1", 65535),
		tcp4("100.0.0.1", 80), tcp4("127.0.0.1", 80), tcp4("129.0.0.1", 80),
		tcp4("250.0.0.1", 80),
		proto4(rules.UDP, "10.0.0.1", 1), proto4(rules.SCTP, "10.0.0.1", 1),
		fwm(rules.IPv4, 3),
	}
	SortServices(in)
	if got, w := serviceKeys(in), serviceKeys(want); !slices.Equal(got, w) {
		t.Errorf("order:\n got %q\nwant %q", got, w)
	}
}

// TestSortServicesFirstOctets sorts the eight addresses of §4.7 on their
// own. Within the fourteen services of §10.I they come out as 150, 200, 1,
// 10, 100, 127, 129, 250; alone the merges go differently (worked by hand
// from glibc's algorithm), which shows that the order depends on the input.
func TestSortServicesFirstOctets(t *testing.T) {
	var in []rules.ServiceEntry
	for _, a := range []string{"200", "10", "150", "100", "1", "250", "129", "127"} {
		in = append(in, tcp4(a+".0.0.1", 80))
	}
	SortServices(in)
	var got []string
	for _, e := range in {
		got = append(got, e.Service.Addr.String())
	}
	want := []string{"100.0.0.1", "127.0.0.1", "129.0.0.1", "150.0.0.1", "200.0.0.1", "250.0.0.1", "1.0.0.1", "10.0.0.1"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestSortServicesFamilies checks the af and IPv6 word comparisons and that
// a fwmark service compares without protocol, address or port.
func TestSortServicesFamilies(t *testing.T) {
	v6 := rules.ServiceEntry{Service: rules.Service{ServiceKey: rules.ServiceKey{
		Family: rules.IPv6, Protocol: rules.TCP, Addr: netip.MustParseAddr("2001:db8::10"), Port: 80}}}
	v6b := v6
	v6b.Service.Addr = netip.MustParseAddr("2001:db8::9")
	f7 := fwm(rules.IPv6, 7)
	f7.Service.Protocol = rules.TCP // as a parsed -f service has; the kernel reports none
	in := []rules.ServiceEntry{fwm(rules.IPv4, 100), f7, v6, proto4(rules.UDP, "10.0.0.1", 53), v6b, tcp4("10.0.0.4", 80), fwm(rules.IPv4, 3000000000)}
	SortServices(in)
	want := []string{
		"FWM 3000000000 inet", "TCP 10.0.0.4:80", "UDP 10.0.0.1:53",
		"TCP [2001:db8::9]:80", "TCP [2001:db8::10]:80", "FWM 7 inet6", "FWM 100 inet",
	}
	if got := serviceKeys(in); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestSortDests reproduces the real-server part of §10.I.
func TestSortDests(t *testing.T) {
	// Kernel order: newest first.
	in := []rules.Destination{
		dest4("200.1.1.1", 80), dest4("10.1.1.1", 80), dest4("192.168.0.1", 80),
		dest4("192.168.0.1", 90), dest4("192.168.0.5", 80),
	}
	SortDests(in)
	var got []string
	for _, d := range in {
		got = append(got, netip.AddrPortFrom(d.Addr, d.Port).String())
	}
	want := []string{"192.168.0.1:80", "192.168.0.1:90", "192.168.0.5:80", "200.1.1.1:80", "10.1.1.1:80"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestSortDestsMixedFamily checks that the first operand's family decides
// how many address words are compared.
func TestSortDestsMixedFamily(t *testing.T) {
	v4 := dest4("32.1.13.184", 80) // 0x20010db8: the first word of 2001:db8::
	v6 := rules.Destination{Family: rules.IPv6, Addr: netip.MustParseAddr("2001:db8::1"), Port: 80}
	if r := compareDestinations(&v4, &v6); r != 0 {
		t.Errorf("IPv4 first: got %d, want 0 (only the first word counts)", r)
	}
	if r := compareDestinations(&v6, &v4); r <= 0 {
		t.Errorf("IPv6 first: got %d, want > 0", r)
	}
}

// TestMergeSortMatchesStableSort checks the merge sort against the
// standard library's stable sort where the comparator is a total order.
func TestSortByIndexMatchesStableSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type item struct{ key, seq int }
	for n := 0; n < 70; n++ {
		s := make([]item, n)
		for i := range s {
			s[i] = item{rng.IntN(10), i}
		}
		want := slices.Clone(s)
		slices.SortStableFunc(want, func(a, b item) int { return a.key - b.key })
		sortByIndex(s, func(a, b *item) int { return a.key - b.key })
		if !slices.Equal(s, want) {
			t.Fatalf("n=%d: got %v, want %v", n, s, want)
		}
	}
}
