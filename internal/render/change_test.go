package render

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

func TestAppendChangeLine(t *testing.T) {
	v4 := rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	v6 := rules.ServiceKey{Family: rules.IPv6, Protocol: rules.UDP, Addr: netip.MustParseAddr("2001:db8::1"), Port: 53}
	fw := rules.ServiceKey{Family: rules.IPv6, FWMark: 3000000000}
	key := func(k rules.ServiceKey) rules.Service { return rules.Service{ServiceKey: k} }
	d := rules.Destination{Addr: netip.MustParseAddr("10.1.0.1"), Port: 8080, Forward: rules.Masquerade, Weight: 3, UpperThreshold: 100, LowerThreshold: 10}
	gue := rules.Destination{Addr: netip.MustParseAddr("2001:db8::9"), Port: 0, Forward: rules.Tunnel, Weight: 1, TunnelType: rules.TunnelGUE, TunnelPort: 6080, TunnelFlags: rules.TunnelRemoteChecksum}
	tests := []struct {
		c    rules.Change
		want string
	}{
		{rules.Change{Op: rules.OpAddService, Service: rules.Service{ServiceKey: v4, Scheduler: "rr", Netmask: 0xffffffff}}, "-A -t 10.0.0.1:80 -s rr\n"},
		{rules.Change{Op: rules.OpEditService, Service: rules.Service{ServiceKey: v4, Scheduler: "sh", Flags: rules.FlagPersistent | rules.FlagSched1 | rules.FlagSched2, Timeout: 600, Netmask: 0xffffff00, PE: "sip"}},
			"-E -t 10.0.0.1:80 -s sh -p 600 -M 255.255.255.0 --pe sip -b sh-fallback,sh-port\n"},
		{rules.Change{Op: rules.OpAddService, Service: rules.Service{ServiceKey: v6, Scheduler: "wlc", Flags: rules.FlagOnePacket, Netmask: 64}}, "-A -u [2001:db8::1]:53 -s wlc -M 64 -o\n"},
		{rules.Change{Op: rules.OpDelService, Service: key(fw)}, "-D -f 3000000000 -6\n"},
		{rules.Change{Op: rules.OpAddDest, Service: key(v4), Dest: d}, "-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 3 -x 100 -y 10\n"},
		{rules.Change{Op: rules.OpEditDest, Service: key(fw), Dest: gue}, "-e -f 3000000000 -6 -r [2001:db8::9]:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum\n"},
		{rules.Change{Op: rules.OpDelDest, Service: key(v4), Dest: d}, "-d -t 10.0.0.1:80 -r 10.1.0.1:8080\n"},
		{rules.Change{Op: rules.OpSetTimeouts, Timeouts: rules.Timeouts{TCP: 900, TCPFin: 0, UDP: 30}}, "--set 900 0 30\n"},
		{rules.Change{Op: rules.OpStartDaemon, Daemon: rules.Daemon{State: rules.Backup, Interface: "eth1", SyncID: 7, SyncMaxLen: 1472, Group: netip.MustParseAddr("ff02::81"), Port: 8848, TTL: 2}},
			"--start-daemon backup --mcast-interface eth1 --syncid 7 --sync-maxlen 1472 --mcast-group ff02::81 --mcast-port 8848 --mcast-ttl 2\n"},
		{rules.Change{Op: rules.OpStopDaemon, Daemon: rules.Daemon{State: rules.Master}}, "--stop-daemon master\n"},
		{rules.Change{Op: rules.OpFlush}, "-C\n"},
		{rules.Change{Op: rules.OpZeroService, Service: key(v4)}, "-Z -t 10.0.0.1:80\n"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, string(AppendChangeLine(nil, tc.c)))
	}
}

func TestAppendChangeSummary(t *testing.T) {
	k := rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	s := rules.Service{ServiceKey: k, Scheduler: "rr", Netmask: 0xffffffff}
	d := rules.Destination{Family: rules.IPv4, Addr: netip.MustParseAddr("10.1.0.1"), Port: 80, Forward: rules.Masquerade, Weight: 1}
	tb := rules.NewTable()
	require.NoError(t, tb.Apply(rules.Change{Op: rules.OpAddService, Service: s}))
	require.NoError(t, tb.Apply(rules.Change{Op: rules.OpAddDest, Service: s, Dest: d}))
	edited, d2 := s, d
	edited.Scheduler = "wrr"
	d2.Weight, d2.UpperThreshold = 5, 9
	for _, tc := range []struct {
		c    rules.Change
		want string
	}{
		{rules.Change{Op: rules.OpEditService, Service: edited}, "~ service TCP 10.0.0.1:80: scheduler rr -> wrr\n"},
		{rules.Change{Op: rules.OpEditDest, Service: s, Dest: d2}, "~ real server TCP 10.0.0.1:80 -> inet 10.1.0.1:80: weight 1 -> 5, u-threshold 0 -> 9\n"},
		{rules.Change{Op: rules.OpDelService, Service: s}, "- service TCP 10.0.0.1:80 (with 1 real servers)\n"},
		{rules.Change{Op: rules.OpAddService, Service: s}, "+ service TCP 10.0.0.1:80: scheduler rr, flags 0x0, persistence 0, netmask 255.255.255.255, pe none\n"},
		{rules.Change{Op: rules.OpSetTimeouts, Timeouts: rules.Timeouts{UDP: 30}}, "~ timeouts: udp 300 -> 30\n"},
	} {
		require.Equal(t, tc.want, string(AppendChangeSummary(nil, tb, tc.c)))
	}
}
