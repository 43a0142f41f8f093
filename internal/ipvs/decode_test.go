package ipvs

import (
	"net/netip"
	"testing"

	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nlenc"
	"github.com/stretchr/testify/require"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// The decoders get replies straight from the kernel; a malformed one must
// be an error, never a panic or a silently misread field.

// svcMsg is a NEW_SERVICE message body with fn's attributes in the SERVICE
// nest.
func svcMsg(t *testing.T, fn func(ae *netlink.AttributeEncoder)) []byte {
	t.Helper()
	return attrs(t, func(ae *netlink.AttributeEncoder) { nest(ae, cmdAttrService, fn) })
}

// tcp4Attrs are the attributes of a minimal valid tcp4 service; cases
// append the attribute under test, which then overrides (decoders keep the
// last value) or breaks it.
func tcp4Attrs(extra func(ae *netlink.AttributeEncoder)) func(ae *netlink.AttributeEncoder) {
	return func(ae *netlink.AttributeEncoder) {
		keyAttrs(tcp4)(ae)
		ae.Bytes(svcAttrSchedName, []byte("rr\x00"))
		if extra != nil {
			extra(ae)
		}
	}
}

func Test_decodeServiceMessage(t *testing.T) {
	base := rules.Service{ServiceKey: tcp4, Scheduler: "rr"}
	with := func(fn func(s *rules.Service)) rules.Service {
		s := base
		fn(&s)
		return s
	}
	tests := []struct {
		name    string
		b       []byte
		want    rules.Service
		wantErr error // nil: any error will do when err is set
		err     bool
	}{
		{name: "minimal", b: svcMsg(t, tcp4Attrs(nil)), want: base},
		{
			// The kernel always sets HASHED in dumps.
			name: "HASHED stripped",
			b: svcMsg(t, tcp4Attrs(func(ae *netlink.AttributeEncoder) {
				ae.Bytes(svcAttrFlags, svcFlags(0x2|0x4|0x20))
			})),
			want: with(func(s *rules.Service) { s.Flags = rules.FlagOnePacket | rules.FlagSched3 }),
		},
		{
			name: "v4 netmask network order",
			b: svcMsg(t, tcp4Attrs(func(ae *netlink.AttributeEncoder) {
				ae.Bytes(svcAttrNetmask, mask4("255.255.240.0"))
			})),
			want: with(func(s *rules.Service) { s.Netmask = 0xfffff000 }),
		},
		{
			name: "v6 netmask host-order prefix",
			b: svcMsg(t, func(ae *netlink.AttributeEncoder) {
				keyAttrs(udp6)(ae)
				ae.Bytes(svcAttrNetmask, plen6(56))
			}),
			want: rules.Service{ServiceKey: udp6, Netmask: 56},
		},
		{
			name: "timeout and PE",
			b: svcMsg(t, tcp4Attrs(func(ae *netlink.AttributeEncoder) {
				ae.Bytes(svcAttrTimeout, nlenc.Uint32Bytes(86400))
				ae.Bytes(svcAttrPEName, []byte("sip\x00"))
			})),
			want: with(func(s *rules.Service) { s.Timeout, s.PE = 86400, "sip" }),
		},
		{
			name: "stats and stats64",
			b: svcMsg(t, tcp4Attrs(func(ae *netlink.AttributeEncoder) {
				nest(ae, svcAttrStats, stats32(rules.Stats{Conns: 0xffffffff, InBytes: 1<<64 - 1, OutBPS: 9}))
				nest(ae, svcAttrStats64, stats64(rules.Stats{Conns: 1 << 40, InPkts: 1<<64 - 1, OutBPS: 1 << 33}))
			})),
			want: with(func(s *rules.Service) {
				s.Stats = rules.Stats{Conns: 0xffffffff, InBytes: 1<<64 - 1, OutBPS: 9}
				s.Stats64 = rules.Stats{Conns: 1 << 40, InPkts: 1<<64 - 1, OutBPS: 1 << 33}
			}),
		},
		{
			// Counter ids a newer kernel may add are skipped.
			name: "unknown stats and service attributes",
			b: svcMsg(t, tcp4Attrs(func(ae *netlink.AttributeEncoder) {
				nest(ae, svcAttrStats64, func(ae *netlink.AttributeEncoder) {
					ae.Bytes(statsAttrConns, nlenc.Uint64Bytes(3))
					ae.Bytes(42, []byte{1, 2, 3})
				})
				ae.Bytes(99, []byte{1})
			})),
			want: with(func(s *rules.Service) { s.Stats64.Conns = 3 }),
		},
		{
			// fwmark services have no PROTOCOL, ADDR or PORT.
			name: "fwmark",
			b: svcMsg(t, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(svcAttrAF, nlenc.Uint16Bytes(10))
				ae.Bytes(svcAttrFWMark, nlenc.Uint32Bytes(100))
				ae.Bytes(svcAttrSchedName, []byte("wrr\x00"))
			}),
			want: rules.Service{ServiceKey: rules.ServiceKey{Family: rules.IPv6, FWMark: 100}, Scheduler: "wrr"},
		},
		{
			// The kernel zero-pads a short ADDR; so does the decoder.
			name: "short v6 address",
			b: svcMsg(t, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(svcAttrAF, nlenc.Uint16Bytes(10))
				ae.Bytes(svcAttrAddr, []byte{0x20, 0x01, 0x0d, 0xb8})
			}),
			want: rules.Service{ServiceKey: rules.ServiceKey{Family: rules.IPv6, Addr: netip.MustParseAddr("2001:db8::")}},
		},
		{
			name: "port of 3 bytes",
			b: svcMsg(t, tcp4Attrs(func(ae *netlink.AttributeEncoder) {
				ae.Bytes(svcAttrPort, []byte{0, 80, 0})
			})),
			err: true, wantErr: errMalformed,
		},
		{
			name: "address of 17 bytes",
			b: svcMsg(t, tcp4Attrs(func(ae *netlink.AttributeEncoder) {
				ae.Bytes(svcAttrAddr, make([]byte, 17))
			})),
			err: true, wantErr: errMalformed,
		},
		{
			name: "flags of 7 bytes",
			b: svcMsg(t, tcp4Attrs(func(ae *netlink.AttributeEncoder) {
				ae.Bytes(svcAttrFlags, svcFlags(1)[:7])
			})),
			err: true, wantErr: errMalformed,
		},
		{
			name: "netmask of 2 bytes",
			b: svcMsg(t, tcp4Attrs(func(ae *netlink.AttributeEncoder) {
				ae.Bytes(svcAttrNetmask, []byte{0xff, 0xff})
			})),
			err: true, wantErr: errMalformed,
		},
		{
			name: "counter of 5 bytes",
			b: svcMsg(t, tcp4Attrs(func(ae *netlink.AttributeEncoder) {
				nest(ae, svcAttrStats, func(ae *netlink.AttributeEncoder) {
					ae.Bytes(statsAttrInBytes, make([]byte, 5))
				})
			})),
			err: true, wantErr: errMalformed,
		},
		{
			name: "timeout of 2 bytes",
			b: svcMsg(t, tcp4Attrs(func(ae *netlink.AttributeEncoder) {
				ae.Bytes(svcAttrTimeout, []byte{1, 0})
			})),
			err: true,
		},
		{
			name: "fwmark of 2 bytes",
			b: svcMsg(t, tcp4Attrs(func(ae *netlink.AttributeEncoder) {
				ae.Bytes(svcAttrFWMark, []byte{1, 0})
			})),
			err: true,
		},
		{
			name: "family of 4 bytes",
			b: svcMsg(t, tcp4Attrs(func(ae *netlink.AttributeEncoder) {
				ae.Bytes(svcAttrAF, nlenc.Uint32Bytes(2))
			})),
			err: true,
		},
		{
			name: "unknown family",
			b: svcMsg(t, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(svcAttrAF, nlenc.Uint16Bytes(7))
				ae.Bytes(svcAttrAddr, inetAddr("10.0.0.1"))
			}),
			err: true, wantErr: errMalformed,
		},
		{
			name: "no family",
			b: svcMsg(t, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(svcAttrFWMark, nlenc.Uint32Bytes(1))
			}),
			err: true, wantErr: errMalformed,
		},
		{
			name: "missing SERVICE nest",
			b: attrs(t, func(ae *netlink.AttributeEncoder) {
				nest(ae, cmdAttrDest, keyAttrs(tcp4))
			}),
			err: true, wantErr: errMalformed,
		},
		{name: "empty", b: nil, err: true, wantErr: errMalformed},
		{name: "truncated attribute", b: svcMsg(t, tcp4Attrs(nil))[:10], err: true},
		{name: "attribute length past the end", b: []byte{0xff, 0x00, 0x01, 0x80}, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeServiceMessage(tt.b)
			if tt.err {
				require.Error(t, err)
				if tt.wantErr != nil {
					require.ErrorIs(t, err, tt.wantErr)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// destMsg is a NEW_DEST message body with fn's attributes in the DEST nest.
func destMsg(t *testing.T, fn func(ae *netlink.AttributeEncoder)) []byte {
	t.Helper()
	return attrs(t, func(ae *netlink.AttributeEncoder) { nest(ae, cmdAttrDest, fn) })
}

func Test_decodeDestinationMessage(t *testing.T) {
	a := netip.MustParseAddr
	tests := []struct {
		name    string
		b       []byte
		svc     rules.Family
		want    rules.Destination
		err     bool
		wantErr error
	}{
		{
			name: "all attributes",
			b: destMsg(t, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(destAttrAddr, inetAddr("10.1.2.3"))
				ae.Bytes(destAttrPort, nbo16(443))
				ae.Bytes(destAttrFwdMethod, nlenc.Uint32Bytes(2))
				ae.Bytes(destAttrWeight, nlenc.Uint32Bytes(0x7fffffff))
				ae.Bytes(destAttrUThresh, nlenc.Uint32Bytes(1000))
				ae.Bytes(destAttrLThresh, nlenc.Uint32Bytes(900))
				ae.Bytes(destAttrActiveConns, nlenc.Uint32Bytes(1))
				ae.Bytes(destAttrInactConns, nlenc.Uint32Bytes(2))
				ae.Bytes(destAttrPersistConns, nlenc.Uint32Bytes(3))
				nest(ae, destAttrStats, stats32(rules.Stats{InPkts: 4, OutBytes: 1 << 50}))
				ae.Bytes(destAttrAddrFamily, nlenc.Uint16Bytes(2))
				// As the kernel sends them: the 32-bit set is the 64-bit
				// one cut to 32 bits (bytes excepted).
				nest(ae, destAttrStats64, stats64(rules.Stats{InPkts: 1<<36 + 4, OutBytes: 1 << 50}))
				ae.Bytes(destAttrTunType, []byte{2})
				ae.Bytes(destAttrTunPort, nbo16(0x1234))
				ae.Bytes(destAttrTunFlags, nlenc.Uint16Bytes(1))
			}),
			svc: rules.IPv4,
			want: rules.Destination{Family: rules.IPv4, Addr: a("10.1.2.3"), Port: 443, Forward: rules.Tunnel,
				Weight: 0x7fffffff, UpperThreshold: 1000, LowerThreshold: 900,
				TunnelType: rules.TunnelGRE, TunnelPort: 0x1234, TunnelFlags: rules.TunnelChecksum,
				DestinationCounters: rules.DestinationCounters{ActiveConns: 1, InactiveConns: 2, PersistentConns: 3,
					Stats:   rules.Stats{InPkts: 4, OutBytes: 1 << 50},
					Stats64: rules.Stats{InPkts: 1<<36 + 4, OutBytes: 1 << 50}}},
		},
		{
			// Before 3.18 there is no ADDR_FAMILY: the service's applies.
			name: "no family, v6 service",
			b: destMsg(t, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(destAttrAddr, inetAddr("2001:db8::9"))
				ae.Bytes(destAttrPort, nbo16(80))
			}),
			svc:  rules.IPv6,
			want: rules.Destination{Family: rules.IPv6, Addr: a("2001:db8::9"), Port: 80},
		},
		{
			name: "v6 real server of a v4 service",
			b: destMsg(t, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(destAttrAddrFamily, nlenc.Uint16Bytes(10))
				ae.Bytes(destAttrAddr, inetAddr("2001:db8::9"))
			}),
			svc:  rules.IPv4,
			want: rules.Destination{Family: rules.IPv6, Addr: a("2001:db8::9")},
		},
		{
			// int32 weight travels as u32; the sign survives the trip.
			name: "negative weight",
			b: destMsg(t, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(destAttrAddr, inetAddr("10.0.0.9"))
				ae.Bytes(destAttrWeight, nlenc.Uint32Bytes(0xffffffff))
			}),
			svc:  rules.IPv4,
			want: rules.Destination{Family: rules.IPv4, Addr: a("10.0.0.9"), Weight: -1},
		},
		{
			name: "port of 3 bytes",
			b: destMsg(t, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(destAttrPort, []byte{1, 2, 3})
			}),
			svc: rules.IPv4, err: true, wantErr: errMalformed,
		},
		{
			name: "tunnel port of 1 byte",
			b: destMsg(t, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(destAttrTunPort, []byte{1})
			}),
			svc: rules.IPv4, err: true, wantErr: errMalformed,
		},
		{
			name: "address of 17 bytes",
			b: destMsg(t, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(destAttrAddr, make([]byte, 17))
			}),
			svc: rules.IPv6, err: true, wantErr: errMalformed,
		},
		{
			name: "counter of 5 bytes",
			b: destMsg(t, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(destAttrAddr, inetAddr("10.0.0.9"))
				nest(ae, destAttrStats64, func(ae *netlink.AttributeEncoder) {
					ae.Bytes(statsAttrOutPPS, make([]byte, 5))
				})
			}),
			svc: rules.IPv4, err: true, wantErr: errMalformed,
		},
		{
			name: "weight of 2 bytes",
			b: destMsg(t, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(destAttrWeight, []byte{1, 0})
			}),
			svc: rules.IPv4, err: true,
		},
		{
			name: "active conns of 8 bytes",
			b: destMsg(t, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(destAttrActiveConns, nlenc.Uint64Bytes(1))
			}),
			svc: rules.IPv4, err: true,
		},
		{
			name: "tunnel type of 2 bytes",
			b: destMsg(t, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(destAttrTunType, []byte{1, 0})
			}),
			svc: rules.IPv4, err: true,
		},
		{
			name: "unknown family",
			b: destMsg(t, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(destAttrAddrFamily, nlenc.Uint16Bytes(99))
				ae.Bytes(destAttrAddr, inetAddr("10.0.0.9"))
			}),
			svc: rules.IPv4, err: true, wantErr: errMalformed,
		},
		{
			name: "no family anywhere",
			b: destMsg(t, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(destAttrAddr, inetAddr("10.0.0.9"))
			}),
			svc: 0, err: true, wantErr: errMalformed,
		},
		{
			name: "missing DEST nest",
			b:    svcMsg(t, keyAttrs(tcp4)),
			svc:  rules.IPv4, err: true, wantErr: errMalformed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeDestinationMessage(tt.b, tt.svc)
			if tt.err {
				require.Error(t, err)
				if tt.wantErr != nil {
					require.ErrorIs(t, err, tt.wantErr)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func Test_decodeDaemonMessage(t *testing.T) {
	msg := func(fn func(ae *netlink.AttributeEncoder)) []byte {
		return attrs(t, func(ae *netlink.AttributeEncoder) { nest(ae, cmdAttrDaemon, fn) })
	}
	tests := []struct {
		name    string
		b       []byte
		want    rules.Daemon
		err     bool
		wantErr error
	}{
		{
			// Pre-4.3 kernels report only the first three.
			name: "minimal",
			b:    attrs(t, daemonNest(1, "eth0", 3, nil)),
			want: rules.Daemon{State: rules.Master, Interface: "eth0", SyncID: 3},
		},
		{
			// The group is network order, the port host order.
			name: "v4 group",
			b: attrs(t, daemonNest(2, "eth1", 4, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(daemonAttrSyncMaxLen, nlenc.Uint16Bytes(1500))
				ae.Bytes(daemonAttrMcastGroup, []byte{239, 0, 0, 1})
				ae.Bytes(daemonAttrMcastPort, nlenc.Uint16Bytes(0x2290))
				ae.Bytes(daemonAttrMcastTTL, []byte{255})
			})),
			want: rules.Daemon{State: rules.Backup, Interface: "eth1", SyncID: 4, SyncMaxLen: 1500,
				Group: netip.MustParseAddr("239.0.0.1"), Port: 0x2290, TTL: 255},
		},
		{
			name: "v6 group",
			b: attrs(t, daemonNest(1, "eth0", 0, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(daemonAttrMcastGrp6, inetAddr("ff02::81"))
			})),
			want: rules.Daemon{State: rules.Master, Interface: "eth0", Group: netip.MustParseAddr("ff02::81")},
		},
		{
			name: "v4 group of 16 bytes",
			b: msg(func(ae *netlink.AttributeEncoder) {
				ae.Bytes(daemonAttrMcastGroup, inetAddr("239.0.0.1"))
			}),
			err: true, wantErr: errMalformed,
		},
		{
			name: "v6 group of 4 bytes",
			b: msg(func(ae *netlink.AttributeEncoder) {
				ae.Bytes(daemonAttrMcastGrp6, []byte{0xff, 2, 0, 0})
			}),
			err: true, wantErr: errMalformed,
		},
		{
			name: "state of 2 bytes",
			b: msg(func(ae *netlink.AttributeEncoder) {
				ae.Bytes(daemonAttrState, []byte{1, 0})
			}),
			err: true,
		},
		{
			name: "port of 4 bytes",
			b: msg(func(ae *netlink.AttributeEncoder) {
				ae.Bytes(daemonAttrMcastPort, nlenc.Uint32Bytes(8848))
			}),
			err: true,
		},
		{
			name: "missing DAEMON nest",
			b:    attrs(t, func(ae *netlink.AttributeEncoder) { ae.Bytes(cmdAttrTimeoutTCP, nlenc.Uint32Bytes(1)) }),
			err:  true, wantErr: errMalformed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeDaemonMessage(tt.b)
			if tt.err {
				require.Error(t, err)
				if tt.wantErr != nil {
					require.ErrorIs(t, err, tt.wantErr)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func Test_decodeInfo(t *testing.T) {
	got, err := decodeInfo(attrs(t, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(infoAttrVersion, nlenc.Uint32Bytes(0x010201))
		ae.Bytes(infoAttrConnTableSize, nlenc.Uint32Bytes(1<<20))
		ae.Bytes(7, []byte{1}) // unknown ids are ignored
	}))
	require.NoError(t, err)
	require.Equal(t, rules.Info{Version: 0x010201, ConnTableSize: 1 << 20}, got)
	require.Equal(t, "1.2.1", got.VersionString())

	_, err = decodeInfo(attrs(t, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(infoAttrConnTableSize, []byte{0, 16})
	}))
	require.Error(t, err, "u32 of 2 bytes")
	_, err = decodeInfo([]byte{8, 0, 1})
	require.Error(t, err, "truncated header")
}

func Test_decodeTimeouts(t *testing.T) {
	got, err := decodeTimeouts(attrs(t, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(cmdAttrTimeoutTCP, nlenc.Uint32Bytes(900))
		ae.Bytes(cmdAttrTimeoutTCPFin, nlenc.Uint32Bytes(120))
		ae.Bytes(cmdAttrTimeoutUDP, nlenc.Uint32Bytes(300))
	}))
	require.NoError(t, err)
	require.Equal(t, rules.Timeouts{TCP: 900, TCPFin: 120, UDP: 300}, got)

	_, err = decodeTimeouts(attrs(t, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(cmdAttrTimeoutTCPFin, []byte{120, 0})
	}))
	require.Error(t, err, "u32 of 2 bytes")
}
