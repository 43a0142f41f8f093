package jsondoc

import (
	"bytes"
	"math/rand"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// randomEntries draws services and real servers of every kind the
// encoder distinguishes.
func randomEntries(rng *rand.Rand, n int) []rules.ServiceEntry {
	pick := func(s ...string) string { return s[rng.Intn(len(s))] }
	stats := func() rules.Stats {
		if rng.Intn(3) == 0 {
			return rules.Stats{}
		}
		return rules.Stats{Conns: rng.Uint64(), InPkts: rng.Uint64() >> 3, OutPkts: uint64(rng.Intn(9)), InBytes: 1<<64 - 1,
			OutBytes: rng.Uint64(), CPS: uint64(rng.Intn(5)), InPPS: rng.Uint64(), OutPPS: 0, InBPS: 7, OutBPS: rng.Uint64() >> 40}
	}
	var out []rules.ServiceEntry
	for i := 0; i < n; i++ {
		var s rules.Service
		switch rng.Intn(4) {
		case 0:
			s.ServiceKey = rules.ServiceKey{Family: rules.IPv4, FWMark: rng.Uint32() | 1}
			s.Netmask = rng.Uint32()
		case 1:
			s.ServiceKey = rules.ServiceKey{Family: rules.IPv6, FWMark: uint32(rng.Intn(100) + 1)}
			s.Netmask = uint32(rng.Intn(129))
		case 2:
			s.ServiceKey = rules.ServiceKey{Family: rules.IPv4, Protocol: []rules.Protocol{rules.TCP, rules.UDP, rules.SCTP, 99}[rng.Intn(4)],
				Addr: netip.AddrFrom4([4]byte{10, byte(i), 0, 1}), Port: uint16(rng.Intn(65536))}
			s.Netmask = []uint32{0xffffffff, 0xffffff00, 0, 0xff00ff00}[rng.Intn(4)]
		default:
			s.ServiceKey = rules.ServiceKey{Family: rules.IPv6, Protocol: rules.TCP, Addr: netip.MustParseAddr("2001:db8::" + pick("1", "ff:0:1", "")), Port: 443}
			s.Netmask = 128
		}
		s.Scheduler = pick("rr", "sh", "mh", "wlc", "we\"ird\\", "tab\there", "ünï", "")
		s.Flags = rules.ServiceFlags(rng.Uint32())
		s.Timeout = rng.Uint32()
		s.PE = pick("", "", "sip", "p\u2028e")
		s.Stats, s.Stats64 = stats(), stats()
		e := rules.ServiceEntry{Service: s}
		for j := rng.Intn(4); j > 0; j-- {
			d := rules.Destination{Addr: netip.MustParseAddr(pick("192.168.0.1", "2001:db8::5", "0.0.0.0")), Port: uint16(rng.Intn(65536)),
				Forward: []rules.ForwardMethod{rules.Masquerade, rules.Local, rules.Tunnel, rules.Route, 9}[rng.Intn(5)],
				Weight:  rng.Int31() - 1<<30, UpperThreshold: rng.Uint32(), LowerThreshold: rng.Uint32(),
				DestinationCounters: rules.DestinationCounters{ActiveConns: rng.Uint32(), InactiveConns: rng.Uint32(), PersistentConns: rng.Uint32()},
				TunnelType:          []rules.TunnelType{rules.TunnelIPIP, rules.TunnelGUE, rules.TunnelGRE, 7}[rng.Intn(4)], TunnelPort: uint16(rng.Intn(65536)),
				TunnelFlags: rules.TunnelFlags(rng.Intn(5))}
			if rng.Intn(3) > 0 {
				d.Family = rules.FamilyOf(d.Addr)
			}
			d.Stats, d.Stats64 = stats(), stats()
			e.Dests = append(e.Dests, d)
		}
		out = append(out, e)
	}
	return out
}

// TestAppendServicesIsEncodingJSON: WriteTable writes the bytes that
// encoding/json writes for the same document, compact and indented.
func TestAppendServicesIsEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	name := "lb0"
	for round := 0; round < 50; round++ {
		entries := randomEntries(rng, round*3)
		doc := &Document{SchemaVersion: SchemaVersion, Generator: Generator{Name: "ipvsadm", Version: "x<y>&", CompatibleWith: "1.31"},
			NetNS: NetNS{Name: &name, Path: "/run/netns/lb0", Inode: 4026531840}, IPVS: IPVS{Version: "1.2.1", VersionCode: 0x010201},
			Timeouts: TimeoutsOf(rules.Timeouts{TCP: 900}), Daemons: DaemonsOf(nil)}
		for _, pretty := range []bool{false, true} {
			var want, got bytes.Buffer
			full := *doc
			full.Services = Services(entries)
			require.NoError(t, Write(&want, &full, pretty))
			require.NoError(t, WriteTable(&got, doc, entries, pretty))
			require.Equal(t, want.String(), got.String(), "round %d pretty %v", round, pretty)
		}
	}
	// A large table is written in pieces, and stays one valid document.
	entries := randomEntries(rng, 2000)
	var got bytes.Buffer
	require.NoError(t, WriteTable(&got, &Document{SchemaVersion: SchemaVersion, Generator: Generator{Name: "ipvsadm", CompatibleWith: "1.31"}}, entries, false))
	require.Greater(t, got.Len(), 1<<20)
	var want bytes.Buffer
	require.NoError(t, Write(&want, &Document{SchemaVersion: SchemaVersion, Generator: Generator{Name: "ipvsadm", CompatibleWith: "1.31"}, Services: Services(entries)}, false))
	require.Equal(t, want.String(), got.String())
}
