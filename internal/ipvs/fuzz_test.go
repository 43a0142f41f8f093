package ipvs

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nlenc"
	"github.com/stretchr/testify/require"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// Fuzz targets. The decoders must never panic on any reply; the codecs
// must read back what they write for every input the encoder accepts.
// Run one with: go test -run XXX -fuzz FuzzServiceCodec ./internal/ipvs

// encodeRequest runs a request encoder the way Client.execute does and
// returns the attributes it framed.
func encodeRequest(enc encoder) ([]byte, error) {
	b, err := frameRequest(&attrEncoder{}, nil, 0, 0, 0, 0, enc)
	if err != nil || enc == nil {
		return nil, err
	}
	return b[requestOverhead:], nil
}

// requireLocal asserts that err is one of the encoder's own refusals.
func requireLocal(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, errFamilyMismatch) && !errors.Is(err, errBadFamily) && !errors.Is(err, errNameTooLong) {
		t.Fatalf("encoder failed with a non-local error: %v", err)
	}
}

// addrOf makes an address from 4 or 16 fuzzed bytes, or the zero Addr.
func addrOf(b []byte) netip.Addr {
	switch len(b) {
	case 4:
		return netip.AddrFrom4([4]byte(b))
	case 16:
		return netip.AddrFrom16([16]byte(b))
	}
	return netip.Addr{}
}

// hasNUL reports names the round trip cannot hold for: a name travels
// NUL-terminated, so the kernel (and the decoder) stop at its first NUL.
// The encoder does not refuse such names; they cannot come from a command
// line.
func hasNUL(names ...string) bool {
	for _, s := range names {
		if strings.IndexByte(s, 0) >= 0 {
			return true
		}
	}
	return false
}

// decodeSeeds are valid replies of every kind, to start the decoders.
func decodeSeeds(f *testing.F) [][]byte {
	f.Helper()
	var seeds [][]byte
	for _, enc := range []encoder{
		encodeServiceAttr(rules.Service{ServiceKey: tcp4, Scheduler: "wlc", Netmask: 0xffffffff}),
		encodeServiceAttr(rules.Service{ServiceKey: udp6, Scheduler: "sh", Flags: 0x19, Timeout: 300, Netmask: 64, PE: "sip"}),
		encodeServiceAttr(rules.Service{ServiceKey: fwm4, Scheduler: "rr"}),
		encodeDestinationAttrs(tcp4, rules.Destination{Family: rules.IPv6, Addr: netip.MustParseAddr("2001:db8::1"),
			Port: 80, Forward: rules.Tunnel, Weight: -1, TunnelType: rules.TunnelGUE, TunnelPort: 6080, TunnelFlags: 3}, true),
		encodeDaemonAttr(rules.Daemon{State: rules.Master, Interface: "eth0", SyncID: 1, SyncMaxLen: 1472,
			Group: netip.MustParseAddr("239.1.1.1"), Port: 8848, TTL: 1}),
		encodeDaemonAttr(rules.Daemon{State: rules.Backup, Interface: "eth1", Group: netip.MustParseAddr("ff02::81")}),
		encodeTimeouts(rules.Timeouts{TCP: 900, TCPFin: 120, UDP: 300}),
	} {
		b, err := encodeRequest(enc)
		require.NoError(f, err)
		seeds = append(seeds, b)
	}
	// Dump replies carry the read-only attributes too.
	seeds = append(seeds, svcReplyTCP4(f).Data, attrs(f, func(ae *netlink.AttributeEncoder) {
		nest(ae, cmdAttrDest, func(ae *netlink.AttributeEncoder) {
			ae.Bytes(destAttrAddr, inetAddr("10.0.0.2"))
			ae.Bytes(destAttrActiveConns, nlenc.Uint32Bytes(1))
			nest(ae, destAttrStats, stats32(rules.Stats{Conns: 1, InBytes: 2}))
			nest(ae, destAttrStats64, stats64(rules.Stats{Conns: 1, InBytes: 2}))
		})
	}), attrs(f, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(infoAttrVersion, nlenc.Uint32Bytes(0x010201))
		ae.Bytes(infoAttrConnTableSize, nlenc.Uint32Bytes(4096))
	}), nil, []byte{4, 0, 1, 0}, []byte{0xff, 0xff, 0x01, 0x80})
	return seeds
}

func FuzzDecodeServiceMessage(f *testing.F) {
	for _, b := range decodeSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeServiceMessage(b)
		if err != nil {
			return
		}
		// What decodes is a service the rest of the program can use.
		require.Contains(t, []rules.Family{rules.IPv4, rules.IPv6}, s.Family)
		require.Zero(t, s.Flags&rules.FlagHashed)
		if s.IsFWMark() {
			require.False(t, s.Addr.IsValid())
			require.Zero(t, s.Port)
		} else {
			require.Equal(t, s.Family, rules.FamilyOf(s.Addr))
		}
	})
}

// FuzzDecodeServiceProcKey: the keys-only decoder of the confirming dump
// agrees with the full decoder on every message the full one accepts.
func FuzzDecodeServiceProcKey(f *testing.F) {
	for _, b := range decodeSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, kerr := decodeServiceProcKey(b)
		s, err := decodeServiceMessage(b)
		if err != nil {
			return
		}
		require.NoError(t, kerr)
		require.Equal(t, procKeyOf(s.ServiceKey), k)
	})
}

func FuzzDecodeDestinationMessage(f *testing.F) {
	for _, b := range decodeSeeds(f) {
		f.Add(b, uint16(rules.IPv4))
		f.Add(b, uint16(rules.IPv6))
	}
	f.Fuzz(func(t *testing.T, b []byte, svcFamily uint16) {
		d, err := decodeDestinationMessage(b, rules.Family(svcFamily))
		if err != nil {
			return
		}
		require.Contains(t, []rules.Family{rules.IPv4, rules.IPv6}, d.Family)
		require.Equal(t, d.Family, rules.FamilyOf(d.Addr))
		require.LessOrEqual(t, d.Forward, rules.ForwardMethod(7))
	})
}

func FuzzDecodeDaemonMessage(f *testing.F) {
	for _, b := range decodeSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeDaemonMessage(b)
	})
}

func FuzzDecodeInfoAndTimeouts(f *testing.F) {
	for _, b := range decodeSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeInfo(b)
		_, _ = decodeTimeouts(b)
	})
}

// FuzzServiceCodec: encode a service as NEW_SERVICE does, decode the
// SERVICE nest as a dump reply would be, and get the same service back.
func FuzzServiceCodec(f *testing.F) {
	f.Add(uint16(2), uint32(0), uint16(6), []byte{10, 0, 0, 1}, uint16(80), "wlc", uint32(0), uint32(0), uint32(0xffffffff), "")
	f.Add(uint16(10), uint32(0), uint16(17), netip.MustParseAddr("2001:db8::1").AsSlice(), uint16(53), "rr",
		uint32(rules.FlagPersistent|rules.FlagHashed), uint32(300), uint32(64), "sip")
	f.Add(uint16(2), uint32(7), uint16(0), []byte(nil), uint16(0), "sh", uint32(0x18), uint32(0), uint32(0xffffff00), "")
	f.Add(uint16(10), uint32(0xffffffff), uint16(132), []byte{1, 2, 3, 4}, uint16(1), "none", uint32(0xffffffff), uint32(1), uint32(128), "")
	f.Add(uint16(2), uint32(0), uint16(6), netip.MustParseAddr("::ffff:10.0.0.1").AsSlice(), uint16(80), "rr", uint32(0), uint32(0), uint32(0), "")
	f.Add(uint16(3), uint32(0), uint16(6), []byte{10, 0, 0, 1}, uint16(80), "abcdefghijklmnop", uint32(0), uint32(0), uint32(0), "")

	f.Fuzz(func(t *testing.T, family uint16, fwmark uint32, proto uint16, addr []byte, port uint16,
		sched string, flags, timeout, netmask uint32, pe string,
	) {
		if hasNUL(sched, pe) {
			return
		}
		s := rules.Service{
			ServiceKey: rules.ServiceKey{Family: rules.Family(family), FWMark: fwmark,
				Protocol: rules.Protocol(proto), Addr: addrOf(addr), Port: port},
			Scheduler: sched, Flags: rules.ServiceFlags(flags), Timeout: timeout, Netmask: netmask, PE: pe,
		}
		b, err := encodeRequest(encodeServiceAttr(s))
		if err != nil {
			requireLocal(t, err)
			return
		}
		got, err := decodeServiceMessage(b)
		require.NoError(t, err)

		// HASHED is never sent; a fwmark service has no address part.
		want := s
		want.Flags &^= rules.FlagHashed
		if want.IsFWMark() {
			want.Protocol, want.Addr, want.Port = 0, netip.Addr{}, 0
		}
		require.Equal(t, want, got)
	})
}

// FuzzDestinationCodec: encode NEW_DEST (or DEL_DEST) and decode both
// nests back.
func FuzzDestinationCodec(f *testing.F) {
	f.Add(uint16(2), uint32(0), []byte{10, 0, 0, 1}, uint16(0), []byte{192, 168, 1, 1}, uint16(80),
		uint32(0), int32(1), uint32(0), uint32(0), uint8(0), uint16(0), uint16(0), true)
	f.Add(uint16(2), uint32(0), []byte{10, 0, 0, 1}, uint16(10), netip.MustParseAddr("2001:db8::1").AsSlice(), uint16(80),
		uint32(2), int32(-1), uint32(100), uint32(10), uint8(1), uint16(6080), uint16(3), true)
	f.Add(uint16(10), uint32(5), []byte(nil), uint16(0), netip.MustParseAddr("2001:db8::2").AsSlice(), uint16(0),
		uint32(0xff), int32(0x7fffffff), uint32(0xffffffff), uint32(0), uint8(2), uint16(0), uint16(1), false)
	f.Add(uint16(10), uint32(0), netip.MustParseAddr("2001:db8::3").AsSlice(), uint16(0),
		netip.MustParseAddr("::ffff:1.2.3.4").AsSlice(), uint16(1), uint32(3), int32(0), uint32(0), uint32(0),
		uint8(9), uint16(1), uint16(0xffff), true)

	f.Fuzz(func(t *testing.T, svcFamily uint16, fwmark uint32, svcAddr []byte, family uint16, addr []byte,
		port uint16, fwd uint32, weight int32, uthresh, lthresh uint32, tunType uint8, tunPort, tunFlags uint16,
		full bool,
	) {
		key := rules.ServiceKey{Family: rules.Family(svcFamily), FWMark: fwmark, Protocol: rules.TCP,
			Addr: addrOf(svcAddr), Port: 80}
		d := rules.Destination{Family: rules.Family(family), Addr: addrOf(addr), Port: port,
			Forward: rules.ForwardMethod(fwd), Weight: weight, UpperThreshold: uthresh, LowerThreshold: lthresh,
			TunnelType: rules.TunnelType(tunType), TunnelPort: tunPort, TunnelFlags: rules.TunnelFlags(tunFlags)}
		b, err := encodeRequest(encodeDestinationAttrs(key, d, full))
		if err != nil {
			requireLocal(t, err)
			return
		}

		gotKey, err := decodeKeyOnly(b)
		require.NoError(t, err)
		wantKey := key
		if wantKey.IsFWMark() {
			wantKey.Protocol, wantKey.Addr, wantKey.Port = 0, netip.Addr{}, 0
		}
		require.Equal(t, wantKey, gotKey)

		got, err := decodeDestinationMessage(b, key.Family)
		require.NoError(t, err)
		want := rules.Destination{Family: d.Family, Addr: d.Addr, Port: d.Port}
		if want.Family == 0 {
			want.Family = key.Family // ADDR_FAMILY is always sent
		}
		if full {
			// Only the forwarding bits survive (IP_VS_CONN_F_FWD_MASK).
			want.Forward = d.Forward & 7
			want.Weight, want.UpperThreshold, want.LowerThreshold = d.Weight, d.UpperThreshold, d.LowerThreshold
			want.TunnelType, want.TunnelPort, want.TunnelFlags = d.TunnelType, d.TunnelPort, d.TunnelFlags
		}
		require.Equal(t, want, got)
	})
}

// decodeKeyOnly decodes the SERVICE nest of a destination request.
func decodeKeyOnly(b []byte) (rules.ServiceKey, error) {
	s, err := decodeServiceMessage(b)
	return s.ServiceKey, err
}

// FuzzDaemonCodec: encode NEW_DAEMON and decode it as a GET_DAEMON reply.
func FuzzDaemonCodec(f *testing.F) {
	f.Add(uint32(1), "eth0", uint32(0), uint16(0), []byte(nil), uint16(0), uint8(0))
	f.Add(uint32(2), "eth1", uint32(7), uint16(1472), []byte{239, 1, 2, 3}, uint16(8849), uint8(3))
	f.Add(uint32(1), "bond0.100", uint32(0xffffffff), uint16(0xffff), netip.MustParseAddr("ff02::81").AsSlice(), uint16(1), uint8(255))
	f.Add(uint32(3), "abcdefghijklmno", uint32(1), uint16(1), netip.MustParseAddr("::ffff:239.0.0.1").AsSlice(), uint16(0), uint8(1))

	f.Fuzz(func(t *testing.T, state uint32, ifn string, syncID uint32, maxLen uint16, group []byte, port uint16, ttl uint8) {
		if hasNUL(ifn) {
			return
		}
		d := rules.Daemon{State: rules.SyncState(state), Interface: ifn, SyncID: syncID, SyncMaxLen: maxLen,
			Group: addrOf(group), Port: port, TTL: ttl}
		b, err := encodeRequest(encodeDaemonAttr(d))
		if err != nil {
			requireLocal(t, err)
			return
		}
		got, err := decodeDaemonMessage(b)
		require.NoError(t, err)
		require.Equal(t, d, got)
	})
}
