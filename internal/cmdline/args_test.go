package cmdline

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/plan"
	"github.com/ipvsadm-go/ipvsadm/internal/render"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/stretchr/testify/require"
)

// fakeNames resolves a few fixed names, like a small /etc/hosts and
// /etc/services.
type fakeNames struct{}

func (fakeNames) LookupHost4(name string) (netip.Addr, bool) {
	switch name {
	case "vip", "vip.example.com":
		return netip.MustParseAddr("10.0.0.1"), true
	case "localhost":
		return netip.MustParseAddr("127.0.0.1"), true
	}
	return netip.Addr{}, false
}

func (fakeNames) LookupPort(name string, p rules.Protocol) (uint16, bool) {
	switch {
	case name == "http" || name == "www":
		return 80, true
	case name == "domain":
		return 53, true
	case name == "sip" && p == rules.UDP:
		return 5060, true
	}
	return 0, false
}

func (fakeNames) HostName(netip.Addr) (string, bool)             { return "", false }
func (fakeNames) PortName(uint16, rules.Protocol) (string, bool) { return "", false }

// testSchedFlags is a minimal stand-in for sched.ParseFlags.
func testSchedFlags(s, text string) (rules.ServiceFlags, error) {
	var f rules.ServiceFlags
	for _, item := range strings.Split(text, ",") {
		switch {
		case item == "":
		case item == "flag-1":
			f |= rules.FlagSched1
		case item == "flag-3":
			f |= rules.FlagSched3
		case item == "sh-port" && s == "sh":
			f |= rules.FlagSched2
		case item == "sh-port":
			return 0, fmt.Errorf("incompatible scheduler flag `%s'", item)
		default:
			return 0, fmt.Errorf("invalid scheduler flag `%s'", item)
		}
	}
	return f, nil
}

func testParser() *Parser {
	return &Parser{Argv0: "ipvsadm", Resolver: fakeNames{}, SchedFlags: testSchedFlags}
}

func TestParseErrors(t *testing.T) {
	try := "Try `ipvsadm -h' or 'ipvsadm --help' for more information."
	tests := []struct {
		args string
		kind ArgErrorKind
		msg  string
	}{
		// The first option must be a command.
		{"-nL", ArgTry, try},
		{"--foo", ArgTry, try},
		{"foo", ArgTry, try},
		{"--", ArgTry, try},
		{"-L=", ArgTry, try},
		{"--list=1", ArgTry, try},
		{"--start-daemon", ArgTry, try},
		{"-V", ArgTry, try},
		// popt errors after the command.
		{"-L --foo", ArgPopt, "--foo: unknown option"},
		{"-Lq", ArgPopt, "-Lq: unknown option"},
		{"-L --bogus=1", ArgPopt, "--bogus=1: unknown option"},
		{"-A -t", ArgPopt, "-t: missing argument"},
		{"-At", ArgPopt, "-At: missing argument"},
		{"-A --tcp-service", ArgPopt, "--tcp-service: missing argument"},
		{"-L --stats=1", ArgPopt, "--stats=1: option does not take an argument"},
		{"-L -n=", ArgPopt, "-n=: option does not take an argument"},
		{"-A -t 10.0.0.1:80 -p -5", ArgPopt, "-5: unknown option"},
		{"-A -t 1.2.3.4:80 foo -s", ArgPopt, "-s: missing argument"},
		// Validation.
		{"-L foo", ArgFail, "unexpected argument foo"},
		{"-C -C", ArgFail, "invalid option `-C'"},
		{"-LC", ArgFail, "invalid option `-LC'"},
		{"-L -h", ArgFail, "invalid option `-h'"},
		{"-L -n -n", ArgFail, "multiple 'numeric' options specified"},
		{"-Lnn", ArgFail, "multiple 'numeric' options specified"},
		{"-A -t 1.1.1.1:1 -f 3", ArgFail, "multiple 'service-address' options specified"},
		{"-a -t 1.1.1.1:1 -r 2.2.2.2 -m -g", ArgFail, "multiple 'forwarding-method' options specified"},
		{"-A", ArgFail, "You need to supply the 'service-address' option for the 'add-service' command"},
		{"-A -t 10.0.0.1", ArgFail, "Zero port specified for non-persistent service"},
		{"-A -t 10.0.0.1:80 -o", ArgFail, "One-Packet Scheduling is only for UDP virtual services"},
		{"-A -6 -f 1", ArgFail, "-6 used before -f\n"},
		{"-L -6", ArgFail, "-6 used before -f\n"},
		{"-A -t 1.2.3.4:80 -6", ArgFail, "-6 used before -f\n"},
		{"-A -f 0", ArgFail, "invalid fwmark value `0' specified"},
		{"-A --fwmark-service 0x1", ArgFail, "invalid fwmark value `0x1' specified"},
		{"-A -f 4294967296", ArgFail, "invalid fwmark value `4294967296' specified"},
		{"-A -t 10.0.0.1:80 -p 0", ArgFail, "invalid timeout value `0' specified"},
		{"-A -t 10.0.0.1:80 -p rr", ArgFail, "invalid timeout value `rr' specified"},
		{"-A -t 1.2.3.4:80 -p=", ArgFail, "invalid timeout value `' specified"},
		{"-A -t [2001:db8::1]:80 -p -M 129", ArgFail, "illegal ipv6 netmask specified"},
		{"-A -t 10.0.0.1:80 -p -M foo", ArgFail, "illegal virtual server persistent mask specified"},
		{"-L -c --stats", ArgFail, "options conflicts in the list command"},
		{"-L --timeout --persistent-conn", ArgFail, "options conflicts in the list command"},
		{"-L --timeout --daemon", ArgFail, "The option 'daemon' conflicts with the 'timeout' option in the 'list' command"},
		{"-L -t 1.1.1.1:1 -c", ArgFail, "The option 'service-address' conflicts with the 'connection' option in the 'list' command"},
		{"-list", ArgFail, "Illegal 'scheduler' option with the 'list' command"},
		{"--set 10 20", ArgFail, "--set option requires 3 timeout values"},
		{"--set 10 20 30 40", ArgFail, "unexpected argument 40"},
		{"--set 10 20 2678401", ArgFail, "invalid timeout value `2678401' specified"},
		{"--start-daemon foo", ArgFail, "illegal start-daemon parameter specified"},
		{"--stop-daemon foo", ArgFail, "illegal start_daemon specified"},
		{"-a -t 10.0.0.1:80 -r [2001:db8::1]:80", ArgFail, "Different address family is allowed only for tunneling servers"},
		{"-a -t 10.0.0.1:80 -r 10.1.1.1 -i --tun-type gue", ArgFail, "You need to supply the 'tun-port' option for the 'gue' tunnel type"},
		{"-a -t 10.0.0.1:80 -r 10.1.1.1 -m --tun-csum", ArgFail, "Tunnel options conflict with forward method"},
		{"-a -t 10.0.0.1:80 -r 10.1.1.1 -i --tun-type gre --tun-remcsum", ArgFail, "Illegal 'tun-remcsum' option with the 'gre' tunnel type"},
		{"-a -t 10.0.0.1:80 -r 10.1.1.1 -i --tun-csum", ArgFail, "Illegal 'tun-csum' option with the 'ipip' tunnel type"},
		{"-a -t 10.0.0.1:80 -r 10.1.1.1 -i --tun-type gue --tun-port 1 --tun-csum --tun-nocsum", ArgFail, "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gue' tunnel type"},
		{"-A -t 10.0.0.1:80 -s rr -b sh-port", ArgFail, "incompatible scheduler flag `sh-port'"},
		{"-E -t 10.0.0.1:80 -b sh-port", ArgFail, "incompatible scheduler flag `sh-port'"},
		{"-A -t 10.0.0.1:80 -b bogus", ArgFail, "invalid scheduler flag `bogus'"},
		{"-a -w abc -t bad", ArgFail, "illegal weight specified"},
		{"-a -w 5", ArgFail, "You need to supply the 'service-address' option for the 'add-server' command"},
		{"-a -t 1.2.3.4:84 -r 5.5.5.8 -w 2147483648", ArgFail, "illegal weight specified"},
		{"-a -t 1.2.3.4:84 -r 5.5.5.8 -x -1", ArgFail, "illegal u_threshold specified"},
		{"-a -t 1.2.3.4:84 -r 5.5.5.8 -y x", ArgFail, "illegal l_threshold specified"},
		{"-R -n", ArgFail, "Illegal 'numeric' option with the 'restore' command"},
		{"-R foo", ArgFail, "unexpected argument foo"},
		{"-S -t 10.0.0.1:80", ArgFail, "Illegal 'service-address' option with the 'save' command"},
		{"-Sn -n", ArgFail, "multiple 'numeric' options specified"},
		{"--start-daemon master --mcast-group 10.0.0.1", ArgFail, "invalid IPv4 mcast-group `10.0.0.1'"},
		{"--start-daemon master --mcast-group 2001:db8::1", ArgFail, "invalid IPv6 mcast-group `2001:db8::1'"},
		{"--start-daemon master --sync-maxlen 65508", ArgFail, "illegal sync-maxlen specified"},
		{"--start-daemon master --syncid 256", ArgFail, "illegal syncid specified"},
		{"--start-daemon master --mcast-port 0", ArgFail, "illegal mcast-port specified"},
		{"--start-daemon master --mcast-ttl 256", ArgFail, "illegal mcast-ttl specified"},
		{"--stop-daemon backup --mcast-interface eth0", ArgFail, "Illegal 'mcast-interface' option with the 'stop-daemon' command"},
		{"-A -t 80", ArgFail, "illegal virtual server address[:port] specified"},
		{"-A -t [::1]", ArgFail, "illegal virtual server address[:port] specified"},
		{"-A -t 1.2.3.4:", ArgFail, "illegal virtual server address[:port] specified"},
		{"-A -t 1.2.3.4:80:90", ArgFail, "illegal virtual server address[:port] specified"},
		{"-A -t 1.2.3.4:65536", ArgFail, "illegal virtual server address[:port] specified"},
		{"-A -t \"10.0.0.1:80\"", ArgFail, "illegal virtual server address[:port] specified"},
		{"-a -r 1.1.1.1:http -u 10.0.0.1:53", ArgFail, "illegal real server address[:port] specified"},
		{"-a -t 10.0.0.1:80 -r 1.1.1.1 --tun-type foo", ArgFail, "illegal tunnel type specified"},
		{"-a -t 10.0.0.1:80 -r 1.1.1.1 --tun-port 0", ArgFail, "illegal tunnel port specified"},
		{"-C --sort -n", ArgFail, "Illegal 'numeric' option with the 'flush' command"},
		{"-D -t 10.0.0.1:80 -s rr", ArgFail, "Illegal 'scheduler' option with the 'delete-service' command"},
		{"-d -t 10.0.0.1:80", ArgFail, "You need to supply the 'real-server' option for the 'delete-server' command"},
		{"-d -t 10.0.0.1:80 -r 1.1.1.1 -w 2", ArgFail, "Illegal 'weight' option with the 'delete-server' command"},
		{"-Z -n", ArgFail, "Illegal 'numeric' option with the 'zero' command"},
	}
	for _, tc := range tests {
		t.Run(tc.args, func(t *testing.T) {
			_, err := testParser().Parse(strings.Fields(tc.args))
			var ae *ArgError
			require.ErrorAs(t, err, &ae)
			require.Equal(t, tc.msg, ae.Msg)
			require.Equal(t, tc.kind, ae.Kind)
		})
	}
}

func TestParseCommands(t *testing.T) {
	v4 := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	tcp := func(a string, port uint16) rules.ServiceKey {
		return rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: v4(a), Port: port}
	}
	tests := []struct {
		args []string
		want Command
	}{
		{nil, Command{Kind: CmdList}},
		{[]string{"-h", "--bogus"}, Command{Kind: CmdHelp}},
		{[]string{"-v", "-L"}, Command{Kind: CmdVersion}},
		{[]string{"-At", "10.0.0.1:80", "-srr"}, Command{Kind: CmdAddService, HasService: true,
			Service: rules.Service{ServiceKey: tcp("10.0.0.1", 80), Scheduler: "rr", Netmask: 0xffffffff}}},
		{[]string{"-A", "-t10.0.0.1:80", "-s=rr", "-p30"}, Command{Kind: CmdAddService, HasService: true,
			Service: rules.Service{ServiceKey: tcp("10.0.0.1", 80), Scheduler: "rr", Netmask: 0xffffffff, Flags: rules.FlagPersistent, Timeout: 30}}},
		// -p takes the next word only if it does not start with '-'.
		{[]string{"-A", "-t", "10.0.0.1:80", "-p", "-s", "rr"}, Command{Kind: CmdAddService, HasService: true,
			Service: rules.Service{ServiceKey: tcp("10.0.0.1", 80), Scheduler: "rr", Netmask: 0xffffffff, Flags: rules.FlagPersistent, Timeout: 360}}},
		{[]string{"-A", "-t", "10.0.0.1:80", "-p", "600", "-M", "255.255.255.0"}, Command{Kind: CmdAddService, HasService: true,
			Service: rules.Service{ServiceKey: tcp("10.0.0.1", 80), Scheduler: "wlc", Netmask: 0xffffff00, Flags: rules.FlagPersistent, Timeout: 600}}},
		// -M 24 is 0.0.0.24 for IPv4.
		{[]string{"-A", "-t", "10.0.0.1:0", "-p", "-M", "24"}, Command{Kind: CmdAddService, HasService: true,
			Service: rules.Service{ServiceKey: tcp("10.0.0.1", 0), Scheduler: "wlc", Netmask: 24, Flags: rules.FlagPersistent, Timeout: 360}}},
		// Names, and inet_aton's shorthand.
		{[]string{"-A", "-t", "vip:http"}, Command{Kind: CmdAddService, HasService: true,
			Service: rules.Service{ServiceKey: tcp("10.0.0.1", 80), Scheduler: "wlc", Netmask: 0xffffffff}}},
		{[]string{"-A", "-t", "127.1:www"}, Command{Kind: CmdAddService, HasService: true,
			Service: rules.Service{ServiceKey: tcp("127.0.0.1", 80), Scheduler: "wlc", Netmask: 0xffffffff}}},
		// A bracketed non-IPv6 host loses its port.
		{[]string{"-A", "-t", "[localhost]:80", "-p"}, Command{Kind: CmdAddService, HasService: true,
			Service: rules.Service{ServiceKey: tcp("127.0.0.1", 0), Scheduler: "wlc", Netmask: 0xffffffff, Flags: rules.FlagPersistent, Timeout: 360}}},
		// Unbracketed IPv6 has no port; -M before the address is lost.
		{[]string{"-A", "-M", "64", "-t", "2001:db8::1", "-p"}, Command{Kind: CmdAddService, HasService: true,
			Service: rules.Service{ServiceKey: rules.ServiceKey{Family: rules.IPv6, Protocol: rules.TCP, Addr: v4("2001:db8::1")}, Scheduler: "wlc", Netmask: 128, Flags: rules.FlagPersistent, Timeout: 360}}},
		{[]string{"-A", "-f", "3", "-M", "64", "-6"}, Command{Kind: CmdAddService, HasService: true,
			Service: rules.Service{ServiceKey: rules.ServiceKey{Family: rules.IPv6, FWMark: 3}, Scheduler: "wlc", Netmask: 128}}},
		{[]string{"-A", "-f", " 7", "-6", "-6", "-M", "64abc", "-b", "flag-1,,flag-3", "-o"}, Command{Kind: CmdAddService, HasService: true,
			Service: rules.Service{ServiceKey: rules.ServiceKey{Family: rules.IPv6, FWMark: 7}, Scheduler: "wlc", Netmask: 64, Flags: rules.FlagSched1 | rules.FlagSched3 | rules.FlagOnePacket}}},
		{[]string{"-A", "-u", "10.0.0.1:sip", "-o", "--pe", "sip", "-s", "abcdefghijklmnopq"}, Command{Kind: CmdAddService, HasService: true,
			Service: rules.Service{ServiceKey: rules.ServiceKey{Family: rules.IPv4, Protocol: rules.UDP, Addr: v4("10.0.0.1"), Port: 5060}, Scheduler: "abcdefghijklmno", Netmask: 0xffffffff, Flags: rules.FlagOnePacket, PE: "sip"}}},
		// popt's !#:+ takes the next word.
		{[]string{"-A", "-t", "10.0.0.1:80", "-s", "!#:+", "rr"}, Command{Kind: CmdAddService, HasService: true,
			Service: rules.Service{ServiceKey: tcp("10.0.0.1", 80), Scheduler: "rr", Netmask: 0xffffffff}}},
		// DR and tunnel real servers take the service's port.
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "192.168.1.12:8080", "-i", "-w", "0"}, Command{Kind: CmdAddServer, HasService: true,
			Service: rules.Service{ServiceKey: tcp("10.0.0.1", 80), Netmask: 0xffffffff},
			Dest:    rules.Destination{Family: rules.IPv4, Addr: v4("192.168.1.12"), Port: 80, Forward: rules.Tunnel, Weight: 0}}},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "192.168.1.11:8080", "-m", "-w", "+3", "-x", "100", "-y", "10"}, Command{Kind: CmdAddServer, HasService: true,
			Service: rules.Service{ServiceKey: tcp("10.0.0.1", 80), Netmask: 0xffffffff},
			Dest:    rules.Destination{Family: rules.IPv4, Addr: v4("192.168.1.11"), Port: 8080, Forward: rules.Masquerade, Weight: 3, UpperThreshold: 100, LowerThreshold: 10}}},
		// Without a port the real server gets the service's port; -d does
		// not force it.
		{[]string{"-d", "-t", "10.0.0.1:80", "-r", "192.168.1.11"}, Command{Kind: CmdDeleteServer, HasService: true,
			Service: rules.Service{ServiceKey: tcp("10.0.0.1", 80), Netmask: 0xffffffff},
			Dest:    rules.Destination{Family: rules.IPv4, Addr: v4("192.168.1.11"), Port: 80, Forward: rules.Route, Weight: 1}}},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "2001:db8::5", "-i", "--tun-type", "gue", "--tun-port", "6080", "--tun-remcsum"}, Command{Kind: CmdAddServer, HasService: true,
			Service: rules.Service{ServiceKey: tcp("10.0.0.1", 80), Netmask: 0xffffffff},
			Dest:    rules.Destination{Family: rules.IPv6, Addr: v4("2001:db8::5"), Port: 80, Forward: rules.Tunnel, Weight: 1, TunnelType: rules.TunnelGUE, TunnelPort: 6080, TunnelFlags: rules.TunnelRemoteChecksum}}},
		{[]string{"--set", "0", "60", "+5"}, Command{Kind: CmdSetTimeouts,
			Service:  rules.Service{ServiceKey: rules.ServiceKey{Family: rules.IPv4}, Netmask: 0xffffffff},
			Timeouts: rules.Timeouts{TCPFin: 60, UDP: 5}}},
		{[]string{"--start-daemon", "backup", "--mcast-interface", "eth1234567890123456", "--syncid", "9", "--mcast-group", "ff02::1:2", "--mcast-port", "9000", "--mcast-ttl", "2", "--sync-maxlen", "1400"},
			Command{Kind: CmdStartDaemon, Service: rules.Service{ServiceKey: rules.ServiceKey{Family: rules.IPv4}, Netmask: 0xffffffff},
				Daemon: rules.Daemon{State: rules.Backup, Interface: "eth123456789012", SyncID: 9, Group: netip.MustParseAddr("ff02::1:2"), Port: 9000, TTL: 2, SyncMaxLen: 1400}}},
		{[]string{"-Lnc", "--persistent-conn", "--sort", "--sort"}, Command{Kind: CmdList,
			List: render.ListOptions{Numeric: true, Connections: true, PersistentConn: true}}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got, err := testParser().Parse(tc.args)
			require.NoError(t, err)
			want := tc.want
			if len(tc.args) > 0 {
				// Defaults the parser starts every command line with.
				if want.Daemon.Interface == "" {
					want.Daemon.Interface = DefaultMcastInterface
				}
				if !want.Dest.Addr.IsValid() {
					want.Dest.Weight, want.Dest.Forward = 1, rules.Route
				}
				if want.Service.Family == 0 {
					want.Service.Family, want.Service.Netmask = rules.IPv4, 0xffffffff
				}
			}
			require.Equal(t, want, got)
		})
	}
}

// FuzzParse feeds arbitrary argument vectors (NUL-separated) to the
// parser: it must never panic, and every refusal is an *ArgError with a
// message and one of ipvsadm's statuses.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"-A\x00-t\x0010.0.0.1:80\x00-s\x00rr",
		"-Lnc\x00--persistent-conn",
		"-a\x00-t\x00[2001:db8::1]:80\x00-r\x002001:db8::2\x00-i\x00--tun-type\x00gue\x00--tun-port\x006080",
		"--set\x001\x002\x003",
		"-A\x00-f\x00 7\x00-6\x00-p\x00-M\x0064abc\x00-b\x00flag-1,,flag-3",
		"-A\x00-t\x00127.1:www\x00-s\x00!#:+\x00rr",
		"--start-daemon\x00backup\x00--mcast-group\x00ff02::1",
		"-R\x00--\x00-n",
		"-p=\x00-t",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		cmd, err := testParser().Parse(args)
		// ParseInto over a used Command, as a restore parses its lines,
		// leaves nothing of it behind.
		used, uerr := testParser().Parse([]string{"-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2:8080", "-i", "-w", "3", "-x", "9", "--tun-type", "gre", "--tun-csum"})
		require.NoError(t, uerr)
		used.HasService, used.SaveFull, used.Ext.NetNS = true, true, "x"
		used.Restore.Scope = plan.Scope{}
		if ierr := testParser().ParseInto(&used, args); (ierr == nil) != (err == nil) || err == nil && !reflect.DeepEqual(used, cmd) {
			t.Fatalf("ParseInto(%q) over a used Command: %+v, %v; Parse: %+v, %v", args, used, ierr, cmd, err)
		}
		if err != nil {
			var ae *ArgError
			if !errors.As(err, &ae) || ae.Msg == "" {
				t.Fatalf("Parse(%q): %v is not a usable *ArgError", args, err)
			}
			if st := ae.ExitStatus(); st != 2 && st != 255 {
				t.Fatalf("Parse(%q): exit status %d", args, st)
			}
			return
		}
		if cmd.Kind == CmdNone {
			t.Fatalf("Parse(%q) succeeded without a command", args)
		}
	})
}

// TestScannerPosixlyCorrect checks popt's POSIX mode: the first argument
// that is not an option ends option scanning, so later options become
// positional arguments; "!#:+" words do not count as that argument.
func TestScannerPosixlyCorrect(t *testing.T) {
	scan := func(posix bool, args ...string) (opts, positional []string) {
		sc := scanner{args: args, posix: posix}
		for {
			var o occurrence
			ok, err := sc.next(&o)
			if err != nil {
				t.Fatalf("%q: %v", args, err)
			}
			if !ok {
				return opts, sc.positional
			}
			opts = append(opts, o.elem)
		}
	}
	args := []string{"--set", "1", "-n", "2", "3"}
	opts, pos := scan(false, args...)
	require.Equal(t, []string{"--set", "-n"}, opts)
	require.Equal(t, []string{"1", "2", "3"}, pos)
	opts, pos = scan(true, args...)
	require.Equal(t, []string{"--set"}, opts)
	require.Equal(t, []string{"1", "-n", "2", "3"}, pos)

	// A lone "-" is not an option either.
	opts, pos = scan(true, "-L", "-", "-n")
	require.Equal(t, []string{"-L"}, opts)
	require.Equal(t, []string{"-", "-n"}, pos)

	// The word that "!#:+" takes is skipped, not positional.
	opts, pos = scan(true, "-A", "-s", "!#:+", "rr", "-p")
	require.Equal(t, []string{"-A", "-s", "-p"}, opts)
	require.Empty(t, pos)
}

// TestRowMasksAgreeWithCheckRow holds the masks that let most lines skip
// the walk of their command's row to the walk: a set of options passes
// the masks exactly when checkRow finds nothing, for every row, every
// set of one or two options and many random sets.
func TestRowMasksAgreeWithCheckRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for kind, row := range optionMatrix {
		masks := optionRowMasks[kind]
		check := func(given optSet) {
			st := parseState{cmd: &Command{Kind: kind}, given: given}
			walked := st.checkRow(row, allOptions[:], func() string { return "" }) == nil
			if masks.pass(given) != walked {
				t.Fatalf("%s with options %#x: masks pass %v, checkRow passes %v", kind, given, masks.pass(given), walked)
			}
		}
		base := masks.required
		for i := range optID(numOptBits) {
			for j := range optID(numOptBits) {
				check(1<<i | 1<<j)
				check(base | 1<<i | 1<<j)
				check(base&^(1<<i) | 1<<j)
			}
		}
		for range 20000 {
			check(optSet(rng.Uint64()) & (1<<numOptBits - 1))
			check(base | optSet(rng.Uint64())&(1<<numOptBits-1)&^masks.illegal)
		}
	}
}

// FuzzServiceAddrMemo holds the parser's memory of the last service
// address to parseAddrPort itself: whatever was parsed before, a text
// gives what parseAddrPort gives it, with the resolver.
func FuzzServiceAddrMemo(f *testing.F) {
	f.Add("10.0.0.1:80", "10.0.0.1:80", uint8(6), uint16(0))
	f.Add("10.0.0.1:80", "10.0.0.1:www", uint8(17), uint16(80))
	f.Add("vip:http", "vip:http", uint8(6), uint16(0))
	f.Add("[2001:db8::1]:443", "2001:db8::1", uint8(132), uint16(8))
	f.Add("1.2.3.4", "1.2.3.4", uint8(6), uint16(7))
	f.Fuzz(func(t *testing.T, first, second string, proto uint8, defPort uint16) {
		var m addrMemo
		p := rules.Protocol(proto)
		for _, text := range []string{first, second, first, first} {
			for _, port := range []uint16{defPort, defPort, 0} {
				a, n, ok := m.parse(text, p, port, fakeNames{})
				wa, wn, wok := parseAddrPort(text, p, port, fakeNames{})
				if a != wa || n != wn || ok != wok {
					t.Fatalf("%q proto %d default port %d: memo gives %v %d %v, parseAddrPort %v %d %v", text, p, port, a, n, ok, wa, wn, wok)
				}
			}
		}
	})
}
