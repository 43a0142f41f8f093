package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
	"github.com/ipvsadm-go/ipvsadm/internal/testkit"
)

// TestOldLinesParseTheSame: every command line of the conformance suite
// parses exactly as before when extensions are known.
func TestOldLinesParseTheSame(t *testing.T) {
	dir, err := confDir()
	require.NoError(t, err)
	cases, err := loadCases(dir)
	require.NoError(t, err)
	cases = append(cases, generatedCases()...)
	p := &program{argv0: "ipvsadm", res: newResolver()}
	n := 0
	for _, c := range cases {
		for _, st := range c.Steps {
			if st.Kind != stepCommand || len(st.Argv) == 0 || st.Argv[0] != "ipvsadm" {
				continue
			}
			old, oldErr := p.parser().Parse(st.Argv[1:])
			ext, extErr := p.commandParser().Parse(st.Argv[1:])
			require.Equal(t, oldErr, extErr, "%s line %d: %q", c.FullName(), st.Line, st.Argv)
			require.Equal(t, old, ext, "%s line %d: %q", c.FullName(), st.Line, st.Argv)
			require.Zero(t, ext.Ext)
			n++
		}
	}
	require.Greater(t, n, 500)
}

// TestExtensionsUnknownInRestoreLines: restore input keeps 1.31's grammar,
// so an extension there is popt's unknown option and the line is skipped.
func TestExtensionsUnknownInRestoreLines(t *testing.T) {
	withBackend(t, newModelBackend(), nil)
	out, errs, status := runArgs([]string{"-R"}, "-A -t 10.0.0.1:80 --json\n-A -t 10.0.0.2:80\n")
	require.Equal(t, 0, status)
	require.Empty(t, out)
	require.Equal(t, "--json: unknown option\n", errs)
}

func TestExtensionParseErrors(t *testing.T) {
	withBackend(t, newModelBackend(), nil)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-L", "--pretty"}, "--pretty only indents the output of --json\n"},
		{[]string{"-S", "--json"}, `{"error":{"message":"-S writes ipvsadm's rules; use -L --json for the table as JSON","operation":null,"errno":null,"errno_name":null,"hint":null,"line":null}}` + "\n"},
		{[]string{"-L", "--system", "--stats"}, "--system is a view of its own: use it as -L --system [-n] [--json]\n"},
		{[]string{"-A", "-t", "1.2.3.4:80", "--system"}, "--system is a view of its own: use it as -L --system [-n] [--json]\n"},
		{[]string{"-L", "--conn-count"}, "--conn-virtual, --conn-real, --conn-state and --conn-count select connections of -L -c\n"},
		{[]string{"-L", "-c", "--conn-virtual", "vip"}, "--conn-virtual needs a numeric address, address:port or [address]:port, not `vip'\n"},
		{[]string{"-L", "-c", "--json", "--pretty"}, `{"error":{"message":"--pretty does not apply to -L -c --json, which writes one connection per line","operation":null,"errno":null,"errno_name":null,"hint":null,"line":null}}` + "\n"},
		{[]string{"-L", "--json", "--json"}, `{"error":{"message":"multiple '--json' options specified","operation":null,"errno":null,"errno_name":null,"hint":null,"line":null}}` + "\n"},
		{[]string{"-L", "--netns="}, "--netns needs a namespace name (under /run/netns) or the path of a namespace file\n"},
		// 1.31's checks come first.
		{[]string{"-L", "--json", "-s", "rr"}, `{"error":{"message":"Illegal 'scheduler' option with the 'list' command","operation":null,"errno":null,"errno_name":null,"hint":null,"line":null}}` + "\n"},
	} {
		out, errs, status := runArgs(tc.args, "")
		require.Equal(t, 2, status, "%q", tc.args)
		require.Empty(t, out)
		require.Equal(t, tc.msg, errs, "%q", tc.args)
		if strings.HasPrefix(errs, "{") {
			testkit.ValidateJSON(t, "error", []byte(errs))
		}
	}
}

// modelTable builds a table of every kind of service and real server.
func modelTable(t *testing.T) *modelBackend {
	m := newModelBackend()
	withBackend(t, m, nil)
	_, errs, status := runArgs([]string{"-R"}, strings.Join([]string{
		"-A -t 10.0.0.1:80 -s rr",
		"-a -t 10.0.0.1:80 -r 192.168.1.2:80 -m -w 3 -x 100 -y 10",
		"-a -t 10.0.0.1:80 -r 192.168.1.1:8080 -m",
		"-A -u 10.0.0.1:53 -s sh -b sh-port -p 300 -M 255.255.255.0 -o",
		"-a -u 10.0.0.1:53 -r 192.168.1.3 -g",
		"-A -f 7 -6 -s mh -b mh-fallback,mh-port -p 60 -M 64",
		"-a -f 7 -6 -r 2001:db8::2 -i --tun-type gue --tun-port 6080 --tun-csum",
		"-a -f 7 -6 -r 192.168.1.9 -i --tun-type ipip",
		"-A --sctp-service [2001:db8::1]:3868 -s wlc --pe sip -p",
		"-a --sctp-service [2001:db8::1]:3868 -r [2001:db8::3]:3868 -m -w 0",
		"--set 100 20 30",
	}, "\n")+"\n")
	require.Equal(t, 0, status, errs)
	m.conns = "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n" +
		"TCP C0A80064 D431 0A000001 0050 C0A80002 0050 ESTABLISHED     899\n" +
		"TCP C0A80065 D432 0A000001 0050 C0A80001 1F90 TIME_WAIT        59\n" +
		"UDP C0A80066 1000 0A000001 0035 C0A80003 0035 UDP             299\n" +
		"IP  C0A80066 0000 0A000001 0035 C0A80003 0035 NONE            299\n" +
		"UDP 2001:0db8:0000:0000:0000:0000:0000:0064 13C4 2001:0db8:0000:0000:0000:0000:0000:0001 13C4 2001:0db8:0000:0000:0000:0000:0000:0003 13C4 UDP 100 sip 6162636465\n"
	return m
}

func decodeDoc(t *testing.T, out string) jsondoc.Document {
	t.Helper()
	testkit.ValidateJSON(t, "", []byte(out))
	var d jsondoc.Document
	require.NoError(t, json.Unmarshal([]byte(out), &d))
	return d
}

// TestJSONViews: every view writes one valid document, and the table's
// shape does not depend on the text view options.
func TestJSONViews(t *testing.T) {
	modelTable(t)
	full, errs, status := runArgs([]string{"-L", "--json"}, "")
	require.Equal(t, 0, status, errs)
	d := decodeDoc(t, full)
	require.Len(t, d.Services, 4)
	require.NotNil(t, d.Timeouts)
	require.Equal(t, jsondoc.Timeouts{TCPSeconds: 100, TCPFinSeconds: 20, UDPSeconds: 30}, *d.Timeouts)
	require.Equal(t, []jsondoc.Daemon{}, d.Daemons)
	require.Nil(t, d.System)
	require.Nil(t, d.ConnectionCount)
	require.Equal(t, "/proc/self/ns/net", d.NetNS.Path)
	require.Equal(t, "1.2.1", d.IPVS.Version)
	for _, view := range [][]string{{"-n"}, {"--stats"}, {"--rate"}, {"--thresholds"}, {"--persistent-conn"}, {"--tun-info"}, {"--exact"}, {"--stats", "--exact", "-n"}} {
		out, errs, status := runArgs(append(append([]string{"-L"}, view...), "--json"), "")
		require.Equal(t, 0, status, errs)
		require.Equal(t, full, out, "%q", view)
	}
	pretty, _, status := runArgs([]string{"-L", "--json", "--pretty"}, "")
	require.Equal(t, 0, status)
	require.Contains(t, pretty, "\n  \"schema_version\": 1,\n")
	require.Equal(t, d, decodeDoc(t, pretty))

	out, errs, status := runArgs([]string{"-L", "-t", "10.0.0.1:80", "--json"}, "")
	require.Equal(t, 0, status, errs)
	one := decodeDoc(t, out)
	require.Len(t, one.Services, 1)
	require.Nil(t, one.Timeouts)
	require.Nil(t, one.Daemons)
	require.Equal(t, d.Services[0], one.Services[0])

	out, _, status = runArgs([]string{"-L", "--timeout", "--json"}, "")
	require.Equal(t, 0, status)
	td := decodeDoc(t, out)
	require.Nil(t, td.Services)
	require.Equal(t, d.Timeouts, td.Timeouts)

	_, errs, status = runArgs([]string{"-D", "-f", "7", "-6"}, "")
	require.Equal(t, 0, status, errs)
	_, errs, status = runArgs([]string{"--start-daemon", "master", "--mcast-interface", "lo", "--syncid", "4"}, "")
	require.Equal(t, 0, status, errs)
	out, _, status = runArgs([]string{"-L", "--daemon", "--json"}, "")
	require.Equal(t, 0, status)
	dd := decodeDoc(t, out)
	group := "224.0.0.81"
	require.Equal(t, []jsondoc.Daemon{{State: "master", Interface: "lo", SyncID: 4, SyncMaxLength: 1472,
		MulticastGroup: &group, MulticastPort: 8848, MulticastTTL: 1}}, dd.Daemons)

	// A missing service: nothing on stdout, the error as JSON.
	out, errs, status = runArgs([]string{"-L", "-t", "10.9.9.9:80", "--json"}, "")
	require.Equal(t, 1, status)
	require.Empty(t, out)
	testkit.ValidateJSON(t, "error", []byte(errs))
	require.Contains(t, errs, `"message":"No such service"`)
	require.Contains(t, errs, `"errno_name":"ESRCH"`)
}

func TestJSONServiceShape(t *testing.T) {
	modelTable(t)
	out, _, _ := runArgs([]string{"-L", "--json"}, "")
	d := decodeDoc(t, out)
	byKey := map[string]jsondoc.Service{}
	for _, s := range d.Services {
		k := s.Family
		if s.FWMark != nil {
			k += " fwmark"
		} else {
			k += " " + *s.Protocol + " " + *s.Address
		}
		byKey[k] = s
	}
	tcp := byKey["inet tcp 10.0.0.1"]
	require.Equal(t, "rr", tcp.Scheduler)
	require.Equal(t, []string{}, tcp.SchedFlags)
	require.Equal(t, "255.255.255.255", *tcp.Netmask)
	require.Equal(t, 32, *tcp.PrefixLength)
	require.False(t, tcp.Persistent)
	// Kernel order: newest first.
	require.Len(t, tcp.RealServers, 2)
	require.Equal(t, "192.168.1.1", tcp.RealServers[0].Address)
	rs := tcp.RealServers[1]
	require.Equal(t, jsondoc.RealServer{Family: "inet", Address: "192.168.1.2", Port: 80, Forwarding: "masquerade",
		Weight: 3, UpperThreshold: 100, LowerThreshold: 10}, rs)

	udp := byKey["inet udp 10.0.0.1"]
	require.Equal(t, []string{"sh-port"}, udp.SchedFlags)
	require.True(t, udp.OnePacket)
	require.True(t, udp.Persistent)
	require.Equal(t, uint32(300), udp.PersistenceTimeoutSeconds)
	require.Equal(t, "255.255.255.0", *udp.Netmask)
	require.Equal(t, "route", udp.RealServers[0].Forwarding)

	fwm := byKey["inet6 fwmark"]
	require.Equal(t, uint32(7), *fwm.FWMark)
	require.Nil(t, fwm.Protocol)
	require.Nil(t, fwm.Netmask)
	require.Equal(t, 64, *fwm.PrefixLength)
	require.Equal(t, []string{"mh-fallback", "mh-port"}, fwm.SchedFlags)
	require.Equal(t, &jsondoc.Tunnel{Type: "ipip", Port: 0, Checksum: "none"}, fwm.RealServers[0].Tunnel)
	require.Equal(t, "inet", fwm.RealServers[0].Family)
	require.Equal(t, &jsondoc.Tunnel{Type: "gue", Port: 6080, Checksum: "checksum"}, fwm.RealServers[1].Tunnel)

	sctp := byKey["inet6 sctp 2001:db8::1"]
	require.Equal(t, "sip", *sctp.PersistenceEngine)
	require.Equal(t, 128, *sctp.PrefixLength)
	require.Equal(t, int32(0), sctp.RealServers[0].Weight)
}

func TestJSONConnections(t *testing.T) {
	modelTable(t)
	out, errs, status := runArgs([]string{"-L", "-c", "--json"}, "")
	require.Equal(t, 0, status, errs)
	testkit.ValidateJSONLines(t, "connection", []byte(out))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 5)
	require.Equal(t, `{"protocol":"tcp","template":false,"client_address":"192.168.0.100","client_port":54321,"virtual_address":"10.0.0.1","virtual_port":80,"real_address":"192.168.0.2","real_port":80,"state":"ESTABLISHED","expires_in_seconds":899,"persistence_engine":null,"persistence_data":null}`, lines[0])
	require.Contains(t, lines[3], `"protocol":"ip","template":true`)
	require.Contains(t, lines[4], `"client_address":"2001:db8::64"`)
	require.Contains(t, lines[4], `"persistence_engine":"sip","persistence_data":"6162636465"`)

	for _, tc := range []struct {
		args []string
		n    int
	}{
		{[]string{"--conn-state", "established"}, 1},
		{[]string{"--conn-virtual", "10.0.0.1:53"}, 2},
		{[]string{"--conn-virtual", "10.0.0.1"}, 4},
		{[]string{"--conn-real", "192.168.0.1:8080"}, 1},
		{[]string{"--conn-real", "[2001:db8::3]:5060"}, 1},
		{[]string{"--conn-virtual", "10.0.0.1", "--conn-state", "UDP"}, 1},
	} {
		out, errs, status := runArgs(append([]string{"-L", "-c", "--json"}, tc.args...), "")
		require.Equal(t, 0, status, errs)
		require.Equal(t, tc.n, strings.Count(out, "\n"), "%q: %s", tc.args, out)
		// The text listing applies the same filters.
		text, _, status := runArgs(append([]string{"-L", "-c", "-n"}, tc.args...), "")
		require.Equal(t, 0, status)
		require.Equal(t, tc.n+2, strings.Count(text, "\n"), "%q: %s", tc.args, text)
	}

	out, errs, status = runArgs([]string{"-L", "-c", "--conn-count", "--json"}, "")
	require.Equal(t, 0, status, errs)
	d := decodeDoc(t, out)
	require.Equal(t, &jsondoc.ConnectionCount{Total: 5, ByState: map[string]uint64{"ESTABLISHED": 1, "TIME_WAIT": 1, "UDP": 2, "NONE": 1},
		ByProtocol: map[string]uint64{"tcp": 2, "udp": 2, "ip": 1}}, d.ConnectionCount)
	out, _, status = runArgs([]string{"-L", "-c", "--conn-count", "--conn-real", "192.168.0.3"}, "")
	require.Equal(t, 0, status)
	require.Equal(t, "IPVS connection counts\ntotal 2\nstate NONE 1\nstate UDP 1\nprotocol ip 1\nprotocol udp 1\n", out)
}

func TestJSONRestoreRoundTrip(t *testing.T) {
	modelTable(t)
	before, _, status := runArgs([]string{"-L", "--json"}, "")
	require.Equal(t, 0, status)
	save, _, _ := runArgs([]string{"-Sn"}, "")
	_, _, status = runArgs([]string{"-C"}, "")
	require.Equal(t, 0, status)
	_, _, status = runArgs([]string{"--set", "1", "1", "1"}, "")
	require.Equal(t, 0, status)
	out, errs, status := runArgs([]string{"-R", "--json"}, before)
	require.Equal(t, 0, status, errs)
	require.Empty(t, out+errs)
	after, _, _ := runArgs([]string{"-L", "--json"}, "")
	require.Equal(t, before, after)
	save2, _, _ := runArgs([]string{"-Sn"}, "")
	require.Equal(t, save, save2)

	// Again: every service exists; each failure is reported, named.
	out, errs, status = runArgs([]string{"-R", "--json"}, before)
	require.Equal(t, 255, status)
	require.Empty(t, out)
	testkit.ValidateJSONLines(t, "error", []byte(errs))
	require.Contains(t, errs, `"message":"TCP 10.0.0.1:80: Service already exists","operation":"add service","errno":17,"errno_name":"EEXIST"`)
	require.Contains(t, errs, `"message":"TCP 10.0.0.1:80 -> inet 192.168.1.2:80: Destination already exists"`)

	// With --json the errors are JSON too.
	_, errs, _ = runArgs([]string{"-R", "--json"}, strings.Replace(before, `"schema_version":1`, `"schema_version":2`, 1))
	testkit.ValidateJSONLines(t, "error", []byte(errs))
	require.Contains(t, errs, "schema_version 2 is not supported")
}

func TestJSONRestoreRefusesBadDocuments(t *testing.T) {
	m := newModelBackend()
	withBackend(t, m, nil)
	for _, doc := range []string{
		``, `[]`, `{}`, `{"schema_version":1}{"schema_version":1}`,
		`{"schema_version":1,"services":[{"family":"inet","protocol":"tcp","address":"::1","port":80,"scheduler":"rr","netmask":"255.255.255.255"}]}`,
		`{"schema_version":1,"services":[{"family":"inet","protocol":"icmp","address":"1.2.3.4","port":80,"scheduler":"rr","netmask":"255.255.255.255"}]}`,
		`{"schema_version":1,"services":[{"family":"inet","fwmark":3,"scheduler":"rr","netmask":"255.255.255.255","real_servers":[{"family":"inet","address":"1.2.3.4","forwarding":"teleport"}]}]}`,
	} {
		out, errs, status := runArgs([]string{"-R", "--json"}, doc)
		require.Equal(t, 2, status, doc)
		require.Empty(t, out)
		require.Contains(t, errs, "ipvsadm: cannot restore from standard input: ", doc)
		require.Empty(t, m.table.Entries(), "nothing applied for %s", doc)
	}
}

func TestSystemView(t *testing.T) {
	modelTable(t)
	out, errs, status := runArgs([]string{"-L", "--system", "--json"}, "")
	require.Equal(t, 0, status, errs)
	d := decodeDoc(t, out)
	require.NotNil(t, d.System)
	require.Len(t, d.System.Schedulers, 13)
	require.Equal(t, "ip_vs_mh", d.System.Schedulers[12].Module)
	require.Equal(t, "3 50", d.System.Sysctls["sync_threshold"])
	require.Nil(t, d.Services)

	text, errs, status := runArgs([]string{"-L", "--system"}, "")
	require.Equal(t, 0, status, errs)
	require.True(t, strings.HasPrefix(text, versionText()+"\nIP Virtual Server version 1.2.1 (size=4096)\n"), text)
	require.Contains(t, text, "\n  conn_reuse_mode = 1\n")
	require.Contains(t, text, "\nSchedulers:\n  rr     ip_vs_rr ")
}

func TestModuleStates(t *testing.T) {
	dir := t.TempDir()
	old := []string{procModulesPath, sysModuleDir, libModulesDir}
	t.Cleanup(func() { procModulesPath, sysModuleDir, libModulesDir = old[0], old[1], old[2] })
	procModulesPath, sysModuleDir, libModulesDir = dir+"/modules", dir+"/sys", dir+"/lib"
	require.NoError(t, os.WriteFile(procModulesPath, []byte("ip_vs_rr 16384 1 - Live 0x0\nip_vs 180224 3 ip_vs_rr, Live 0x0\n"), 0o644))
	m := readModuleStates()
	require.Equal(t, moduleLoaded, m.state("ip_vs_rr"))
	require.Equal(t, moduleUnknown, m.state("ip_vs_wrr"))
	rel := dir + "/lib/" + kernelRelease()
	require.NoError(t, os.MkdirAll(rel, 0o755))
	require.NoError(t, os.WriteFile(rel+"/modules.dep", []byte("kernel/net/netfilter/ipvs/ip_vs_wrr.ko.xz: kernel/net/netfilter/ipvs/ip_vs.ko.xz\n"), 0o644))
	require.NoError(t, os.WriteFile(rel+"/modules.builtin", []byte("kernel/net/netfilter/ipvs/ip_vs_sh.ko\n"), 0o644))
	m = readModuleStates()
	require.Equal(t, moduleAvailable, m.state("ip_vs_wrr"))
	require.Equal(t, moduleBuiltIn, m.state("ip_vs_sh"))
	require.Equal(t, moduleMissing, m.state("ip_vs_mh"))
}

func TestHelpExtensions(t *testing.T) {
	withBackend(t, nil, noIPVS)
	out, errs, status := runArgs([]string{"--help-extensions"}, "")
	require.Equal(t, 0, status)
	require.Empty(t, errs)
	require.True(t, strings.HasPrefix(out, versionText()+"\nExtensions of this ipvsadm"), out)
	for _, opt := range []string{"--json", "--pretty", "--netns", "--system", "--conn-virtual", "--conn-real", "--conn-state", "--conn-count",
		"--drain", "--drain-timeout", "--remove", "--undrain"} {
		require.Contains(t, out, "\n  "+opt+" ")
	}
	// -v keeps 1.31's line.
	out, _, _ = runArgs([]string{"-v"}, "")
	require.Equal(t, versionLine, out)
}

func TestNetNSErrors(t *testing.T) {
	withBackend(t, newModelBackend(), nil)
	old := netnsDirs
	netnsDirs = []string{t.TempDir()}
	t.Cleanup(func() { netnsDirs = old })
	out, errs, status := runArgs([]string{"-Ln", "--netns", "nosuch"}, "")
	require.Equal(t, 2, status)
	require.Empty(t, out)
	require.Equal(t, "Cannot open network namespace \"nosuch\": No such file or directory\n", errs)
	_, errs, status = runArgs([]string{"-Ln", "--netns", "/etc/hostname"}, "")
	require.Equal(t, 2, status)
	require.Equal(t, "Cannot open network namespace \"/etc/hostname\": not a network namespace\n", errs)
	_, errs, status = runArgs([]string{"-Ln", "--netns", "nosuch", "--json"}, "")
	require.Equal(t, 2, status)
	testkit.ValidateJSON(t, "error", []byte(errs))
	require.Contains(t, errs, `"errno_name":"ENOENT"`)
	require.Contains(t, errs, `"hint":"no namespace of that name in `)
}

func TestNetNSEnterError(t *testing.T) {
	withBackend(t, nil, &ipvs.Error{Op: ipvs.OpEnterNetNS, Err: unix.EPERM})
	_, errs, status := runArgs([]string{"-Ln", "--netns", "/proc/self/ns/net"}, "")
	require.Equal(t, 2, status)
	require.Equal(t, "Cannot enter network namespace \"/proc/self/ns/net\": Operation not permitted\n", errs)
}
