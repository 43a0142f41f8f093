package render

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/testkit"
)

// listCheckRef checks that the reference lines appear in the output in
// order; with whole set, they must be the entire output.
func listCheckRef(t *testing.T, out, ref string, whole bool) {
	t.Helper()
	want := testkit.RefLines(t, ref)
	if whole {
		if got := strings.Join(want, "\n") + "\n"; out != got {
			t.Errorf("differs from the reference:\n got:\n%s\nwant:\n%s", testkit.MarkEnds(out), testkit.MarkEnds(got))
		}
		return
	}
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	i := 0
	for _, l := range got {
		if i < len(want) && l == want[i] {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("reference line %q not found in order in:\n%s", want[i]+"|", testkit.MarkEnds(out))
	}
}

// findEntry returns the entry of a table whose key renders as key.
func findEntry(t *testing.T, entries []rules.ServiceEntry, key string) rules.ServiceEntry {
	t.Helper()
	for _, e := range entries {
		if e.Service.ServiceKey.String() == key {
			return e
		}
	}
	t.Fatalf("no service %s", key)
	return rules.ServiceEntry{}
}

// TestListGolden reproduces the listings of reference §10.A, 10.B, 10.F,
// 10.H and 10.I. Where the reference shows only part of an output, its
// lines must appear in order; the golden file pins the rest.
func TestListGolden(t *testing.T) {
	numeric := ListOptions{Numeric: true}
	tests := []struct {
		name    string
		table   string
		service string // -L <service> when set
		o       ListOptions
		ref     string
		whole   bool
	}{
		{name: "a1-empty", table: "", o: ListOptions{}, whole: true, ref: `
IP Virtual Server version 1.2.1 (size=4096)|
Prot LocalAddress:Port Scheduler Flags|
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn|
`},
		{name: "b19-Ln", table: "b", o: numeric, whole: true, ref: `
IP Virtual Server version 1.2.1 (size=4096)|
Prot LocalAddress:Port Scheduler Flags|
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn|
FWM  -1294967296 wlc|
TCP  10.0.0.1:80 rr|
  -> 192.168.1.10:80              Route   1      0          0         |
  -> 192.168.1.11:8080            Masq    3      0          0         |
  -> 192.168.1.12:80              Tunnel  0      0          0         |
  -> 192.168.1.14:80              Tunnel  1      0          0         |
  -> 192.168.1.15:80              Tunnel  1      0          0         |
TCP  10.0.0.3:443 sh (sh-fallback,sh-port) persistent 600 mask 255.255.255.0|
TCP  10.0.0.4:80 wlc persistent 30 pe sip|
UDP  10.0.0.1:53 wlc persistent 360 ops|
TCP  [2001:db8::10]:80 wlc|
  -> [2001:db8::20]:8080          Masq    5      0          0         |
FWM  7 IPv6 wlc persistent 120 mask 64|
FWM  100 wrr|
  -> 192.168.1.20:0               Route   1      0          0         |
`},
		{name: "b21-Ln-tun-info", table: "b", o: ListOptions{Numeric: true, TunInfo: true}, ref: `
  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn|
FWM  -1294967296 wlc|
TCP  10.0.0.1:80 rr|
  -> 192.168.1.10:80              Route   n/a           1      0          0         |
  -> 192.168.1.11:8080            Masq    n/a           3      0          0         |
  -> 192.168.1.12:80              Tunnel  ipip          0      0          0         |
  -> 192.168.1.14:80              Tunnel  gue:6080:+c   1      0          0         |
  -> 192.168.1.15:80              Tunnel  gre:-c        1      0          0         |
TCP  10.0.0.3:443 sh (sh-fallback,sh-port) persistent 600 mask 255.255.255.0|
`},
		{name: "b22-Ln-thresholds", table: "b", o: ListOptions{Numeric: true, Thresholds: true}, ref: `
Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn |
  -> RemoteAddress:Port|
FWM  -1294967296 wlc|
TCP  10.0.0.1:80 rr|
  -> 192.168.1.10:80              0          0          0          0         |
  -> 192.168.1.11:8080            100        10         0          0         |
`},
		{name: "b23-Ln-persistent-conn", table: "b", o: ListOptions{Numeric: true, PersistentConn: true}, ref: `
Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn |
  -> RemoteAddress:Port|
  -> 192.168.1.11:8080            3         0           0          0         |
`},
		{name: "b26-Ln-f7-6", table: "b", service: "FWM 7 inet6", o: numeric, whole: true, ref: `
Prot LocalAddress:Port Scheduler Flags|
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn|
FWM  7 IPv6 wlc persistent 120 mask 64|
`},
		{name: "b27-Ln-u53-stats", table: "b", service: "UDP 10.0.0.1:53", o: ListOptions{Numeric: true, Stats: true}, whole: true, ref: `
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes|
  -> RemoteAddress:Port|
UDP  10.0.0.1:53                         0        0        0        0        0|
`},
		{name: "f-Ln-stats", table: "f", o: ListOptions{Numeric: true, Stats: true}, whole: true, ref: `
IP Virtual Server version 1.2.1 (size=4096)|
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes|
  -> RemoteAddress:Port|
TCP  10.0.0.1:80                  99999999  100000K  999999K    1000M   99999M|
  -> 192.168.0.1:80               12345678 99999999  100000K    1000M        7|
  -> 192.168.0.2:80                      1  705032K      123     100G18446744T|
TCP  10.0.0.2:80                         1        2        3        4        5|
UDP  10.0.0.1:53                      100G   99999G     100T  123456T    4294M|
`},
		{name: "f-Ln-rate", table: "f", o: ListOptions{Numeric: true, Rate: true}, ref: `
Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS|
  -> RemoteAddress:Port|
TCP  10.0.0.1:80                   299999K  300000K    2999M    3000M     299G|
  -> 192.168.0.1:80                1763668 14285714 14285714  142857K        1|
  -> 192.168.0.2:80               613566756 714285714       17    1400M    2454M|
TCP  10.0.0.2:80                         3        6        9       12       15|
UDP  10.0.0.1:53                      300G     299T     300T  370370T   12884M|
`},
		{name: "f-Ln-stats-exact", table: "f", o: ListOptions{Numeric: true, Stats: true, Exact: true}, ref: `
TCP  10.0.0.1:80                  99999999 100000000 999999999 1000000000 99999999999|
  -> 192.168.0.1:80               12345678 99999999 100000000 1000000000        7|
  -> 192.168.0.2:80                      1 705032704      123 100000000000 18446744073709551615|
TCP  10.0.0.2:80                         1        2        3        4        5|
UDP  10.0.0.1:53                  100000000000 99999999999999 100000000000000 123456789012345678 4294967296|
`},
		{name: "f-Ln-rate-exact", table: "f", o: ListOptions{Numeric: true, Rate: true, Exact: true}, ref: `
TCP  10.0.0.1:80                  299999997 300000000 2999999997 3000000000 299999999997|
  -> 192.168.0.1:80                1763668 14285714 14285714 142857142        1|
  -> 192.168.0.2:80               613566756 714285714       17 1400812397 2454267026|
`},
		{name: "f-Ln-stats-rate", table: "f", o: ListOptions{Numeric: true, Stats: true, Rate: true}, ref: `
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes|
TCP  10.0.0.1:80                  99999999  100000K  999999K    1000M   99999M|
`},
		{name: "h-L", table: "h", o: ListOptions{}, whole: true, ref: `
IP Virtual Server version 1.2.1 (size=4096)|
Prot LocalAddress:Port Scheduler Flags|
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn|
TCP  vip.example.com:http wlc|
  -> real1.example.com:http       Route   1      0          0         |
  -> a-very-long-real-server-host Route   1      0          0         |
  -> 192.168.0.3:mysql            Masq    1      0          0         |
TCP  vip.example.com:https wlc|
TCP  an-extremely-long-virtual-se wlc|
  -> real1.example.com:http       Masq    1      0          0         |
TCP  10.0.0.3:9999 wlc|
UDP  vip.example.com:domain wlc|
  -> real1.example.com:domain     Masq    1      0          0         |
TCP  [v6host.example.com]:http wlc|
  -> [2001:db8::99]:http-alt      Masq    1      0          0         |
FWM  7 wlc|
  -> real1.example.com:0          Route   1      0          0         |
`},
		{name: "h-L-stats", table: "h", o: ListOptions{Stats: true}, ref: `
TCP  an-extremely-long-virtual-se        0        0        0        0        0|
TCP  [v6host.example.com]:http           0        0        0        0        0|
`},
		{name: "i-Ln", table: "i", o: numeric, ref: `
FWM  -1 wlc|
TCP  150.0.0.1:80 wlc|
TCP  200.0.0.1:80 wlc|
TCP  1.0.0.1:80 wlc|
TCP  10.0.0.1:1 wlc|
TCP  10.0.0.1:80 wlc|
  -> 192.168.0.1:80               Masq    1      0          0         |
  -> 192.168.0.1:90               Masq    1      0          0         |
  -> 192.168.0.5:80               Route   1      0          0         |
  -> 200.1.1.1:80                 Masq    1      0          0         |
  -> 10.1.1.1:80                  Masq    1      0          0         |
TCP  10.0.0.1:65535 wlc|
TCP  100.0.0.1:80 wlc|
TCP  127.0.0.1:80 wlc|
TCP  129.0.0.1:80 wlc|
TCP  250.0.0.1:80 wlc|
UDP  10.0.0.1:1 wlc|
SCTP 10.0.0.1:1 wlc|
FWM  3 wlc|
`},
		{name: "i-Ln-nosort", table: "i", o: ListOptions{Numeric: true, NoSort: true}, ref: `
TCP  200.0.0.1:80 wlc|
TCP  10.0.0.1:80 wlc|
  -> 200.1.1.1:80                 Masq    1      0          0         |
  -> 10.1.1.1:80                  Masq    1      0          0         |
  -> 192.168.0.1:80               Masq    1      0          0         |
  -> 192.168.0.1:90               Masq    1      0          0         |
  -> 192.168.0.5:80               Route   1      0          0         |
TCP  150.0.0.1:80 wlc|
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := testkit.Table{Info: rules.Info{Version: 0x010201, ConnTableSize: 4096}}
			if tt.table != "" {
				table = loadTable(t, tt.table)
			}
			before, _ := json.Marshal(table.Entries)
			var buf bytes.Buffer
			if tt.service != "" {
				WriteServiceList(&buf, findEntry(t, table.Entries, tt.service), tt.o, testdataResolver(t))
			} else {
				WriteList(&buf, table.Info, table.Entries, tt.o, testdataResolver(t))
			}
			if tt.ref != "" {
				listCheckRef(t, buf.String(), tt.ref, tt.whole)
			}
			listGolden(t, tt.name, buf.Bytes())
			if after, _ := json.Marshal(table.Entries); !bytes.Equal(before, after) {
				t.Error("the listing modified its input")
			}
		})
	}
}

// TestListServiceLines covers service and real-server line details that
// the reference tables do not reach.
func TestListServiceLines(t *testing.T) {
	svc := func(mod func(*rules.Service)) rules.Service {
		s := rules.Service{ServiceKey: rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP,
			Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}, Scheduler: "wlc", Netmask: 0xffffffff}
		mod(&s)
		return s
	}
	tests := []struct {
		name string
		s    rules.Service
		o    ListOptions
		want string
	}{
		{"sh flag-3 gives ()", svc(func(s *rules.Service) { s.Scheduler, s.Flags = "sh", rules.FlagSched3 }), ListOptions{},
			"TCP  10.0.0.1:80 sh ()\n"},
		{"flags and ops", svc(func(s *rules.Service) { s.Scheduler, s.Flags = "rr", rules.FlagSched2|rules.FlagOnePacket }), ListOptions{},
			"TCP  10.0.0.1:80 rr (flag-2) ops\n"},
		{"pe only when persistent", svc(func(s *rules.Service) { s.PE = "sip" }), ListOptions{},
			"TCP  10.0.0.1:80 wlc\n"},
		{"none scheduler", svc(func(s *rules.Service) { s.Scheduler = "none" }), ListOptions{},
			"TCP  10.0.0.1:80 none\n"},
		{"sctp fills the width", svc(func(s *rules.Service) { s.Protocol = rules.SCTP; s.Addr = netip.MustParseAddr("1.2.3.4"); s.Port = 1 }), ListOptions{},
			"SCTP 1.2.3.4:1 wlc\n"},
		{"unknown protocol", svc(func(s *rules.Service) { s.Protocol = 47 }), ListOptions{},
			"?    10.0.0.1:80 wlc\n"},
		{"fwmark 2^32-1", svc(func(s *rules.Service) { s.FWMark = 4294967295 }), ListOptions{},
			"FWM  -1 wlc\n"},
		{"ipv6 mask", svc(func(s *rules.Service) {
			s.Family, s.Addr, s.Flags, s.Timeout, s.Netmask = rules.IPv6, netip.MustParseAddr("2001:db8::1"), rules.FlagPersistent, 10, 48
		}), ListOptions{}, "TCP  [2001:db8::1]:80 wlc persistent 10 mask 48\n"},
		{"stats ipv6 pads", svc(func(s *rules.Service) { s.Family, s.Addr = rules.IPv6, netip.MustParseAddr("2001:db8::1") }), ListOptions{Stats: true},
			"TCP  [2001:db8::1]:80                    0        0        0        0        0\n"},
		{"stats from the 32-bit set when the 64-bit set is empty", svc(func(s *rules.Service) { s.Stats.Conns = 5 }), ListOptions{Stats: true},
			"TCP  10.0.0.1:80                         5        0        0        0        0\n"},
	}
	for _, tt := range tests {
		if got := string(appendServiceLine(nil, &tt.s, listFormatOf(tt.o), tt.o, nil)); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func TestListDestLines(t *testing.T) {
	s := rules.Service{ServiceKey: rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP,
		Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}, Scheduler: "wlc"}
	d := func(mod func(*rules.Destination)) rules.Destination {
		d := rules.Destination{Addr: netip.MustParseAddr("192.168.0.1"), Port: 80, Forward: rules.Route, Weight: 1}
		mod(&d)
		return d
	}
	tests := []struct {
		name string
		d    rules.Destination
		o    ListOptions
		want string
	}{
		{"unknown forward", d(func(d *rules.Destination) { d.Forward = 5 }), ListOptions{},
			"  -> 192.168.0.1:80               (null)  1      0          0         \n"},
		{"local", d(func(d *rules.Destination) { d.Forward = rules.Local; d.Weight = -1 }), ListOptions{},
			"  -> 192.168.0.1:80               Local   -1     0          0         \n"},
		{"persistent-conn weight %u", d(func(d *rules.Destination) { d.Weight = -1; d.PersistentConns = 7 }), ListOptions{PersistentConn: true},
			"  -> 192.168.0.1:80               4294967295 7           0          0         \n"},
		{"gue remote checksum", d(func(d *rules.Destination) {
			d.Forward, d.TunnelType, d.TunnelPort, d.TunnelFlags = rules.Tunnel, rules.TunnelGUE, 1, rules.TunnelRemoteChecksum
		}), ListOptions{TunInfo: true},
			"  -> 192.168.0.1:80               Tunnel  gue:1:r+c     1      0          0         \n"},
		{"gre checksum", d(func(d *rules.Destination) {
			d.Forward, d.TunnelType, d.TunnelFlags = rules.Tunnel, rules.TunnelGRE, rules.TunnelChecksum
		}), ListOptions{TunInfo: true},
			"  -> 192.168.0.1:80               Tunnel  gre:+c        1      0          0         \n"},
		// Verified with the Debian binary in the project VM, like the
		// next three.
		{"gre remote checksum", d(func(d *rules.Destination) {
			d.Forward, d.TunnelType, d.TunnelFlags = rules.Tunnel, rules.TunnelGRE, rules.TunnelRemoteChecksum
		}), ListOptions{TunInfo: true},
			"  -> 192.168.0.1:80               Tunnel  gre:r+c       1      0          0         \n"},
		{"gue flags 3, cut to 15", d(func(d *rules.Destination) {
			d.Forward, d.TunnelType, d.TunnelPort, d.TunnelFlags = rules.Tunnel, rules.TunnelGUE, 65535, 3
		}), ListOptions{TunInfo: true},
			"  -> 192.168.0.1:80               Tunnel  gue:65535:(null 1      0          0         \n"},
		{"gre flags 4", d(func(d *rules.Destination) {
			d.Forward, d.TunnelType, d.TunnelFlags = rules.Tunnel, rules.TunnelGRE, 4
		}), ListOptions{TunInfo: true},
			"  -> 192.168.0.1:80               Tunnel  gre:--tun-nocsu 1      0          0         \n"},
		{"ipip ignores flags", d(func(d *rules.Destination) {
			d.Forward, d.TunnelType, d.TunnelFlags = rules.Tunnel, rules.TunnelIPIP, 5
		}), ListOptions{TunInfo: true},
			"  -> 192.168.0.1:80               Tunnel  ipip          1      0          0         \n"},
		{"flags beyond the table", d(func(d *rules.Destination) {
			d.Forward, d.TunnelType, d.TunnelFlags = rules.Tunnel, rules.TunnelGRE, 9
		}), ListOptions{TunInfo: true},
			"  -> 192.168.0.1:80               Tunnel  gre:(null)    1      0          0         \n"},
		{"masq ignores the tunnel", d(func(d *rules.Destination) {
			d.Forward, d.TunnelType, d.TunnelFlags = rules.Masquerade, rules.TunnelGUE, 1
		}), ListOptions{TunInfo: true},
			"  -> 192.168.0.1:80               Masq    n/a           1      0          0         \n"},
		{"unknown tunnel type", d(func(d *rules.Destination) { d.Forward, d.TunnelType = rules.Tunnel, 7 }), ListOptions{TunInfo: true},
			"  -> 192.168.0.1:80               Tunnel  n/a           1      0          0         \n"},
		{"ipv6 dest of an ipv4 service is not cut", d(func(d *rules.Destination) {
			d.Family, d.Addr = rules.IPv6, netip.MustParseAddr("2001:db8:1234:5678:9abc:def0:1234:5678")
		}), ListOptions{},
			"  -> [2001:db8:1234:5678:9abc:def0:1234:5678]:80 Route   1      0          0         \n"},
		{"rate columns never abbreviated", d(func(d *rules.Destination) {
			d.Stats64 = rules.Stats{CPS: 1 << 32, InPPS: 4000000000, OutPPS: 123456789, InBPS: 5<<32 + 5, OutBPS: 1e9}
		}), ListOptions{Rate: true},
			"  -> 192.168.0.1:80                      0 4000000000 123456789        5    1000M\n"},
	}
	for _, tt := range tests {
		if got := string(appendDestLine(nil, &s, &tt.d, listFormatOf(tt.o), tt.o, nil)); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

// TestListTimeoutsDaemons reproduces reference §10.D (D1, D7).
func TestListTimeoutsDaemons(t *testing.T) {
	var buf bytes.Buffer
	WriteTimeouts(&buf, rules.Timeouts{TCP: 900, TCPFin: 120, UDP: 300})
	if got, want := buf.String(), "Timeout (tcp tcpfin udp): 900 120 300\n"; got != want {
		t.Errorf("timeouts: got %q, want %q", got, want)
	}

	buf.Reset()
	WriteDaemons(&buf, nil)
	if buf.Len() != 0 {
		t.Errorf("no daemons: got %q", buf.String())
	}
	WriteDaemons(&buf, []rules.Daemon{
		{State: rules.Master, Interface: "eth0", SyncID: 0, SyncMaxLen: 1472,
			Group: netip.MustParseAddr("224.0.0.81"), Port: 8848, TTL: 1},
		{State: rules.Backup, Interface: "eth0", SyncID: 9, SyncMaxLen: 1472,
			Group: netip.MustParseAddr("239.0.0.9"), Port: 9000, TTL: 2},
		{State: rules.Backup, Interface: "eth1", SyncID: 255},
		{State: rules.Master, Interface: "eth2", SyncID: 1, Group: netip.MustParseAddr("ff02::1:81")},
	})
	listCheckRef(t, buf.String(), `
master sync daemon (mcast=eth0, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)|
backup sync daemon (mcast=eth0, syncid=9, maxlen=1472, group=239.0.0.9, port=9000, ttl=2)|
backup sync daemon (mcast=eth1, syncid=255)|
master sync daemon (mcast=eth2, syncid=1, group=ff02::1:81)|
`, true)
}

// TestListLinesNoAllocs checks that numeric lines render without
// allocating, in every layout.
func TestListLinesNoAllocs(t *testing.T) {
	s := rules.Service{ServiceKey: rules.ServiceKey{Family: rules.IPv6, Protocol: rules.TCP,
		Addr: netip.MustParseAddr("2001:db8::1"), Port: 80}, Scheduler: "sh",
		Flags: rules.FlagPersistent | rules.FlagSched1 | rules.FlagOnePacket, Timeout: 300, Netmask: 64, PE: "sip"}
	d := rules.Destination{Family: rules.IPv4, Addr: netip.MustParseAddr("192.168.0.1"), Port: 80,
		Forward: rules.Tunnel, TunnelType: rules.TunnelGUE, TunnelPort: 6080, Weight: -1,
		DestinationCounters: rules.DestinationCounters{Stats64: rules.Stats{Conns: 1 << 40, InBytes: 1 << 50, CPS: 12345}}}
	buf := make([]byte, 0, 4096)
	r := testdataResolver(t) // not asked: the options are numeric
	for _, o := range []ListOptions{{Numeric: true}, {Numeric: true, Stats: true}, {Numeric: true, Rate: true},
		{Numeric: true, Thresholds: true}, {Numeric: true, PersistentConn: true}, {Numeric: true, TunInfo: true}} {
		f := listFormatOf(o)
		allocs := testing.AllocsPerRun(100, func() {
			b := appendServiceLine(buf[:0], &s, f, o, r)
			appendDestLine(b, &s, &d, f, o, r)
		})
		if allocs != 0 {
			t.Errorf("%+v: %v allocations", o, allocs)
		}
	}
}
