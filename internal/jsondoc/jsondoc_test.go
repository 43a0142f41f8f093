package jsondoc

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ipvsadm-go/ipvsadm/internal/render"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/testkit"
)

func TestParseConnection(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Connection
		ok   bool
	}{
		{"TCP C0A80064 D431 0A000001 0050 C0A80002 0050 ESTABLISHED     899", Connection{Protocol: "tcp", ClientAddress: "192.168.0.100", ClientPort: 54321,
			VirtualAddress: "10.0.0.1", VirtualPort: 80, RealAddress: "192.168.0.2", RealPort: 80, State: "ESTABLISHED", ExpiresInSeconds: 899}, true},
		{"IP  C0A80064 0000 00000007 0000 C0A80002 0000 NONE            360", Connection{Protocol: "ip", Template: true, ClientAddress: "192.168.0.100",
			VirtualAddress: "0.0.0.7", RealAddress: "192.168.0.2", State: "NONE", ExpiresInSeconds: 360}, true},
		// An IPv4 service with an IPv6 (tunnelled) real server.
		{"UDP C0A80064 1000 0A000001 0035 2001:0db8:0000:0000:0000:0000:0000:0003 0035 UDP 10", Connection{Protocol: "udp", ClientAddress: "192.168.0.100", ClientPort: 4096,
			VirtualAddress: "10.0.0.1", VirtualPort: 53, RealAddress: "2001:db8::3", RealPort: 53, State: "UDP", ExpiresInSeconds: 10}, true},
		{"UDP 0A000064 13C4 0A000001 13C4 0A000003 13C4 UDP 100 sip", Connection{Protocol: "udp", ClientAddress: "10.0.0.100", ClientPort: 5060,
			VirtualAddress: "10.0.0.1", VirtualPort: 5060, RealAddress: "10.0.0.3", RealPort: 5060, State: "UDP", ExpiresInSeconds: 100,
			PersistenceEngine: ptr("sip"), PersistenceData: ptr("")}, true},
		{"", Connection{}, false},
		{"TCP C0A80064 D431 0A000001 0050 C0A80002 0050 ESTABLISHED", Connection{}, false},
		{"TCP C0A8006 D431 0A000001 0050 C0A80002 0050 ESTABLISHED 1", Connection{}, false},
		{"TCP C0A80064 D4310 0A000001 0050 C0A80002 0050 ESTABLISHED 1", Connection{}, false},
		{"TCP C0A80064 D431 0A000001 0050 C0A80002 0050 ESTABLISHED -1", Connection{}, false},
	} {
		got, ok := ParseConnection(tc.line)
		require.Equal(t, tc.ok, ok, tc.line)
		if ok {
			require.Equal(t, tc.want, got, tc.line)
		}
	}
}

const connHeader = "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"

func TestStreamAndCount(t *testing.T) {
	proc := connHeader +
		"TCP C0A80064 D431 0A000001 0050 C0A80002 0050 ESTABLISHED     899\n" +
		"garbage\n" +
		"TCP C0A80065 D431 0A000002 0050 C0A80002 0050 SYN_RECV     10\n"
	var out bytes.Buffer
	ok, err := StreamConnections(&out, strings.NewReader(proc), render.ConnFilter{Virtual: netip.MustParseAddrPort("10.0.0.2:80")})
	require.True(t, ok)
	require.NoError(t, err)
	testkit.ValidateJSONLines(t, "connection", out.Bytes())
	require.Equal(t, 1, strings.Count(out.String(), "\n"))
	require.Contains(t, out.String(), `"state":"SYN_RECV"`)

	ok, _ = StreamConnections(&out, strings.NewReader(""), render.ConnFilter{})
	require.False(t, ok)
	cc, ok := CountConnections(strings.NewReader(proc), render.ConnFilter{State: "established"})
	require.True(t, ok)
	require.Equal(t, ConnectionCount{Total: 1, ByState: map[string]uint64{"ESTABLISHED": 1}, ByProtocol: map[string]uint64{"tcp": 1}}, cc)
}

// TestServicesRoundTrip: what Services writes, Entries reads back with the
// same settings.
func TestServicesRoundTrip(t *testing.T) {
	entries := []rules.ServiceEntry{
		{Service: rules.Service{ServiceKey: rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80},
			Scheduler: "sh", Flags: rules.FlagPersistent | rules.FlagSched2, Timeout: 300, Netmask: 0xff00ff00,
			ServiceCounters: rules.ServiceCounters{Stats64: rules.Stats{Conns: 1 << 60, InBytes: 1<<64 - 1, OutBPS: 7}}},
			Dests: []rules.Destination{
				{Family: rules.IPv4, Addr: netip.MustParseAddr("192.168.0.1"), Port: 80, Forward: rules.Masquerade, Weight: 2, UpperThreshold: 9, LowerThreshold: 3},
				{Family: rules.IPv6, Addr: netip.MustParseAddr("2001:db8::1"), Port: 80, Forward: rules.Tunnel, Weight: 1,
					TunnelType: rules.TunnelGUE, TunnelPort: 6080, TunnelFlags: rules.TunnelRemoteChecksum},
			}},
		{Service: rules.Service{ServiceKey: rules.ServiceKey{Family: rules.IPv6, FWMark: 4294967295}, Scheduler: "none", Netmask: 96, PE: "sip",
			Flags: rules.FlagPersistent | rules.FlagOnePacket, Timeout: 1}},
	}
	doc := &Document{SchemaVersion: SchemaVersion, Generator: Generator{Name: "ipvsadm", CompatibleWith: "1.31"}, IPVS: IPVS{Version: "1.2.1"},
		Services: Services(entries), Timeouts: TimeoutsOf(rules.Timeouts{TCP: 1, TCPFin: 2, UDP: 3}), Daemons: DaemonsOf(nil)}
	var b bytes.Buffer
	require.NoError(t, Write(&b, doc, false))
	testkit.ValidateJSON(t, "", b.Bytes())
	require.Contains(t, b.String(), `"in_bytes":18446744073709551615`)
	require.Contains(t, b.String(), `"connections":1152921504606846976`)
	require.Contains(t, b.String(), `"netmask":"255.0.255.0","prefix_length":null`)

	back, err := Decode(&b)
	require.NoError(t, err)
	got, err := back.Entries()
	require.NoError(t, err)
	require.Len(t, got, len(entries))
	for i := range entries {
		require.Equal(t, entries[i].Service.Settings(), got[i].Service)
		require.Len(t, got[i].Dests, len(entries[i].Dests))
		for j := range entries[i].Dests {
			require.Equal(t, entries[i].Dests[j].Settings(), got[i].Dests[j])
		}
	}
	ts, ok := back.TimeoutsSetting()
	require.True(t, ok)
	require.Equal(t, rules.Timeouts{TCP: 1, TCPFin: 2, UDP: 3}, ts)
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct{ doc, msg string }{
		{``, "not a JSON document"},
		{`{"schema_version":1} {}`, "more than one JSON document"},
		{`[1]`, "not an ipvsadm document"},
		{`{}`, "no schema_version"},
		{`{"schema_version":2}`, "schema_version 2 is not supported (this ipvsadm reads 1)"},
		{`{"schema_version":1,"services":[{"family":"inet6"}]}`, "services[0].fwmark: a service has either a fwmark or protocol, address and port"},
		{`{"schema_version":1,"services":[{"family":"inet","fwmark":1,"scheduler":"rr","netmask":"1.2.3"}]}`, `services[0].netmask: "1.2.3" is not an IPv4 netmask`},
		{`{"schema_version":1,"services":[{"family":"inet","fwmark":1,"scheduler":"rr","sched_flags":["sh-port"],"netmask":"1.2.3.4"}]}`, "services[0].sched_flags: incompatible scheduler flag `sh-port'"},
		{`{"schema_version":1,"services":[{"family":"inet6","fwmark":1,"scheduler":"rr","prefix_length":0}]}`, "services[0].prefix_length: an IPv6 service needs a prefix length of 1 to 128"},
		{`{"schema_version":1,"services":[{"family":"inet","fwmark":1,"scheduler":"rr","netmask":"1.2.3.4","real_servers":[{"family":"inet","address":"::1"}]}]}`, `services[0].real_servers[0].address: "::1" is not a numeric inet address`},
	} {
		d, err := Decode(strings.NewReader(tc.doc))
		if err == nil {
			_, err = d.Entries()
		}
		require.Error(t, err, tc.doc)
		require.Contains(t, err.Error(), tc.msg, tc.doc)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(`{"schema_version":1,"services":[{"family":"inet","protocol":"tcp","address":"1.2.3.4","port":80,"scheduler":"rr","netmask":"255.255.255.255","real_servers":[{"family":"inet","address":"1.2.3.5","port":80,"forwarding":"tunnel","weight":1,"tunnel":{"type":"gue","port":1,"checksum":"none"}}]}]}`)
	f.Add(`{"schema_version":1,"timeouts":{"tcp_seconds":1}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		d, err := Decode(strings.NewReader(doc))
		if err != nil {
			return
		}
		entries, err := d.Entries()
		if err != nil {
			return
		}
		// What was accepted writes back to a document that reads the same.
		var b bytes.Buffer
		if err := Write(&b, &Document{SchemaVersion: SchemaVersion, Services: Services(entries)}, false); err != nil {
			t.Fatal(err)
		}
		d2, err := Decode(&b)
		if err != nil {
			t.Fatal(err)
		}
		again, err := d2.Entries()
		if err != nil {
			t.Fatalf("%v\n%s", err, b.String())
		}
		if len(again) != len(entries) {
			t.Fatal("services lost")
		}
		for i := range entries {
			if entries[i].Service != again[i].Service {
				t.Fatalf("service %d: %+v != %+v", i, entries[i].Service, again[i].Service)
			}
		}
	})
}

func FuzzParseConnection(f *testing.F) {
	f.Add("TCP C0A80064 D431 0A000001 0050 C0A80002 0050 ESTABLISHED     899")
	f.Add("UDP 2001:0db8:0000:0000:0000:0000:0000:0064 13C4 2001:0db8::1 13C4 ::ffff:1.2.3.4 13C4 UDP 100 sip 6162")
	f.Fuzz(func(t *testing.T, line string) {
		c, ok := ParseConnection(line)
		if !ok {
			return
		}
		for _, a := range []string{c.ClientAddress, c.VirtualAddress, c.RealAddress} {
			if _, err := netip.ParseAddr(a); err != nil {
				t.Fatalf("%q: address %q", line, a)
			}
		}
	})
}
