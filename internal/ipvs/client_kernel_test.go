package ipvs_test

// Kernel tests: they run against a real IPVS kernel (the project's VM) in a
// fresh network namespace each. Outside the VM they skip when the host has
// no IPVS; inside it they fail instead (see ipvstest).
//
// Where ipvsadm 1.31 can express the same table, the test also builds it
// with the reference ipvsadm in a second namespace and requires that
// `ipvsadm -Sn` and `ipvsadm -Ln --thresholds` print the same for both.

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/ipvs/ipvstest"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// kernelClient returns a client bound to a fresh namespace.
func kernelClient(t *testing.T) (*ipvs.Client, *ipvstest.NS) {
	t.Helper()
	ns := ipvstest.NewNS(t)
	c, err := ipvs.Dial(&ipvs.Config{NetNS: ns.FD()})
	if errors.Is(err, ipvs.ErrNotAvailable) {
		ipvstest.SkipOrFail(t, "the kernel has no IPVS: "+err.Error())
	}
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c, ns
}

var (
	v4a   = netip.MustParseAddr("10.0.0.1")
	v4b   = netip.MustParseAddr("10.0.0.2")
	v6a   = netip.MustParseAddr("2001:db8::1")
	v6b   = netip.MustParseAddr("2001:db8::2")
	rs4a  = netip.MustParseAddr("192.168.10.1")
	rs4b  = netip.MustParseAddr("192.168.10.2")
	rs6a  = netip.MustParseAddr("2001:db8:1::10")
	hostM = uint32(0xffffffff)
)

func svc4(p rules.Protocol, a netip.Addr, port uint16, sched string) rules.Service {
	return rules.Service{
		ServiceKey: rules.ServiceKey{Family: rules.IPv4, Protocol: p, Addr: a, Port: port},
		Scheduler:  sched, Netmask: hostM,
	}
}

func svc6(p rules.Protocol, a netip.Addr, port uint16, sched string) rules.Service {
	return rules.Service{
		ServiceKey: rules.ServiceKey{Family: rules.IPv6, Protocol: p, Addr: a, Port: port},
		Scheduler:  sched, Netmask: 128,
	}
}

func fwm(f rules.Family, mark uint32, sched string) rules.Service {
	m := hostM
	if f == rules.IPv6 {
		m = 128
	}
	return rules.Service{ServiceKey: rules.ServiceKey{Family: f, FWMark: mark}, Scheduler: sched, Netmask: m}
}

func with(s rules.Service, fn func(*rules.Service)) rules.Service { fn(&s); return s }

// withoutCounters clears what the kernel reports but a request does not
// set, so that a read-back compares with what was written.
func withoutCounters(s rules.Service) rules.Service {
	s.Stats, s.Stats64 = rules.Stats{}, rules.Stats{}
	return s
}

func destWithoutCounters(d rules.Destination) rules.Destination {
	d.Stats, d.Stats64 = rules.Stats{}, rules.Stats{}
	d.ActiveConns, d.InactiveConns, d.PersistentConns = 0, 0, 0
	return d
}

// build writes a table through the client.
func build(t *testing.T, c *ipvs.Client, svc rules.Service, dests []rules.Destination) {
	t.Helper()
	require.NoError(t, c.AddService(svc), "add %v", svc.ServiceKey)
	for _, d := range dests {
		require.NoError(t, c.AddDestination(svc.ServiceKey, d), "add %v to %v", d.Addr, svc.ServiceKey)
	}
}

// sameAsIpvsadm builds the equivalent table with the reference ipvsadm in a
// new namespace and compares both namespaces' listings, printed by the
// reference ipvsadm.
func sameAsIpvsadm(t *testing.T, ours *ipvstest.NS, commands [][]string) {
	t.Helper()
	ipvstest.RequireReference(t)
	ref := ipvstest.NewNS(t)
	for _, args := range commands {
		ref.Ipvsadm(t, args...)
	}
	for _, view := range [][]string{{"-Sn"}, {"-Ln", "--thresholds"}, {"-Ln", "--persistent-conn"}} {
		want := ref.Ipvsadm(t, view...)
		got := ours.Ipvsadm(t, view...)
		require.Equal(t, want, got, "ipvsadm %s differs: reference table vs ours", strings.Join(view, " "))
	}
}

func TestKernelInfo(t *testing.T) {
	c, _ := kernelClient(t)
	info, err := c.Info()
	require.NoError(t, err)
	require.Equal(t, "1.2.1", info.VersionString())
	require.NotZero(t, info.ConnTableSize)
	require.Zero(t, info.ConnTableSize&(info.ConnTableSize-1), "table size %d is a power of two", info.ConnTableSize)
}

// serviceCases are services of every kind, each with the ipvsadm command
// that makes the same service.
var serviceCases = []struct {
	name    string
	svc     rules.Service
	ipvsadm []string
	// edited is an UpdateService of svc and its ipvsadm -E equivalent.
	edited     rules.Service
	editIpvsad []string
}{
	{
		name:    "tcp4-wlc",
		svc:     svc4(rules.TCP, v4a, 80, "wlc"),
		ipvsadm: []string{"-A", "-t", "10.0.0.1:80"},
		edited:  svc4(rules.TCP, v4a, 80, "rr"), editIpvsad: []string{"-E", "-t", "10.0.0.1:80", "-s", "rr"},
	},
	{
		name:    "udp4-rr",
		svc:     svc4(rules.UDP, v4a, 53, "rr"),
		ipvsadm: []string{"-A", "-u", "10.0.0.1:53", "-s", "rr"},
		edited: with(svc4(rules.UDP, v4a, 53, "wrr"), func(s *rules.Service) {
			s.Flags = rules.FlagOnePacket
		}),
		editIpvsad: []string{"-E", "-u", "10.0.0.1:53", "-s", "wrr", "-o"},
	},
	{
		name: "sctp4-sh-flags",
		svc: with(svc4(rules.SCTP, v4b, 5000, "sh"), func(s *rules.Service) {
			s.Flags = rules.FlagSched1 | rules.FlagSched2
		}),
		ipvsadm: []string{"-A", "--sctp-service", "10.0.0.2:5000", "-s", "sh", "-b", "sh-fallback,sh-port"},
		edited: with(svc4(rules.SCTP, v4b, 5000, "sh"), func(s *rules.Service) {
			s.Flags = rules.FlagSched2
		}),
		editIpvsad: []string{"-E", "--sctp-service", "10.0.0.2:5000", "-s", "sh", "-b", "sh-port"},
	},
	{
		name:    "tcp6-lc",
		svc:     svc6(rules.TCP, v6a, 443, "lc"),
		ipvsadm: []string{"-A", "-t", "[2001:db8::1]:443", "-s", "lc"},
		edited: with(svc6(rules.TCP, v6a, 443, "lc"), func(s *rules.Service) {
			s.Flags, s.Timeout, s.Netmask = rules.FlagPersistent, 900, 64
		}),
		editIpvsad: []string{"-E", "-t", "[2001:db8::1]:443", "-s", "lc", "-p", "900", "-M", "64"},
	},
	{
		name:       "udp6-port0-persistent",
		svc:        with(svc6(rules.UDP, v6b, 0, "wlc"), func(s *rules.Service) { s.Flags, s.Timeout = rules.FlagPersistent, 360 }),
		ipvsadm:    []string{"-A", "-u", "[2001:db8::2]:0", "-p"},
		edited:     with(svc6(rules.UDP, v6b, 0, "nq"), func(s *rules.Service) { s.Flags, s.Timeout = rules.FlagPersistent, 10 }),
		editIpvsad: []string{"-E", "-u", "[2001:db8::2]:0", "-s", "nq", "-p", "10"},
	},
	{
		name:    "fwmark4",
		svc:     fwm(rules.IPv4, 1, "wrr"),
		ipvsadm: []string{"-A", "-f", "1", "-s", "wrr"},
		edited: with(fwm(rules.IPv4, 1, "wrr"), func(s *rules.Service) {
			s.Flags, s.Timeout, s.Netmask = rules.FlagPersistent, 60, 0xffffff00
		}),
		editIpvsad: []string{"-E", "-f", "1", "-s", "wrr", "-p", "60", "-M", "255.255.255.0"},
	},
	{
		name:    "fwmark6",
		svc:     fwm(rules.IPv6, 2, "sed"),
		ipvsadm: []string{"-A", "-f", "2", "-6", "-s", "sed"},
		edited:  fwm(rules.IPv6, 2, "fo"), editIpvsad: []string{"-E", "-f", "2", "-6", "-s", "fo"},
	},
	{
		name:    "fwmark-max",
		svc:     fwm(rules.IPv4, 4294967295, "rr"),
		ipvsadm: []string{"-A", "-f", "4294967295", "-s", "rr"},
		edited:  fwm(rules.IPv4, 4294967295, "lc"), editIpvsad: []string{"-E", "-f", "4294967295", "-s", "lc"},
	},
	{
		name: "tcp4-persistent-netmask",
		svc: with(svc4(rules.TCP, v4b, 0, "wlc"), func(s *rules.Service) {
			s.Flags, s.Timeout, s.Netmask = rules.FlagPersistent, 600, 0xffffff00
		}),
		ipvsadm:    []string{"-A", "-t", "10.0.0.2:0", "-p", "600", "-M", "255.255.255.0"},
		edited:     with(svc4(rules.TCP, v4b, 0, "wlc"), func(s *rules.Service) { s.Flags, s.Timeout = rules.FlagPersistent, 2678400 }),
		editIpvsad: []string{"-E", "-t", "10.0.0.2:0", "-p", "2678400"},
	},
	{
		name: "mh-flags",
		svc: with(svc4(rules.TCP, v4a, 8080, "mh"), func(s *rules.Service) {
			s.Flags = rules.FlagSched1 | rules.FlagSched2
		}),
		ipvsadm: []string{"-A", "-t", "10.0.0.1:8080", "-s", "mh", "-b", "mh-fallback,mh-port"},
		edited: with(svc4(rules.TCP, v4a, 8080, "mh"), func(s *rules.Service) {
			s.Flags = rules.FlagSched1
		}),
		editIpvsad: []string{"-E", "-t", "10.0.0.1:8080", "-s", "mh", "-b", "mh-fallback"},
	},
	{
		name:    "flag-3",
		svc:     with(svc4(rules.TCP, v4a, 81, "rr"), func(s *rules.Service) { s.Flags = rules.FlagSched3 | rules.FlagSched1 }),
		ipvsadm: []string{"-A", "-t", "10.0.0.1:81", "-s", "rr", "-b", "flag-1,flag-3"},
		edited:  svc4(rules.TCP, v4a, 81, "rr"), editIpvsad: []string{"-E", "-t", "10.0.0.1:81", "-s", "rr"},
	},
	{
		name: "pe-sip",
		svc: with(svc4(rules.UDP, v4b, 5060, "rr"), func(s *rules.Service) {
			s.Flags, s.Timeout, s.PE = rules.FlagPersistent, 30, "sip"
		}),
		ipvsadm: []string{"-A", "-u", "10.0.0.2:5060", "-s", "rr", "-p", "30", "--pe", "sip"},
		// Without a PE the edit removes it.
		edited:     with(svc4(rules.UDP, v4b, 5060, "rr"), func(s *rules.Service) { s.Flags, s.Timeout = rules.FlagPersistent, 30 }),
		editIpvsad: []string{"-E", "-u", "10.0.0.2:5060", "-s", "rr", "-p", "30"},
	},
}

func TestKernelServices(t *testing.T) {
	for _, tc := range serviceCases {
		t.Run(tc.name, func(t *testing.T) {
			c, ns := kernelClient(t)
			require.NoError(t, c.AddService(tc.svc))

			got, err := c.Service(tc.svc.ServiceKey)
			require.NoError(t, err)
			require.Equal(t, tc.svc, withoutCounters(got))

			all, err := c.Services()
			require.NoError(t, err)
			require.Len(t, all, 1)
			require.Equal(t, tc.svc, withoutCounters(all[0]))
			sameAsIpvsadm(t, ns, [][]string{tc.ipvsadm})

			require.NoError(t, c.UpdateService(tc.edited))
			got, err = c.Service(tc.svc.ServiceKey)
			require.NoError(t, err)
			require.Equal(t, tc.edited, withoutCounters(got))
			sameAsIpvsadm(t, ns, [][]string{tc.ipvsadm, tc.editIpvsad})

			require.NoError(t, c.DeleteService(tc.svc.ServiceKey))
			_, err = c.Service(tc.svc.ServiceKey)
			require.ErrorIs(t, err, ipvs.ErrNoService)
			all, err = c.Services()
			require.NoError(t, err)
			require.Empty(t, all)
		})
	}
}

func TestKernelServiceErrors(t *testing.T) {
	c, _ := kernelClient(t)
	base := svc4(rules.TCP, v4a, 80, "wlc")
	require.NoError(t, c.AddService(base))

	err := c.AddService(base)
	require.ErrorIs(t, err, ipvs.ErrServiceExists)
	require.ErrorIs(t, err, unix.EEXIST)
	var ie *ipvs.Error
	require.ErrorAs(t, err, &ie)
	require.Equal(t, ipvs.OpAddService, ie.Op)

	missing := svc4(rules.TCP, v4b, 80, "wlc")
	require.ErrorIs(t, c.UpdateService(missing), ipvs.ErrNoService)
	require.ErrorIs(t, c.DeleteService(missing.ServiceKey), ipvs.ErrNoService)
	require.ErrorIs(t, c.ZeroService(missing.ServiceKey), ipvs.ErrNoService)
	_, err = c.Service(missing.ServiceKey)
	require.ErrorIs(t, err, ipvs.ErrNoService)

	// The kernel cannot tell a missing scheduler from a missing PE.
	require.ErrorIs(t, c.AddService(with(missing, func(s *rules.Service) { s.Scheduler = "nosuch" })), ipvs.ErrSchedulerNotFound)
	require.ErrorIs(t, c.UpdateService(with(base, func(s *rules.Service) { s.Scheduler = "nosuch" })), ipvs.ErrSchedulerNotFound)
	require.ErrorIs(t, c.AddService(with(missing, func(s *rules.Service) { s.PE = "nosuch" })), ipvs.ErrSchedulerNotFound)

	// IPv6 persistence prefixes must be 1..128.
	for _, m := range []uint32{0, 129} {
		s := with(svc6(rules.TCP, v6a, 80, "wlc"), func(s *rules.Service) { s.Netmask = m })
		require.ErrorIs(t, c.AddService(s), unix.EINVAL, "netmask %d", m)
	}
	// A scheduler name that does not fit the kernel's buffer is refused
	// before it is sent.
	err = c.AddService(with(missing, func(s *rules.Service) { s.Scheduler = "abcdefghijklmnop" }))
	require.Error(t, err)
	require.Zero(t, ipvs.Errno(err))

	// Nothing above changed the table.
	all, err := c.Services()
	require.NoError(t, err)
	require.Len(t, all, 1)
	require.Equal(t, base, withoutCounters(all[0]))
}

// kernelSchedulers are the scheduler modules Debian's kernel ships.
var kernelSchedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"}

func TestKernelSchedulers(t *testing.T) {
	scheds := slices.Clone(kernelSchedulers)
	// Newer kernels add schedulers (twos in 6.2); test whatever the
	// running kernel has loaded too.
	if mods, err := os.ReadDir("/sys/module"); err == nil {
		for _, m := range mods {
			name, ok := strings.CutPrefix(m.Name(), "ip_vs_")
			if ok && !slices.Contains(scheds, name) && name != "ftp" && !strings.HasPrefix(name, "pe_") {
				scheds = append(scheds, name)
			}
		}
	}
	c, ns := kernelClient(t)
	var cmds [][]string
	for i, sched := range scheds {
		svc := svc4(rules.TCP, v4a, uint16(1000+i), sched)
		d := rules.Destination{Addr: rs4a, Port: uint16(1000 + i), Forward: rules.Masquerade, Weight: 1}
		build(t, c, svc, []rules.Destination{d})
		got, err := c.Service(svc.ServiceKey)
		require.NoError(t, err, sched)
		require.Equal(t, sched, got.Scheduler)
		vip := fmt.Sprintf("10.0.0.1:%d", 1000+i)
		cmds = append(cmds,
			[]string{"-A", "-t", vip, "-s", sched},
			[]string{"-a", "-t", vip, "-r", fmt.Sprintf("192.168.10.1:%d", 1000+i), "-m"})
	}
	// "none" means no scheduler (kernels 4.x and later).
	none := svc4(rules.TCP, v4b, 1, "none")
	require.NoError(t, c.AddService(none))
	got, err := c.Service(none.ServiceKey)
	require.NoError(t, err)
	require.Equal(t, "none", got.Scheduler)
	require.NoError(t, c.DeleteService(none.ServiceKey))

	sameAsIpvsadm(t, ns, cmds)
}

// destCases are real servers of every kind, with their ipvsadm command.
var destCases = []struct {
	name    string
	svc     rules.Service
	svcArgs []string
	dest    rules.Destination
	args    []string
	edited  rules.Destination
	eargs   []string
}{
	{
		name: "masq", svc: svc4(rules.TCP, v4a, 80, "wlc"), svcArgs: []string{"-t", "10.0.0.1:80"},
		dest:   rules.Destination{Family: rules.IPv4, Addr: rs4a, Port: 8080, Forward: rules.Masquerade, Weight: 1},
		args:   []string{"-r", "192.168.10.1:8080", "-m"},
		edited: rules.Destination{Family: rules.IPv4, Addr: rs4a, Port: 8080, Forward: rules.Masquerade, Weight: 0, UpperThreshold: 100, LowerThreshold: 10},
		eargs:  []string{"-r", "192.168.10.1:8080", "-m", "-w", "0", "-x", "100", "-y", "10"},
	},
	{
		name: "route", svc: svc4(rules.UDP, v4a, 53, "rr"), svcArgs: []string{"-u", "10.0.0.1:53"},
		dest:   rules.Destination{Family: rules.IPv4, Addr: rs4b, Port: 53, Forward: rules.Route, Weight: 2147483647},
		args:   []string{"-r", "192.168.10.2", "-g", "-w", "2147483647"},
		edited: rules.Destination{Family: rules.IPv4, Addr: rs4b, Port: 53, Forward: rules.Masquerade, Weight: 5},
		eargs:  []string{"-r", "192.168.10.2:53", "-m", "-w", "5"},
	},
	{
		name: "tunnel-ipip", svc: svc4(rules.TCP, v4a, 443, "wrr"), svcArgs: []string{"-t", "10.0.0.1:443"},
		dest:   rules.Destination{Family: rules.IPv4, Addr: rs4a, Port: 443, Forward: rules.Tunnel, Weight: 3, TunnelType: rules.TunnelIPIP},
		args:   []string{"-r", "192.168.10.1", "-i", "-w", "3"},
		edited: rules.Destination{Family: rules.IPv4, Addr: rs4a, Port: 443, Forward: rules.Tunnel, Weight: 3, TunnelType: rules.TunnelGRE, TunnelFlags: rules.TunnelChecksum},
		eargs:  []string{"-r", "192.168.10.1", "-i", "-w", "3", "--tun-type", "gre", "--tun-csum"},
	},
	{
		name: "tunnel-gue", svc: svc4(rules.TCP, v4a, 443, "wrr"), svcArgs: []string{"-t", "10.0.0.1:443"},
		dest:   rules.Destination{Family: rules.IPv4, Addr: rs4b, Port: 443, Forward: rules.Tunnel, Weight: 1, TunnelType: rules.TunnelGUE, TunnelPort: 6080, TunnelFlags: rules.TunnelRemoteChecksum},
		args:   []string{"-r", "192.168.10.2", "-i", "--tun-type", "gue", "--tun-port", "6080", "--tun-remcsum"},
		edited: rules.Destination{Family: rules.IPv4, Addr: rs4b, Port: 443, Forward: rules.Tunnel, Weight: 1, TunnelType: rules.TunnelGUE, TunnelPort: 6081, TunnelFlags: rules.TunnelNoChecksum},
		eargs:  []string{"-r", "192.168.10.2", "-i", "--tun-type", "gue", "--tun-port", "6081", "--tun-nocsum"},
	},
	{
		name: "tunnel-gre", svc: svc6(rules.TCP, v6a, 80, "lc"), svcArgs: []string{"-t", "[2001:db8::1]:80"},
		dest:   rules.Destination{Family: rules.IPv6, Addr: rs6a, Port: 80, Forward: rules.Tunnel, Weight: 1, TunnelType: rules.TunnelGRE, TunnelFlags: rules.TunnelChecksum},
		args:   []string{"-r", "2001:db8:1::10", "-i", "--tun-type", "gre", "--tun-csum"},
		edited: rules.Destination{Family: rules.IPv6, Addr: rs6a, Port: 80, Forward: rules.Tunnel, Weight: 1, TunnelType: rules.TunnelIPIP},
		eargs:  []string{"-r", "2001:db8:1::10", "-i"},
	},
	{
		name: "ipv6-masq", svc: svc6(rules.UDP, v6b, 53, "sh"), svcArgs: []string{"-u", "[2001:db8::2]:53"},
		dest:   rules.Destination{Family: rules.IPv6, Addr: rs6a, Port: 5353, Forward: rules.Masquerade, Weight: 7, UpperThreshold: 50},
		args:   []string{"-r", "[2001:db8:1::10]:5353", "-m", "-w", "7", "-x", "50"},
		edited: rules.Destination{Family: rules.IPv6, Addr: rs6a, Port: 5353, Forward: rules.Masquerade, Weight: 1},
		eargs:  []string{"-r", "[2001:db8:1::10]:5353", "-m"},
	},
	{
		name: "fwmark-dest", svc: fwm(rules.IPv4, 7, "rr"), svcArgs: []string{"-f", "7"},
		dest:   rules.Destination{Family: rules.IPv4, Addr: rs4a, Port: 0, Forward: rules.Route, Weight: 1},
		args:   []string{"-r", "192.168.10.1"},
		edited: rules.Destination{Family: rules.IPv4, Addr: rs4a, Port: 0, Forward: rules.Tunnel, Weight: 4},
		eargs:  []string{"-r", "192.168.10.1", "-i", "-w", "4"},
	},
	{
		// IPv4 service balanced to an IPv6 tunnel endpoint (3.18+).
		name: "mixed-family-tunnel", svc: svc4(rules.TCP, v4a, 80, "wlc"), svcArgs: []string{"-t", "10.0.0.1:80"},
		dest:   rules.Destination{Family: rules.IPv6, Addr: rs6a, Port: 80, Forward: rules.Tunnel, Weight: 1},
		args:   []string{"-r", "2001:db8:1::10", "-i"},
		edited: rules.Destination{Family: rules.IPv6, Addr: rs6a, Port: 80, Forward: rules.Tunnel, Weight: 9},
		eargs:  []string{"-r", "2001:db8:1::10", "-i", "-w", "9"},
	},
}

func TestKernelDestinations(t *testing.T) {
	for _, tc := range destCases {
		t.Run(tc.name, func(t *testing.T) {
			c, ns := kernelClient(t)
			build(t, c, tc.svc, []rules.Destination{tc.dest})
			got, err := c.Destinations(tc.svc.ServiceKey)
			require.NoError(t, err)
			require.Len(t, got, 1)
			require.Equal(t, tc.dest, destWithoutCounters(got[0]))
			addSvc := append([]string{"-A"}, tc.svcArgs...)
			addSvc = append(addSvc, "-s", tc.svc.Scheduler)
			if tc.svc.Family == rules.IPv6 && tc.svc.IsFWMark() {
				addSvc = append(addSvc, "-6")
			}
			addDest := append(append([]string{"-a"}, tc.svcArgs...), tc.args...)
			sameAsIpvsadm(t, ns, [][]string{addSvc, addDest})

			require.NoError(t, c.UpdateDestination(tc.svc.ServiceKey, tc.edited))
			got, err = c.Destinations(tc.svc.ServiceKey)
			require.NoError(t, err)
			require.Len(t, got, 1)
			require.Equal(t, tc.edited, destWithoutCounters(got[0]))
			editDest := append(append([]string{"-e"}, tc.svcArgs...), tc.eargs...)
			sameAsIpvsadm(t, ns, [][]string{addSvc, addDest, editDest})

			require.NoError(t, c.DeleteDestination(tc.svc.ServiceKey, tc.edited))
			got, err = c.Destinations(tc.svc.ServiceKey)
			require.NoError(t, err)
			require.Empty(t, got)
		})
	}
}

func TestKernelDestinationLocal(t *testing.T) {
	// ipvsadm cannot ask for the Local method, but the kernel keeps it.
	c, _ := kernelClient(t)
	svc := svc4(rules.TCP, v4a, 80, "rr")
	d := rules.Destination{Family: rules.IPv4, Addr: netip.MustParseAddr("127.0.0.1"), Port: 80, Forward: rules.Local, Weight: 1}
	build(t, c, svc, []rules.Destination{d})
	got, err := c.Destinations(svc.ServiceKey)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, rules.Local, got[0].Forward)
}

func TestKernelDestinationOrder(t *testing.T) {
	// The kernel lists real servers newest first; callers sort.
	c, ns := kernelClient(t)
	svc := svc4(rules.TCP, v4a, 80, "wrr")
	var dests []rules.Destination
	var cmds = [][]string{{"-A", "-t", "10.0.0.1:80", "-s", "wrr"}}
	for i := 1; i <= 5; i++ {
		a := netip.AddrFrom4([4]byte{192, 168, 10, byte(i)})
		dests = append(dests, rules.Destination{Family: rules.IPv4, Addr: a, Port: 80, Forward: rules.Route, Weight: int32(i)})
		cmds = append(cmds, []string{"-a", "-t", "10.0.0.1:80", "-r", a.String(), "-w", fmt.Sprint(i)})
	}
	build(t, c, svc, dests)
	got, err := c.Destinations(svc.ServiceKey)
	require.NoError(t, err)
	require.Len(t, got, 5)
	for i, d := range got {
		require.Equal(t, dests[len(dests)-1-i].Addr, d.Addr)
	}
	sameAsIpvsadm(t, ns, cmds)
}

func TestKernelDestinationErrors(t *testing.T) {
	c, _ := kernelClient(t)
	svc := svc4(rules.TCP, v4a, 80, "wlc")
	missing := svc4(rules.TCP, v4b, 80, "wlc").ServiceKey
	d := rules.Destination{Addr: rs4a, Port: 80, Forward: rules.Masquerade, Weight: 1}
	build(t, c, svc, []rules.Destination{d})
	k := svc.ServiceKey

	err := c.AddDestination(missing, d)
	require.ErrorIs(t, err, ipvs.ErrNoService)
	require.ErrorIs(t, err, unix.ESRCH)
	require.ErrorIs(t, c.UpdateDestination(missing, d), ipvs.ErrNoService)
	require.ErrorIs(t, c.DeleteDestination(missing, d), ipvs.ErrNoService)

	require.ErrorIs(t, c.AddDestination(k, d), ipvs.ErrDestinationExists)
	other := rules.Destination{Addr: rs4b, Port: 80, Forward: rules.Masquerade, Weight: 1}
	require.ErrorIs(t, c.UpdateDestination(k, other), ipvs.ErrNoDestination)
	require.ErrorIs(t, c.DeleteDestination(k, other), ipvs.ErrNoDestination)
	// Same address, other port: a different real server.
	require.ErrorIs(t, c.DeleteDestination(k, rules.Destination{Addr: rs4a, Port: 81}), ipvs.ErrNoDestination)

	refused := []struct {
		name  string
		d     rules.Destination
		errno unix.Errno
	}{
		{"negative weight", with2(other, func(d *rules.Destination) { d.Weight = -1 }), unix.ERANGE},
		{"lower above upper", with2(other, func(d *rules.Destination) { d.UpperThreshold, d.LowerThreshold = 5, 10 }), unix.ERANGE},
		{"lower without upper", with2(other, func(d *rules.Destination) { d.LowerThreshold = 5 }), unix.ERANGE},
		{"gue without port", with2(other, func(d *rules.Destination) { d.Forward, d.TunnelType = rules.Tunnel, rules.TunnelGUE }), unix.EINVAL},
		{"multicast address", with2(other, func(d *rules.Destination) { d.Addr = netip.MustParseAddr("224.0.0.1") }), unix.EINVAL},
		{"broadcast address", with2(other, func(d *rules.Destination) { d.Addr = netip.MustParseAddr("255.255.255.255") }), unix.EINVAL},
		{"zero address", with2(other, func(d *rules.Destination) { d.Addr = netip.MustParseAddr("0.0.0.0") }), unix.EINVAL},
		{"mixed family without tunnel", with2(other, func(d *rules.Destination) { d.Family, d.Addr = rules.IPv6, rs6a }), unix.EINVAL},
	}
	for _, r := range refused {
		err := c.AddDestination(k, r.d)
		require.ErrorIs(t, err, r.errno, "add: %s", r.name)
	}
	// Edits are checked the same way (except the address, which selects).
	require.ErrorIs(t, c.UpdateDestination(k, with2(d, func(d *rules.Destination) { d.Weight = -5 })), unix.ERANGE)
	require.ErrorIs(t, c.UpdateDestination(k, with2(d, func(d *rules.Destination) { d.LowerThreshold = 1 })), unix.ERANGE)

	// A dump for a missing service is empty, not an error.
	got, err := c.Destinations(missing)
	require.NoError(t, err)
	require.Empty(t, got)

	// The table still holds exactly the one real server.
	got, err = c.Destinations(k)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, with2(d, func(d *rules.Destination) { d.Family = rules.IPv4 }), destWithoutCounters(got[0]))
}

func with2(d rules.Destination, fn func(*rules.Destination)) rules.Destination { fn(&d); return d }

func TestKernelFlush(t *testing.T) {
	c, ns := kernelClient(t)
	for _, tc := range serviceCases {
		if tc.svc.PE != "" {
			continue
		}
		build(t, c, tc.svc, nil)
	}
	require.NoError(t, c.AddDestination(serviceCases[0].svc.ServiceKey, rules.Destination{Addr: rs4a, Port: 80, Forward: rules.Route, Weight: 1}))
	all, err := c.Services()
	require.NoError(t, err)
	require.NotEmpty(t, all)
	require.NoError(t, c.Flush())
	all, err = c.Services()
	require.NoError(t, err)
	require.Empty(t, all)
	require.Empty(t, ns.Ipvsadm(t, "-Sn"))
	// Flushing an empty table is fine.
	require.NoError(t, c.Flush())
}

func TestKernelNamespaceIsolation(t *testing.T) {
	a, _ := kernelClient(t)
	b, _ := kernelClient(t)
	require.NoError(t, a.AddService(svc4(rules.TCP, v4a, 80, "rr")))
	got, err := b.Services()
	require.NoError(t, err)
	require.Empty(t, got)
	// The same key is free in the other namespace.
	require.NoError(t, b.AddService(svc4(rules.TCP, v4a, 80, "wlc")))
}

func TestKernelManyServices(t *testing.T) {
	// Enough services and real servers that every dump spans several
	// reply chunks.
	c, _ := kernelClient(t)
	const services, perService = 300, 3
	for i := 0; i < services; i++ {
		svc := svc4(rules.TCP, netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 80, "rr")
		var dests []rules.Destination
		for j := 0; j < perService; j++ {
			dests = append(dests, rules.Destination{Addr: netip.AddrFrom4([4]byte{192, 168, byte(i), byte(j + 1)}), Port: 80, Forward: rules.Masquerade, Weight: 1})
		}
		build(t, c, svc, dests)
	}
	for i := 0; i < 10; i++ {
		require.NoError(t, c.AddService(fwm(rules.IPv6, uint32(i+1), "wlc")))
	}
	all, err := c.Services()
	require.NoError(t, err)
	require.Len(t, all, services+10)
	seen := map[rules.ServiceKey]bool{}
	for _, s := range all {
		require.False(t, seen[s.ServiceKey], "duplicate %v", s.ServiceKey)
		seen[s.ServiceKey] = true
		ds, err := c.Destinations(s.ServiceKey)
		require.NoError(t, err)
		if s.IsFWMark() {
			require.Empty(t, ds)
		} else {
			require.Len(t, ds, perService)
		}
	}
}

func TestKernelTimeouts(t *testing.T) {
	c, ns := kernelClient(t)
	def, err := c.Timeouts()
	require.NoError(t, err)
	require.Equal(t, rules.Timeouts{TCP: 900, TCPFin: 120, UDP: 300}, def)

	want := rules.Timeouts{TCP: 3600, TCPFin: 60, UDP: 30}
	require.NoError(t, c.SetTimeouts(want))
	got, err := c.Timeouts()
	require.NoError(t, err)
	require.Equal(t, want, got)

	// Zero leaves a value unchanged.
	require.NoError(t, c.SetTimeouts(rules.Timeouts{UDP: 45}))
	got, err = c.Timeouts()
	require.NoError(t, err)
	require.Equal(t, rules.Timeouts{TCP: 3600, TCPFin: 60, UDP: 45}, got)

	// Values the kernel cannot hold in jiffies are refused, and change
	// nothing.
	require.ErrorIs(t, c.SetTimeouts(rules.Timeouts{TCP: 1 << 31}), unix.EINVAL)
	require.ErrorIs(t, c.SetTimeouts(rules.Timeouts{TCP: 9000000}), unix.EINVAL)
	got, err = c.Timeouts()
	require.NoError(t, err)
	require.Equal(t, rules.Timeouts{TCP: 3600, TCPFin: 60, UDP: 45}, got)

	ipvstest.RequireReference(t)
	ref := ipvstest.NewNS(t)
	ref.Ipvsadm(t, "--set", "3600", "60", "45")
	require.Equal(t, ref.Ipvsadm(t, "-L", "--timeout"), ns.Ipvsadm(t, "-L", "--timeout"))
}

func TestKernelDaemons(t *testing.T) {
	c, ns := kernelClient(t)
	ns.AddDummy(t, "sync0", "172.16.0.1/24")
	ds, err := c.Daemons()
	require.NoError(t, err)
	require.Empty(t, ds)

	master := rules.Daemon{State: rules.Master, Interface: "sync0", SyncID: 7}
	require.NoError(t, c.StartDaemon(master))
	t.Cleanup(func() { c.StopDaemon(rules.Master) })
	require.ErrorIs(t, c.StartDaemon(master), ipvs.ErrDaemonRunning)

	backup := rules.Daemon{State: rules.Backup, Interface: "sync0", SyncID: 9, SyncMaxLen: 1400,
		Group: netip.MustParseAddr("239.1.2.3"), Port: 8900, TTL: 3}
	require.NoError(t, c.StartDaemon(backup))
	t.Cleanup(func() { c.StopDaemon(rules.Backup) })

	ds, err = c.Daemons()
	require.NoError(t, err)
	require.Len(t, ds, 2)
	require.Equal(t, rules.Master, ds[0].State)
	require.Equal(t, "sync0", ds[0].Interface)
	require.Equal(t, uint32(7), ds[0].SyncID)
	// Kernel defaults for what the master left out.
	require.Equal(t, netip.MustParseAddr("224.0.0.81"), ds[0].Group)
	require.Equal(t, uint16(8848), ds[0].Port)
	require.Equal(t, uint8(1), ds[0].TTL)
	require.NotZero(t, ds[0].SyncMaxLen)
	require.Equal(t, backup, ds[1])

	ipvstest.RequireReference(t)
	ref := ipvstest.NewNS(t)
	ref.AddDummy(t, "sync0", "172.16.0.1/24")
	ref.Ipvsadm(t, "--start-daemon", "master", "--mcast-interface", "sync0", "--syncid", "7")
	ref.Ipvsadm(t, "--start-daemon", "backup", "--mcast-interface", "sync0", "--syncid", "9",
		"--sync-maxlen", "1400", "--mcast-group", "239.1.2.3", "--mcast-port", "8900", "--mcast-ttl", "3")
	t.Cleanup(func() {
		ref.Run(t, "", "ipvsadm", "--stop-daemon", "master")
		ref.Run(t, "", "ipvsadm", "--stop-daemon", "backup")
	})
	require.Equal(t, ref.Ipvsadm(t, "-L", "--daemon"), ns.Ipvsadm(t, "-L", "--daemon"))

	settleDaemons()
	require.NoError(t, c.StopDaemon(rules.Master))
	require.ErrorIs(t, c.StopDaemon(rules.Master), ipvs.ErrNoDaemon)
	ds, err = c.Daemons()
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, rules.Backup, ds[0].State)
	require.NoError(t, c.StopDaemon(rules.Backup))

	require.ErrorIs(t, c.StartDaemon(rules.Daemon{State: rules.Master, Interface: "nosuch0"}), unix.ENODEV)
	require.ErrorIs(t, c.StartDaemon(rules.Daemon{State: rules.Master, Interface: "sync0", Group: netip.MustParseAddr("10.1.1.1")}), unix.EINVAL)

	v6 := rules.Daemon{State: rules.Master, Interface: "sync0", SyncID: 1, Group: netip.MustParseAddr("ff02::1:2")}
	require.NoError(t, c.StartDaemon(v6))
	ds, err = c.Daemons()
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, v6.Group, ds[0].Group)
	settleDaemons()
	require.NoError(t, c.StopDaemon(rules.Master))
}

// settleDaemons lets freshly started sync threads get going before they
// are stopped: stopping one within milliseconds of its start has been
// seen to hang the 6.1 kernel's stop (in the reference ipvsadm too).
func settleDaemons() { time.Sleep(300 * time.Millisecond) }

// inNS runs fn on a thread switched into ns, for sockets that must live
// there.
func inNS(t *testing.T, ns *ipvstest.NS, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		// The thread is never unlocked: it exits with the goroutine
		// rather than returning to the pool in a foreign namespace.
		if err := netns.Set(netns.NsHandle(ns.FD())); err != nil {
			t.Errorf("enter namespace: %v", err)
			return
		}
		fn()
	}()
	<-done
}

func TestKernelCountersAndZero(t *testing.T) {
	// UDP sent from the namespace itself is scheduled by IPVS's local-out
	// hook; each datagram to a new source port makes a connection, so
	// the counters move without any real server answering.
	c, ns := kernelClient(t)
	ns.AddDummy(t, "vip0", "10.0.0.1/32", "10.0.0.2/32", "192.168.10.254/24")
	svcs := []rules.Service{svc4(rules.UDP, v4a, 9, "rr"), svc4(rules.UDP, v4b, 9, "rr")}
	for _, s := range svcs {
		build(t, c, s, []rules.Destination{{Addr: rs4a, Port: 9, Forward: rules.Route, Weight: 1}})
	}
	// Each datagram comes from its own socket, all kept open until the
	// last is sent: a port freed early can be chosen again, and two
	// datagrams from one port make one connection, not two.
	send := func(to netip.Addr, n int) {
		inNS(t, ns, func() {
			for i := 0; i < n; i++ {
				conn, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(to, 9)))
				if err != nil {
					t.Errorf("dial: %v", err)
					return
				}
				defer conn.Close()
				if _, err := conn.Write([]byte("ping")); err != nil {
					t.Errorf("send: %v", err)
				}
			}
		})
	}
	send(v4a, 3)
	send(v4b, 2)

	stats := func(k rules.ServiceKey) (rules.Service, rules.Destination) {
		s, err := c.Service(k)
		require.NoError(t, err)
		ds, err := c.Destinations(k)
		require.NoError(t, err)
		require.Len(t, ds, 1)
		return s, ds[0]
	}
	// Kernels up to 6.1 fold the per-CPU counters into what netlink
	// reports only in the estimator, every two seconds.
	waitConns := func(k rules.ServiceKey, want uint64) (rules.Service, rules.Destination) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			s, d := stats(k)
			if s.Stats64.Conns >= want || time.Now().After(deadline) {
				return s, d
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitConns(svcs[1].ServiceKey, 2)
	s, d := waitConns(svcs[0].ServiceKey, 3)
	require.Equal(t, uint64(3), s.Stats64.Conns)
	require.Equal(t, uint64(3), s.Stats.Conns)
	require.Equal(t, uint64(3), s.Stats64.InPkts)
	require.Equal(t, uint64(3*(20+8+4)), s.Stats64.InBytes)
	require.Equal(t, uint64(3), d.Stats64.Conns)
	require.Equal(t, uint32(3), d.InactiveConns, "UDP connections count as inactive")
	require.Zero(t, d.ActiveConns)

	require.NoError(t, c.ZeroService(svcs[0].ServiceKey))
	s, d = stats(svcs[0].ServiceKey)
	require.Zero(t, s.Stats64.Conns)
	require.Zero(t, s.Stats64.InPkts)
	require.Zero(t, d.Stats64.Conns)
	require.Equal(t, uint32(3), d.InactiveConns, "zero keeps the connections")
	s, _ = stats(svcs[1].ServiceKey)
	require.Equal(t, uint64(2), s.Stats64.Conns, "zeroing one service leaves the others")

	require.NoError(t, c.ZeroAll())
	s, d = stats(svcs[1].ServiceKey)
	require.Zero(t, s.Stats64.Conns)
	require.Zero(t, d.Stats64.InPkts)

	// Rates are estimated every two seconds; traffic after zeroing shows
	// up in them.
	send(v4a, 50)
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, _ = stats(svcs[0].ServiceKey)
		if (s.Stats64.Conns >= 50 && s.Stats64.CPS > 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.Equal(t, uint64(50), s.Stats64.Conns)
	require.NotZero(t, s.Stats64.CPS, "connection rate after 50 connections")
}
