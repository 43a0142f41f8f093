package rules

import (
	"errors"
	"net/netip"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

var (
	tcp80  = ServiceKey{Family: IPv4, Protocol: TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	udp53  = ServiceKey{Family: IPv4, Protocol: UDP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 53}
	tcp6   = ServiceKey{Family: IPv6, Protocol: TCP, Addr: netip.MustParseAddr("2001:db8::1"), Port: 80}
	fwm4   = ServiceKey{Family: IPv4, FWMark: 7}
	fwm6   = ServiceKey{Family: IPv6, FWMark: 7}
	rs1    = netip.MustParseAddr("192.168.1.1")
	rs2    = netip.MustParseAddr("192.168.1.2")
	rs6    = netip.MustParseAddr("2001:db8:1::1")
	syncIf = "sync0"
)

func svcOf(k ServiceKey, sched string) Service {
	s := Service{ServiceKey: k, Scheduler: sched, Netmask: 0xffffffff}
	if k.Family == IPv6 {
		s.Netmask = 128
	}
	return s
}

func destOf(a netip.Addr, port uint16, fwd ForwardMethod) Destination {
	return Destination{Family: FamilyOf(a), Addr: a, Port: port, Forward: fwd, Weight: 1}
}

func addSvc(s Service) Change    { return Change{Op: OpAddService, Service: s} }
func editSvc(s Service) Change   { return Change{Op: OpEditService, Service: s} }
func delSvc(k ServiceKey) Change { return Change{Op: OpDelService, Service: Service{ServiceKey: k}} }
func addDst(k ServiceKey, d Destination) Change {
	return Change{Op: OpAddDest, Service: Service{ServiceKey: k}, Dest: d}
}
func editDst(k ServiceKey, d Destination) Change {
	return Change{Op: OpEditDest, Service: Service{ServiceKey: k}, Dest: d}
}
func delDst(k ServiceKey, d Destination) Change {
	return Change{Op: OpDelDest, Service: Service{ServiceKey: k}, Dest: d}
}
func startD(d Daemon) Change      { return Change{Op: OpStartDaemon, Daemon: d} }
func stopD(s SyncState) Change    { return Change{Op: OpStopDaemon, Daemon: Daemon{State: s}} }
func setTO(to Timeouts) Change    { return Change{Op: OpSetTimeouts, Timeouts: to} }
func zeroSvc(k ServiceKey) Change { return Change{Op: OpZeroService, Service: Service{ServiceKey: k}} }

func withSvc(s Service, fn func(*Service)) Service             { fn(&s); return s }
func withDst(d Destination, fn func(*Destination)) Destination { fn(&d); return d }

// modelTable is a fresh table with a sync interface, after setup.
func modelTable(t *testing.T, setup ...Change) *Table {
	t.Helper()
	tb := NewTable()
	tb.Env.Links[syncIf] = Link{MTU: 1500}
	for _, c := range setup {
		require.NoError(t, tb.Apply(c), "setup: %s", c)
	}
	return tb
}

// tableState is everything a Table lists, for comparisons that do not
// care how it is kept.
type tableState struct {
	Entries  []ServiceEntry
	Timeouts Timeouts
	Daemons  []Daemon
}

func stateOf(tb *Table) tableState {
	return tableState{tb.Entries(), tb.Timeouts(), tb.Daemons()}
}

func TestTableApply(t *testing.T) {
	rr80 := svcOf(tcp80, "rr")
	d1 := destOf(rs1, 80, Masquerade)
	tun6 := destOf(rs6, 80, Tunnel)
	master := Daemon{State: Master, Interface: syncIf, SyncID: 1}
	tests := []struct {
		name   string
		setup  []Change
		change Change
		err    error // an errno, ErrNotSendable or nil
		// want is the table after the change, when it succeeds (nil:
		// not checked); on error the table must not change.
		want  []ServiceEntry
		check func(t *testing.T, tb *Table)
	}{
		{name: "add service", change: addSvc(rr80), want: []ServiceEntry{{Service: rr80}}},
		{name: "add existing service", setup: []Change{addSvc(rr80)}, change: addSvc(svcOf(tcp80, "wlc")), err: syscall.EEXIST},
		{name: "exists beats unknown scheduler", setup: []Change{addSvc(rr80)}, change: addSvc(svcOf(tcp80, "nosuch")), err: syscall.EEXIST},
		{name: "unknown scheduler", change: addSvc(svcOf(tcp80, "nosuch")), err: syscall.ENOENT},
		{name: "empty scheduler", change: addSvc(svcOf(tcp80, "")), err: syscall.ENOENT},
		{name: "no scheduler", change: addSvc(svcOf(tcp80, "none")), want: []ServiceEntry{{Service: svcOf(tcp80, "none")}}},
		{name: "unknown persistence engine", change: addSvc(withSvc(rr80, func(s *Service) { s.PE = "ftp" })), err: syscall.ENOENT},
		{name: "sip", change: addSvc(withSvc(rr80, func(s *Service) { s.PE = "sip" }))},
		{name: "ipv6 prefix 0", change: addSvc(withSvc(svcOf(tcp6, "rr"), func(s *Service) { s.Netmask = 0 })), err: syscall.EINVAL},
		{name: "ipv6 prefix 129", change: addSvc(withSvc(svcOf(fwm6, "rr"), func(s *Service) { s.Netmask = 129 })), err: syscall.EINVAL},
		{name: "ipv4 netmask unchecked", change: addSvc(withSvc(rr80, func(s *Service) { s.Netmask = 0x0f0f0f0f }))},
		{name: "scheduler name too long", change: addSvc(svcOf(tcp80, "abcdefghijklmnop")), err: ErrNotSendable},
		{name: "scheduler name with NUL", change: addSvc(svcOf(tcp80, "r\x00r")), err: ErrNotSendable},
		{name: "address of another family", change: addSvc(svcOf(ServiceKey{Family: IPv4, Protocol: TCP, Addr: rs6, Port: 80}, "rr")), err: ErrNotSendable},
		{name: "fwmark of no family", change: addSvc(svcOf(ServiceKey{Family: 7, FWMark: 1}, "rr")), err: ErrNotSendable},
		{
			name: "timeout through jiffies", change: addSvc(withSvc(rr80, func(s *Service) { s.Timeout = 17179870 })),
			want: []ServiceEntry{{Service: withSvc(rr80, func(s *Service) { s.Timeout = 0 })}},
		},
		{
			name: "hashed flag dropped", change: addSvc(withSvc(rr80, func(s *Service) { s.Flags = FlagHashed | FlagPersistent | 0x40 })),
			want: []ServiceEntry{{Service: withSvc(rr80, func(s *Service) { s.Flags = FlagPersistent | 0x40 })}},
		},
		{
			name:   "fwmark service is family and mark",
			change: addSvc(svcOf(ServiceKey{Family: IPv4, FWMark: 7, Protocol: UDP, Addr: rs1, Port: 9}, "rr")),
			want:   []ServiceEntry{{Service: svcOf(fwm4, "rr")}},
		},
		{name: "same mark, other family", setup: []Change{addSvc(svcOf(fwm4, "rr"))}, change: addSvc(svcOf(fwm6, "rr"))},
		{name: "counters ignored", change: addSvc(withSvc(rr80, func(s *Service) { s.Stats.Conns = 5 })), want: []ServiceEntry{{Service: rr80}}},

		{name: "edit missing service", change: editSvc(rr80), err: syscall.ESRCH},
		{
			name: "edit replaces all", setup: []Change{addSvc(withSvc(rr80, func(s *Service) { s.PE, s.Flags = "sip", FlagPersistent }))},
			change: editSvc(svcOf(tcp80, "wlc")), want: []ServiceEntry{{Service: svcOf(tcp80, "wlc")}},
		},
		{name: "edit to unknown scheduler", setup: []Change{addSvc(rr80)}, change: editSvc(svcOf(tcp80, "nosuch")), err: syscall.ENOENT},
		{name: "edit to bad prefix", setup: []Change{addSvc(svcOf(tcp6, "rr"))}, change: editSvc(withSvc(svcOf(tcp6, "rr"), func(s *Service) { s.Netmask = 200 })), err: syscall.EINVAL},
		{name: "delete missing service", change: delSvc(tcp80), err: syscall.ESRCH},
		{name: "delete service", setup: []Change{addSvc(rr80), addDst(tcp80, d1)}, change: delSvc(tcp80), want: []ServiceEntry{}},
		{name: "delete fwmark by junk key", setup: []Change{addSvc(svcOf(fwm4, "rr"))}, change: delSvc(ServiceKey{Family: IPv4, FWMark: 7, Port: 1}), want: []ServiceEntry{}},

		{name: "add dest", setup: []Change{addSvc(rr80)}, change: addDst(tcp80, d1), want: []ServiceEntry{{Service: rr80, Dests: []Destination{d1}}}},
		{name: "add dest to missing service", change: addDst(tcp80, d1), err: syscall.ESRCH},
		{name: "add existing dest", setup: []Change{addSvc(rr80), addDst(tcp80, d1)}, change: addDst(tcp80, withDst(d1, func(d *Destination) { d.Weight = 9 })), err: syscall.EEXIST},
		{
			name: "same address other port", setup: []Change{addSvc(rr80), addDst(tcp80, d1)}, change: addDst(tcp80, destOf(rs1, 81, Route)),
			want: []ServiceEntry{{Service: rr80, Dests: []Destination{destOf(rs1, 81, Route), d1}}},
		},
		{
			name: "family filled in", setup: []Change{addSvc(rr80)}, change: addDst(tcp80, Destination{Addr: rs1, Port: 80, Weight: 1}),
			want: []ServiceEntry{{Service: rr80, Dests: []Destination{d1}}},
		},
		{name: "negative weight", setup: []Change{addSvc(rr80)}, change: addDst(tcp80, withDst(d1, func(d *Destination) { d.Weight = -1 })), err: syscall.ERANGE},
		{name: "lower above upper", setup: []Change{addSvc(rr80)}, change: addDst(tcp80, withDst(d1, func(d *Destination) { d.UpperThreshold, d.LowerThreshold = 5, 6 })), err: syscall.ERANGE},
		{name: "lower without upper", setup: []Change{addSvc(rr80)}, change: addDst(tcp80, withDst(d1, func(d *Destination) { d.LowerThreshold = 1 })), err: syscall.ERANGE},
		{name: "range beats exists", setup: []Change{addSvc(rr80), addDst(tcp80, d1)}, change: addDst(tcp80, withDst(d1, func(d *Destination) { d.Weight = -1 })), err: syscall.ERANGE},
		{name: "gue without port", setup: []Change{addSvc(rr80)}, change: addDst(tcp80, withDst(d1, func(d *Destination) { d.TunnelType = TunnelGUE })), err: syscall.EINVAL},
		{
			name: "tunnel options kept for any method", setup: []Change{addSvc(rr80)},
			change: addDst(tcp80, withDst(d1, func(d *Destination) { d.TunnelType, d.TunnelPort, d.TunnelFlags = TunnelGUE, 6080, TunnelChecksum })),
		},
		{
			name: "forward method masked", setup: []Change{addSvc(rr80)}, change: addDst(tcp80, withDst(d1, func(d *Destination) { d.Forward = 9 })),
			want: []ServiceEntry{{Service: rr80, Dests: []Destination{withDst(d1, func(d *Destination) { d.Forward = Local })}}},
		},
		{name: "0.0.0.0", setup: []Change{addSvc(rr80)}, change: addDst(tcp80, destOf(netip.MustParseAddr("0.0.0.0"), 80, Route)), err: syscall.EINVAL},
		{name: "rest of 0/8", setup: []Change{addSvc(rr80)}, change: addDst(tcp80, destOf(netip.MustParseAddr("0.1.2.3"), 80, Route))},
		{name: "multicast", setup: []Change{addSvc(rr80)}, change: addDst(tcp80, destOf(netip.MustParseAddr("224.0.0.1"), 80, Route)), err: syscall.EINVAL},
		{name: "limited broadcast", setup: []Change{addSvc(rr80)}, change: addDst(tcp80, destOf(netip.MustParseAddr("255.255.255.255"), 80, Route)), err: syscall.EINVAL},
		{name: "ipv6 link-local", setup: []Change{addSvc(svcOf(tcp6, "rr"))}, change: addDst(tcp6, destOf(netip.MustParseAddr("fe80::1"), 80, Route)), err: syscall.EINVAL},
		{name: "ipv6 multicast", setup: []Change{addSvc(svcOf(tcp6, "rr"))}, change: addDst(tcp6, destOf(netip.MustParseAddr("ff02::1"), 80, Route)), err: syscall.EINVAL},
		{name: "ipv4-mapped", setup: []Change{addSvc(svcOf(tcp6, "rr"))}, change: addDst(tcp6, destOf(netip.MustParseAddr("::ffff:1.2.3.4"), 80, Route)), err: syscall.EINVAL},
		{name: "ipv6 loopback", setup: []Change{addSvc(svcOf(tcp6, "rr"))}, change: addDst(tcp6, destOf(netip.IPv6Loopback(), 80, Route))},
		{name: "dest address of another family", setup: []Change{addSvc(rr80)}, change: addDst(tcp80, Destination{Family: IPv4, Addr: rs6, Weight: 1}), err: ErrNotSendable},
		{name: "mixed family without tunnel", setup: []Change{addSvc(rr80)}, change: addDst(tcp80, destOf(rs6, 80, Route)), err: syscall.EINVAL},
		{name: "mixed family beats range", setup: []Change{addSvc(rr80)}, change: addDst(tcp80, withDst(destOf(rs6, 80, Route), func(d *Destination) { d.Weight = -1 })), err: syscall.EINVAL},
		{name: "mixed family tunnel", setup: []Change{addSvc(rr80)}, change: addDst(tcp80, tun6), want: []ServiceEntry{{Service: rr80, Dests: []Destination{tun6}}}},
		{name: "mixed family while syncing", setup: []Change{addSvc(rr80), startD(master)}, change: addDst(tcp80, tun6), err: syscall.EINVAL},

		{name: "edit missing dest", setup: []Change{addSvc(rr80)}, change: editDst(tcp80, d1), err: syscall.ENOENT},
		{name: "edit dest of missing service", change: editDst(tcp80, d1), err: syscall.ESRCH},
		{name: "edit dest range", setup: []Change{addSvc(rr80), addDst(tcp80, d1)}, change: editDst(tcp80, withDst(d1, func(d *Destination) { d.Weight = -5 })), err: syscall.ERANGE},
		{name: "range beats missing", setup: []Change{addSvc(rr80)}, change: editDst(tcp80, withDst(d1, func(d *Destination) { d.Weight = -5 })), err: syscall.ERANGE},
		{
			name: "edit dest", setup: []Change{addSvc(rr80), addDst(tcp80, d1), addDst(tcp80, destOf(rs2, 80, Route))},
			change: editDst(tcp80, withDst(d1, func(d *Destination) { d.Weight, d.UpperThreshold, d.Forward = 7, 100, Tunnel })),
			want:   []ServiceEntry{{Service: rr80, Dests: []Destination{destOf(rs2, 80, Route), withDst(d1, func(d *Destination) { d.Weight, d.UpperThreshold, d.Forward = 7, 100, Tunnel })}}},
		},
		{name: "edit mixed dest to route", setup: []Change{addSvc(rr80), addDst(tcp80, tun6)}, change: editDst(tcp80, destOf(rs6, 80, Route)), err: syscall.EINVAL},
		{name: "delete missing dest", setup: []Change{addSvc(rr80), addDst(tcp80, d1)}, change: delDst(tcp80, destOf(rs1, 81, Route)), err: syscall.ENOENT},
		{name: "delete dest of missing service", change: delDst(tcp80, d1), err: syscall.ESRCH},
		{name: "delete mixed dest by key", setup: []Change{addSvc(rr80), addDst(tcp80, tun6)}, change: delDst(tcp80, Destination{Family: IPv6, Addr: rs6, Port: 80}), want: []ServiceEntry{{Service: rr80}}},
		{name: "other family is another dest", setup: []Change{addSvc(rr80), addDst(tcp80, d1)}, change: delDst(tcp80, Destination{Family: IPv6, Addr: netip.MustParseAddr("::ffff:192.168.1.1"), Port: 80}), err: syscall.ENOENT},

		{name: "flush", setup: []Change{addSvc(rr80), addSvc(svcOf(fwm4, "rr")), startD(master)}, change: Change{Op: OpFlush}, want: []ServiceEntry{},
			check: func(t *testing.T, tb *Table) { require.Len(t, tb.Daemons(), 1) }},
		{name: "zero all", setup: []Change{addSvc(rr80)}, change: Change{Op: OpZeroAll}, want: []ServiceEntry{{Service: rr80}}},
		{name: "zero service", setup: []Change{addSvc(rr80)}, change: zeroSvc(tcp80)},
		{name: "zero missing service", change: zeroSvc(tcp80), err: syscall.ESRCH},

		{name: "timeouts", change: setTO(Timeouts{TCP: 10, UDP: 8589934}), check: func(t *testing.T, tb *Table) {
			require.Equal(t, Timeouts{TCP: 10, TCPFin: 120, UDP: 8589934}, tb.Timeouts())
		}},
		{name: "timeout too large", change: setTO(Timeouts{TCP: 10, TCPFin: 8589935}), err: syscall.EINVAL},
		{name: "negative timeout", change: setTO(Timeouts{UDP: 1 << 31}), err: syscall.EINVAL},

		{name: "master with defaults", change: startD(master), check: func(t *testing.T, tb *Table) {
			require.Equal(t, []Daemon{{State: Master, Interface: syncIf, SyncID: 1, SyncMaxLen: 1472,
				Group: netip.MustParseAddr("224.0.0.81"), Port: 8848, TTL: 1}}, tb.Daemons())
		}},
		{name: "backup sized by its interface", setup: []Change{startD(master)}, change: startD(Daemon{State: Backup, Interface: "lo", Group: netip.MustParseAddr("ff02::1:2")}),
			check: func(t *testing.T, tb *Table) {
				ds := tb.Daemons()
				require.Len(t, ds, 2)
				require.Equal(t, Master, ds[0].State)
				require.Equal(t, Daemon{State: Backup, Interface: "lo", SyncMaxLen: 65535 - 48, Group: netip.MustParseAddr("ff02::1:2"), Port: 8848, TTL: 1}, ds[1])
			}},
		{name: "backup maxlen clamped", change: startD(Daemon{State: Backup, Interface: syncIf, SyncMaxLen: 100, Port: 9000, TTL: 5}),
			check: func(t *testing.T, tb *Table) { require.Equal(t, uint16(1024), tb.Daemons()[0].SyncMaxLen) }},
		{name: "master maxlen clamped", change: startD(Daemon{State: Master, Interface: syncIf, SyncMaxLen: 65535}),
			check: func(t *testing.T, tb *Table) { require.Equal(t, uint16(65507), tb.Daemons()[0].SyncMaxLen) }},
		{name: "master to an ipv6 group over lo", change: startD(Daemon{State: Master, Interface: "lo", Group: netip.MustParseAddr("ff02::1:2")}), err: syscall.ENETUNREACH},
		{name: "master running", setup: []Change{startD(master)}, change: startD(master), err: syscall.EEXIST},
		{name: "no such interface", change: startD(Daemon{State: Master, Interface: "nosuch0"}), err: syscall.ENODEV},
		{name: "interface beats running", setup: []Change{startD(master)}, change: startD(Daemon{State: Master, Interface: "nosuch0"}), err: syscall.ENODEV},
		{name: "no such role", change: startD(Daemon{State: 3, Interface: syncIf}), err: syscall.EINVAL},
		{name: "group not multicast", change: startD(Daemon{State: Master, Interface: syncIf, Group: netip.MustParseAddr("10.1.1.1")}), err: syscall.EINVAL},
		{name: "mapped group", change: startD(Daemon{State: Master, Interface: syncIf, Group: netip.MustParseAddr("::ffff:239.1.1.1")}), err: syscall.EINVAL},
		{name: "daemon with mixed families", setup: []Change{addSvc(rr80), addDst(tcp80, tun6)}, change: startD(master), err: syscall.EINVAL},
		{name: "interface name too long", change: startD(Daemon{State: Master, Interface: "abcdefghijklmnop"}), err: ErrNotSendable},
		{name: "stop master", setup: []Change{startD(master)}, change: stopD(Master), check: func(t *testing.T, tb *Table) { require.Empty(t, tb.Daemons()) }},
		{name: "stop idle backup", setup: []Change{startD(master)}, change: stopD(Backup), err: syscall.ESRCH},
		{name: "stop no role", change: stopD(0), err: syscall.EINVAL},

		{name: "unknown op", change: Change{Op: 99}, err: errUnknownOp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := modelTable(t, tc.setup...)
			before := stateOf(tb)
			err := tb.Apply(tc.change)
			if tc.err == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.err)
				var ce *ChangeError
				require.ErrorAs(t, err, &ce)
				require.Equal(t, tc.change.Op, ce.Op)
				require.Equal(t, before, stateOf(tb), "a refused change changes nothing")
			}
			if tc.want != nil {
				got := tb.Entries()
				require.Equal(t, tc.want, got)
			}
			if tc.check != nil {
				tc.check(t, tb)
			}
		})
	}
}

func TestTableOrder(t *testing.T) {
	tb := modelTable(t)
	tb.Env.BucketSalt = 0x5a
	var keys []ServiceKey
	for i := range 40 {
		keys = append(keys,
			ServiceKey{Family: IPv4, Protocol: TCP, Addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), Port: 80},
			ServiceKey{Family: IPv4, FWMark: uint32(i*97 + 1)},
			ServiceKey{Family: IPv6, Protocol: UDP, Addr: netip.AddrFrom16([16]byte{0x20, 1, 15: byte(i * 3)}), Port: uint16(i)})
	}
	for _, k := range keys {
		require.NoError(t, tb.Apply(addSvc(svcOf(k, "rr"))))
	}
	svcs := tb.Services()
	require.Len(t, svcs, len(keys))
	// Normal services before fwmark ones, by bucket, newest first in a
	// bucket.
	added := map[ServiceKey]int{}
	for i, k := range keys {
		added[k] = i
	}
	for i := 1; i < len(svcs); i++ {
		a, b := svcs[i-1].ServiceKey, svcs[i].ServiceKey
		ra, rb := tb.rankOf(a), tb.rankOf(b)
		require.True(t, ra < rb || ra == rb && added[a] > added[b], "%s before %s", a, b)
	}
	require.False(t, svcs[len(svcs)-41].IsFWMark())
	require.True(t, svcs[len(svcs)-40].IsFWMark())

	// Real servers newest first; an edit keeps the place.
	require.NoError(t, tb.Apply(addDst(keys[0], destOf(rs1, 80, Route))))
	require.NoError(t, tb.Apply(addDst(keys[0], destOf(rs2, 80, Route))))
	require.NoError(t, tb.Apply(editDst(keys[0], destOf(rs1, 80, Masquerade))))
	require.Equal(t, []Destination{destOf(rs2, 80, Route), destOf(rs1, 80, Masquerade)}, tb.Destinations(keys[0]))
	// A real server deleted and added again comes first.
	require.NoError(t, tb.Apply(delDst(keys[0], destOf(rs1, 80, Route))))
	require.NoError(t, tb.Apply(addDst(keys[0], destOf(rs1, 80, Route))))
	require.Equal(t, []Destination{destOf(rs1, 80, Route), destOf(rs2, 80, Route)}, tb.Destinations(keys[0]))
	require.Nil(t, tb.Destinations(udp53))
}

func TestServiceBucket(t *testing.T) {
	for _, tc := range []struct {
		k    ServiceKey
		salt uint8
		want uint8
	}{
		{ServiceKey{Family: IPv4, FWMark: 5}, 3, 6},
		{ServiceKey{Family: IPv6, FWMark: 0x1ff}, 0, 0xff},
		// 6 ^ 0x0a000001 ^ (80>>8) ^ 80
		{tcp80, 0, 0x57},
		{tcp80, 0xff, 0x57 ^ 0xff},
		// 2001:0db8:: ^ 0 ^ 0 ^ 1, protocol 6, port 80
		{tcp6, 0, byte(0xb8 ^ 1 ^ 6 ^ 80)},
		{ServiceKey{Family: IPv4, Protocol: UDP, Addr: netip.MustParseAddr("1.2.3.4"), Port: 0x1234}, 0, 17 ^ 4 ^ 0x12 ^ 0x34},
	} {
		require.Equal(t, tc.want, ServiceBucket(tc.k, tc.salt), "%s salt %d", tc.k, tc.salt)
	}
}

func TestTableMHLimit(t *testing.T) {
	rr := svcOf(tcp80, "rr")
	tb := modelTable(t, addSvc(rr))
	for i := range mhTableSize + 1 {
		require.NoError(t, tb.Apply(addDst(tcp80, destOf(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 80, Route))))
	}
	mh := withSvc(rr, func(s *Service) { s.Scheduler, s.Timeout = "mh", 60 })
	require.ErrorIs(t, tb.Apply(editSvc(mh)), syscall.EINVAL)
	s, _ := tb.Service(tcp80)
	require.Equal(t, rr, s)
	require.NoError(t, tb.Apply(delDst(tcp80, destOf(netip.AddrFrom4([4]byte{10, 1, 0, 0}), 80, Route))))
	require.NoError(t, tb.Apply(editSvc(mh)))
	// Growing an mh service past its table works; so does an edit that
	// keeps mh.
	require.NoError(t, tb.Apply(addDst(tcp80, destOf(rs1, 80, Route))))
	require.NoError(t, tb.Apply(editSvc(withSvc(mh, func(s *Service) { s.Timeout = 30 }))))
}

func TestTableClone(t *testing.T) {
	tb := modelTable(t, addSvc(svcOf(tcp80, "rr")), addDst(tcp80, destOf(rs1, 80, Route)), startD(Daemon{State: Master, Interface: syncIf}))
	c := tb.Clone()
	require.Equal(t, stateOf(tb), stateOf(c))
	require.Equal(t, tb.Env, c.Env)
	require.NoError(t, c.Apply(editDst(tcp80, destOf(rs1, 80, Masquerade))))
	require.NoError(t, c.Apply(addSvc(svcOf(udp53, "rr"))))
	require.NoError(t, c.Apply(stopD(Master)))
	c.Env.Links["eth0"] = Link{MTU: 9000}
	require.Equal(t, []Destination{destOf(rs1, 80, Route)}, tb.Destinations(tcp80))
	require.Equal(t, 1, tb.Len())
	require.Len(t, tb.Daemons(), 1)
	require.NotContains(t, tb.Env.Links, "eth0")
}

func TestChangeError(t *testing.T) {
	err := NewTable().Apply(zeroSvc(tcp80))
	require.EqualError(t, err, "zero service: no such process")
	require.True(t, errors.Is(err, syscall.ESRCH))
	var errno syscall.Errno
	require.ErrorAs(t, err, &errno)
	require.Equal(t, syscall.ESRCH, errno)
	require.Equal(t, "op(99)", Op(99).String())
	require.Contains(t, addDst(tcp80, destOf(rs1, 80, Route)).String(), "add destination TCP 10.0.0.1:80 -> inet 192.168.1.1:80")
}

func TestSettings(t *testing.T) {
	s := svcOf(tcp80, "rr")
	counted := s
	counted.Stats.Conns, counted.Stats64.InBytes = 3, 4
	require.True(t, s.SameSettings(counted))
	require.Equal(t, s, counted.Settings())
	require.False(t, s.SameSettings(withSvc(s, func(s *Service) { s.Timeout = 1 })))

	d := destOf(rs1, 80, Route)
	dc := d
	dc.ActiveConns, dc.Stats.Conns = 1, 2
	require.True(t, d.SameSettings(dc))
	require.Equal(t, d, dc.Settings())
	require.False(t, d.SameSettings(withDst(d, func(d *Destination) { d.Weight = 2 })))

	require.Equal(t, DestinationKey{Family: IPv4, Addr: rs1, Port: 80}, Destination{Addr: rs1, Port: 80, Weight: 5}.Key())
	require.Equal(t, DestinationKey{Family: IPv6, Addr: rs6}, Destination{Family: IPv6, Addr: rs6}.Key())
	require.Equal(t, "inet6 [2001:db8:1::1]:80", DestinationKey{Family: IPv6, Addr: rs6, Port: 80}.String())
}

// recordingQueue records the method each change is queued through.
type recordingQueue struct{ calls []string }

func (q *recordingQueue) AddService(Service)       { q.calls = append(q.calls, "AddService") }
func (q *recordingQueue) UpdateService(Service)    { q.calls = append(q.calls, "UpdateService") }
func (q *recordingQueue) DeleteService(ServiceKey) { q.calls = append(q.calls, "DeleteService") }
func (q *recordingQueue) AddDestination(ServiceKey, Destination) {
	q.calls = append(q.calls, "AddDestination")
}
func (q *recordingQueue) UpdateDestination(ServiceKey, Destination) {
	q.calls = append(q.calls, "UpdateDestination")
}
func (q *recordingQueue) DeleteDestination(ServiceKey, Destination) {
	q.calls = append(q.calls, "DeleteDestination")
}
func (q *recordingQueue) Flush()                 { q.calls = append(q.calls, "Flush") }
func (q *recordingQueue) ZeroAll()               { q.calls = append(q.calls, "ZeroAll") }
func (q *recordingQueue) ZeroService(ServiceKey) { q.calls = append(q.calls, "ZeroService") }
func (q *recordingQueue) SetTimeouts(Timeouts)   { q.calls = append(q.calls, "SetTimeouts") }
func (q *recordingQueue) StartDaemon(Daemon)     { q.calls = append(q.calls, "StartDaemon") }
func (q *recordingQueue) StopDaemon(SyncState)   { q.calls = append(q.calls, "StopDaemon") }

func TestChangeQueueOn(t *testing.T) {
	q := &recordingQueue{}
	for op := OpAddService; op <= OpStopDaemon; op++ {
		Change{Op: op}.QueueOn(q)
	}
	want := []string{"AddService", "UpdateService", "DeleteService", "AddDestination", "UpdateDestination",
		"DeleteDestination", "Flush", "ZeroAll", "ZeroService", "SetTimeouts", "StartDaemon", "StopDaemon"}
	if strings.Join(q.calls, " ") != strings.Join(want, " ") {
		t.Errorf("QueueOn called %v, want %v", q.calls, want)
	}
}
