package sched

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// The vectors in this file come from the project's kernel reference
// (SipHash checked against the kernel's siphash_kunit vectors, table
// contents computed from the algorithms) and from the published SipHash
// paper; the kernel tests (sched_kernel_test.go) check the models against
// live traffic.

func TestSipHash(t *testing.T) {
	var key sipKey
	var kb [16]byte
	for i := range kb {
		kb[i] = byte(i)
	}
	key[0], key[1] = le64(kb[:8]), le64(kb[8:])
	msg := make([]byte, 15)
	for i := range msg {
		msg[i] = byte(i)
	}
	// SipHash-2-4 vectors of the reference implementation.
	for _, tt := range []struct {
		n    int
		want uint64
	}{{0, 0x726fdb47dd0e0e31}, {1, 0x74f839c593dc67fd}, {8, 0x93f5f5799a932462}, {15, 0xa129ca6149be45e5}} {
		if got := sipHash(2, 4, key, msg[:tt.n]); got != tt.want {
			t.Errorf("SipHash-2-4 of %d bytes = %#x, want %#x", tt.n, got, tt.want)
		}
	}
	if got := hsiphash32(0, mhKey1); got != 0x1d5a77c2 {
		t.Errorf("hsiphash(0, hash1) = %#x, want 0x1d5a77c2", got)
	}
}

func TestMaglevHashes(t *testing.T) {
	for _, tt := range []struct {
		addr string
		port uint32
		key  sipKey
		want uint32
	}{
		{"10.0.0.1", 80, mhKey1, 0x439c0cbe},
		{"10.0.0.1", 80, mhKey2, 0x97b3dc47},
		{"10.0.0.2", 80, mhKey1, 0xa1cf683b},
		{"10.0.0.2", 80, mhKey2, 0xfa5d46df},
		{"192.168.1.10", 0, mhKey1, 0xd5e959b6},
	} {
		if got := mhHash(foldAddr(netip.MustParseAddr(tt.addr)), tt.port, tt.key, 0); got != tt.want {
			t.Errorf("mh hash of %s:%d = %#x, want %#x", tt.addr, tt.port, got, tt.want)
		}
	}
	if got := 0xd5e959b6 % mhTabSize; got != 3323 {
		t.Errorf("slot %d, want 3323", got)
	}
}

func TestHash32(t *testing.T) {
	// 192.168.1.10 → 248, 192.168.1.11 → 90, 10.1.2.3 → 2 (reference §6.7).
	for addr, want := range map[string]uint32{"192.168.1.10": 248, "192.168.1.11": 90, "10.1.2.3": 2} {
		if got := hash32(foldAddr(netip.MustParseAddr(addr)), 8); got != want {
			t.Errorf("hash_32(%s, 8) = %d, want %d", addr, got, want)
		}
	}
}

// server is a real server on port 80 with a weight.
func server(addr string, weight int32) Server {
	return Server{Addr: netip.MustParseAddr(addr), Port: 80, Weight: weight}
}

// build makes a model by adding servers one by one, as the kernel sees a
// service created empty and filled with -a.
func build(t *testing.T, scheduler string, flags rules.ServiceFlags, servers ...Server) *Model {
	t.Helper()
	fam := rules.IPv4
	if len(servers) > 0 && servers[0].Addr.Is6() {
		fam = rules.IPv6
	}
	m, err := New(scheduler, fam, flags, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		m.Add(s)
	}
	return m
}

// picks returns the names (last octet of the address) of the servers
// chosen for clients, "-" for none.
func picks(m *Model, clients ...string) string {
	var out []string
	for _, c := range clients {
		ap, err := netip.ParseAddrPort(c)
		if err != nil {
			ap = netip.AddrPortFrom(netip.MustParseAddr(c), 0)
		}
		out = append(out, name(m, m.Schedule(Packet{Protocol: rules.TCP, Client: ap, Virtual: netip.MustParseAddr("10.9.9.9")})))
	}
	return strings.Join(out, " ")
}

func name(m *Model, i int) string {
	if i < 0 {
		return "-"
	}
	return map[string]string{"10.0.0.1": "A", "10.0.0.2": "B", "10.0.0.3": "C", "10.0.0.4": "D"}[m.servers[i].Addr.String()]
}

func TestMaglevTable(t *testing.T) {
	m := build(t, "mh", 0, server("10.0.0.1", 1), server("10.0.0.2", 1), server("10.0.0.3", 1))
	counts := map[string]int{}
	var first []string
	for i, d := range m.table {
		counts[name(m, d)]++
		if i < 12 {
			first = append(first, name(m, d))
		}
	}
	if counts["A"] != 1364 || counts["B"] != 1364 || counts["C"] != 1365 {
		t.Errorf("slot counts %v", counts)
	}
	if got := strings.Join(first, " "); got != "A B B C C A B C C A A B" {
		t.Errorf("first slots %s", got)
	}
	if got := picks(m, "192.168.1.10", "192.168.1.11", "172.16.0.5"); got != "A A C" {
		t.Errorf("picks %s, want A A C", got)
	}

	m = build(t, "mh", rules.FlagSched1, server("10.0.0.1", 3), server("10.0.0.2", 1))
	counts = map[string]int{}
	for _, d := range m.table {
		counts[name(m, d)]++
	}
	if counts["A"] != 3069 || counts["B"] != 1024 {
		t.Errorf("weighted slot counts %v", counts)
	}
	if got := picks(m, "8.8.8.8", "192.168.1.10"); got != "B A" {
		t.Errorf("picks %s, want B A", got)
	}
	m.SetWeight(m.Index(netip.MustParseAddr("10.0.0.1"), 80), 0)
	if got := picks(m, "192.168.1.10", "192.168.1.11", "172.16.0.5"); got != "B B B" {
		t.Errorf("quiesced A with mh-fallback: %s, want B B B", got)
	}
}

func TestSourceHash(t *testing.T) {
	for _, tt := range []struct {
		flags   rules.ServiceFlags
		quiesce bool
		clients []string
		want    string
	}{
		{0, false, []string{"192.168.1.10", "192.168.1.11", "10.1.2.3"}, "A B A"},
		{rules.FlagSched2, false, []string{"192.168.1.10:12345", "192.168.1.11:12345", "10.1.2.3:12345"}, "B A B"},
		{0, true, []string{"192.168.1.10", "192.168.1.11", "10.1.2.3"}, "- - -"},
		{rules.FlagSched1, true, []string{"192.168.1.10", "192.168.1.11", "10.1.2.3"}, "A A A"},
	} {
		m := build(t, "sh", tt.flags, server("10.0.0.1", 1), server("10.0.0.2", 2))
		if tt.quiesce {
			m.SetWeight(m.Index(netip.MustParseAddr("10.0.0.2"), 80), 0)
		}
		if got := picks(m, tt.clients...); got != tt.want {
			t.Errorf("flags %#x quiesce %v: %s, want %s", uint32(tt.flags), tt.quiesce, got, tt.want)
		}
	}
	// Without the port flag the port makes no difference.
	m := build(t, "sh", 0, server("10.0.0.1", 1), server("10.0.0.2", 2))
	if got := picks(m, "192.168.1.10:12345", "192.168.1.11:1", "10.1.2.3:2"); got != "A B A" {
		t.Errorf("ports without sh-port: %s", got)
	}
}

func TestDestinationHash(t *testing.T) {
	m := build(t, "dh", 0, server("10.0.0.1", 1), server("10.0.0.2", 5))
	// Every client of one virtual address gets one server.
	if got := picks(m, "1.1.1.1", "2.2.2.2", "3.3.3.3:9"); got != "A A A" && got != "B B B" {
		t.Errorf("dh: %s", got)
	}
	for i, d := range m.table {
		if want := i % 2; d != want {
			t.Fatalf("slot %d holds %d, want %d", i, d, want)
		}
	}
}

func TestRoundRobin(t *testing.T) {
	m := build(t, "rr", 0, server("10.0.0.1", 1), server("10.0.0.2", 1), server("10.0.0.3", 1))
	if got := picks(m, "1.1.1.1", "1.1.1.1", "1.1.1.1", "1.1.1.1", "1.1.1.1"); got != "C B A C B" {
		t.Errorf("rr: %s", got)
	}
	// The position is on B; deleting B steps back to C, so A is next.
	m.Delete(m.Index(netip.MustParseAddr("10.0.0.2"), 80))
	if got := picks(m, "1.1.1.1", "1.1.1.1"); got != "A C" {
		t.Errorf("rr after deleting the current server: %s", got)
	}
	m.SetWeight(m.Index(netip.MustParseAddr("10.0.0.1"), 80), 0)
	if got := picks(m, "1.1.1.1", "1.1.1.1"); got != "C C" {
		t.Errorf("rr with A quiesced: %s", got)
	}
	m.Add(server("10.0.0.4", 1)) // at the head: D C A
	if got := picks(m, "1.1.1.1", "1.1.1.1", "1.1.1.1"); got != "D C D" {
		t.Errorf("rr after an add: %s", got)
	}
	m.SetCounters(0, 0, 0, true)
	m.SetCounters(1, 0, 0, true)
	if got := picks(m, "1.1.1.1"); got != "-" {
		t.Errorf("rr with everything unavailable: %s", got)
	}
}

func TestWeightedRoundRobin(t *testing.T) {
	m := build(t, "wrr", 0, server("10.0.0.1", 4), server("10.0.0.2", 3), server("10.0.0.3", 2))
	var cs []string
	for range 18 {
		cs = append(cs, "1.1.1.1")
	}
	// Added one by one, cw was realigned to 1 by the adds (the kernel's
	// dest_changed): the cycle starts low.
	if got := picks(m, cs...); got != "C B A A B A C B A C B A A B A C B A" {
		t.Errorf("wrr added one by one: %s", got)
	}
	// Created with its servers, cw starts at the maximum weight.
	m, _ = New("wrr", rules.IPv4, 0, m.Servers())
	if got := picks(m, cs[:9]...); got != "A B A C B A C B A" {
		t.Errorf("wrr created whole: %s", got)
	}
	m = build(t, "wrr", 0, server("10.0.0.1", 0), server("10.0.0.2", 0))
	if got := picks(m, "1.1.1.1"); got != "-" {
		t.Errorf("wrr without weights: %s", got)
	}
	m = build(t, "wrr", 0, server("10.0.0.1", 2), server("10.0.0.2", 4))
	if got := picks(m, cs[:6]...); got != "B A B B A B" {
		t.Errorf("wrr 2:4: %s", got)
	}
}

func TestCounting(t *testing.T) {
	type counters struct {
		w             int32
		active, inact uint32
		over          bool
	}
	for _, tt := range []struct {
		sched string
		dests []counters // in list order: A B C
		want  string
	}{
		{"lc", []counters{{1, 1, 0, false}, {1, 0, 5, false}, {1, 0, 5, false}}, "B"},
		{"lc", []counters{{0, 0, 0, false}, {9, 0, 3, false}, {1, 0, 2, false}}, "C"},
		{"lc", []counters{{1, 0, 0, true}, {1, 0, 1, false}, {1, 0, 1, false}}, "B"},
		{"wlc", []counters{{1, 0, 2, false}, {3, 0, 5, false}, {1, 0, 1, false}}, "C"},
		{"wlc", []counters{{1, 0, 1, false}, {2, 0, 2, false}, {1, 0, 1, false}}, "A"},
		{"wlc", []counters{{0, 0, 0, false}, {1, 1, 0, false}, {1, 0, 255, false}}, "C"},
		{"sed", []counters{{1, 0, 0, false}, {3, 2, 0, false}, {1, 0, 0, false}}, "A"},
		{"sed", []counters{{1, 1, 0, false}, {3, 2, 0, false}, {1, 1, 0, false}}, "B"},
		{"sed", []counters{{1, 0, 0, false}, {2, 1, 0, false}, {1, 0, 0, false}}, "A"},
		{"nq", []counters{{5, 3, 0, false}, {1, 0, 9, false}, {1, 0, 0, false}}, "B"},
		{"nq", []counters{{0, 0, 0, false}, {2, 1, 0, false}, {1, 1, 0, false}}, "B"},
		{"fo", []counters{{2, 9, 9, false}, {5, 0, 0, true}, {2, 0, 0, false}}, "A"},
		{"fo", []counters{{0, 0, 0, false}, {0, 0, 0, false}, {0, 0, 0, false}}, "-"},
		{"ovf", []counters{{2, 3, 0, false}, {1, 1, 0, false}, {1, 0, 0, false}}, "B"},
		{"ovf", []counters{{2, 2, 0, false}, {3, 4, 0, false}, {1, 0, 0, false}}, "A"},
	} {
		m := build(t, tt.sched, 0, server("10.0.0.3", 1), server("10.0.0.2", 1), server("10.0.0.1", 1))
		for i, c := range tt.dests {
			m.SetWeight(i, c.w)
			m.SetCounters(i, c.active, c.inact, c.over)
		}
		if got := picks(m, "1.1.1.1"); got != tt.want {
			t.Errorf("%s %v: %s, want %s", tt.sched, tt.dests, got, tt.want)
		}
	}
}

func TestOverloadOf(t *testing.T) {
	for _, tt := range []struct {
		u, l, active, inact uint32
		over, certain       bool
	}{
		{0, 0, 100, 100, false, true},
		{10, 0, 5, 5, true, true},
		{10, 0, 5, 4, false, false},
		{10, 0, 3, 4, false, true},
		{10, 5, 3, 3, false, false},
		{10, 5, 2, 2, false, true},
	} {
		d := rules.Destination{UpperThreshold: tt.u, LowerThreshold: tt.l,
			DestinationCounters: rules.DestinationCounters{ActiveConns: tt.active, InactiveConns: tt.inact}}
		if over, certain := OverloadOf(d); over != tt.over || certain != tt.certain {
			t.Errorf("%+v: %v %v", tt, over, certain)
		}
	}
}

func TestNoModel(t *testing.T) {
	for _, s := range []string{"lblc", "lblcr", "none", "twos", ""} {
		if _, err := New(s, rules.IPv4, 0, nil); err == nil {
			t.Errorf("%q has a model", s)
		}
	}
	for _, s := range All() {
		d := DeterminismOf(s.Name)
		if (d == Unmodelled) != (s.Name == "lblc" || s.Name == "lblcr") {
			t.Errorf("%s: %v", s.Name, d)
		}
	}
}
