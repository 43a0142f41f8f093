package main

// The extensions on the real kernel: every JSON view against ipvsadm
// 1.31's text view of the same table (with traffic, so counters and rates
// are not zero), schema validation, the -R --json round trip, --netns for
// every kind of command against a named namespace and a path, and the
// system view.

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs/ipvstest"
	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
	"github.com/ipvsadm-go/ipvsadm/internal/render"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/testkit"
)

// helperLinks links this test binary under the names of its helper
// programs (udpsend, tcpconn) and returns their directory.
func helperLinks(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"udpsend", "tcpconn", "ipvsadm-save", "ipvsadm-restore"} {
		if err := os.Symlink(exe, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// mustRun runs argv in ns and requires exit status 0.
func mustRun(t *testing.T, ns *ipvstest.NS, argv ...string) {
	t.Helper()
	r, err := ipvstest.RunIn(ns.FD(), ipvstest.Command{Argv: argv})
	if err != nil || r.Code != 0 {
		t.Fatalf("%q: %v exit %d: %s%s", argv, err, r.Code, r.Stdout, r.Stderr)
	}
}

// trafficTable is a table of every kind of service; its real servers are
// on eth0's network, so locally generated traffic is scheduled.
const trafficTable = `-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 172.16.0.2:80 -m -w 3 -x 100 -y 10
-a -t 10.0.0.1:80 -r 172.16.0.3:8080 -m
-A -u 10.0.0.1:53 -s sh -b sh-port -p 300 -M 255.255.255.0
-a -u 10.0.0.1:53 -r 172.16.0.4 -g
-A -u 10.0.0.2:5060 -s rr -p 60 --pe sip
-a -u 10.0.0.2:5060 -r 172.16.0.7 -m
-A -f 7 -s mh -b mh-fallback
-a -f 7 -r 172.16.0.5 -i --tun-type gue --tun-port 6080 --tun-csum
-A -t [2001:db8::1]:443 -s wlc
-a -t [2001:db8::1]:443 -r [2001:db8:f::2]:443 -m -w 2
-a -t [2001:db8::1]:443 -r 172.16.0.6 -i
`

// trafficNS makes a namespace with eth0 (a dummy with IPv4 and IPv6
// addresses and default routes), trafficTable and some traffic through
// it, counters folded.
func trafficNS(t *testing.T, tl tools, helpers string) *ipvstest.NS {
	ns := ipvstest.NewNS(t)
	ns.AddDummy(t, "eth0", "172.16.0.1/24", "2001:db8:f::1/64")
	mustRun(t, ns, "ip", "route", "add", "default", "dev", "eth0")
	mustRun(t, ns, "ip", "-6", "route", "add", "default", "dev", "eth0")
	mustRunTool(t, ns, tl.ref, trafficTable, "-R")
	mustRunTool(t, ns, tl.ref, "", "--set", "100", "20", "30")
	mustRun(t, ns, filepath.Join(helpers, "udpsend"), "-n", "20", "-b", "100", "10.0.0.1:53")
	mustRun(t, ns, filepath.Join(helpers, "udpsend"), "-n", "3", "-d", `INVITE sip:a@b SIP/2.0\r\nCall-ID: abcde\r\n\r\n`, "10.0.0.2:5060")
	mustRun(t, ns, filepath.Join(helpers, "tcpconn"), "10.0.0.1:80", "10.0.0.1:80", "10.0.0.1:80", "[2001:db8::1]:443", "[2001:db8::1]:443")
	// Kernel 6.1 folds per-CPU counters into the totals every 2 s.
	time.Sleep(2500 * time.Millisecond)
	return ns
}

// entriesOf is what a document says of its services, counters included,
// as a listing reads them from the kernel.
func entriesOf(t *testing.T, d *jsondoc.Document) []rules.ServiceEntry {
	t.Helper()
	entries, err := d.Entries()
	if err != nil {
		t.Fatal(err)
	}
	stats := func(c jsondoc.Counters, r jsondoc.Rates) rules.Stats {
		return rules.Stats{Conns: c.Connections, InPkts: c.InPackets, OutPkts: c.OutPackets, InBytes: c.InBytes, OutBytes: c.OutBytes,
			CPS: r.ConnectionsPerSecond, InPPS: r.InPacketsPerSecond, OutPPS: r.OutPacketsPerSecond, InBPS: r.InBytesPerSecond, OutBPS: r.OutBytesPerSecond}
	}
	for i, s := range d.Services {
		entries[i].Service.Stats64 = stats(s.Counters, s.Rates)
		for j, rs := range s.RealServers {
			dst := &entries[i].Dests[j]
			dst.ActiveConns, dst.InactiveConns, dst.PersistentConns = rs.ActiveConnections, rs.InactiveConnections, rs.PersistentConnections
			dst.Stats64 = stats(rs.Counters, rs.Rates)
		}
	}
	return entries
}

// decodeJSON validates out against the document schema and decodes it.
func decodeJSON(t *testing.T, out string) *jsondoc.Document {
	t.Helper()
	testkit.ValidateJSON(t, "", []byte(out))
	var d jsondoc.Document
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

// listViews are the text views a JSON document must reproduce.
var listViews = [][]string{
	{"-Ln"}, {"-Ln", "--stats", "--exact"}, {"-Ln", "--rate", "--exact"}, {"-Ln", "--thresholds"},
	{"-Ln", "--persistent-conn"}, {"-Ln", "--tun-info"}, {"-Ln", "--stats"},
}

// listOptionsOf parses a view's options.
func listOptionsOf(t *testing.T, view []string) render.ListOptions {
	cmd, err := (&program{argv0: "ipvsadm"}).parser().Parse(view)
	if err != nil {
		t.Fatal(err)
	}
	return cmd.List
}

// stableCompare runs the reference views, then ours with --json, then the
// views again, until the two rounds agree (no rate estimate changed in
// between), and checks each view against the text rendered from the
// document.
func stableCompare(t *testing.T, ns *ipvstest.NS, tl tools, jsonArgs []string, views [][]string, render func(*jsondoc.Document, render.ListOptions) string) *jsondoc.Document {
	t.Helper()
	round := func() []string {
		var out []string
		for _, v := range views {
			out = append(out, mustRunTool(t, ns, tl.ref, "", v...))
		}
		return out
	}
	for attempt := 0; attempt < 8; attempt++ {
		before := round()
		out := mustRunTool(t, ns, tl.ours, "", jsonArgs...)
		after := round()
		if !slices.Equal(before, after) {
			continue
		}
		d := decodeJSON(t, out)
		for i, v := range views {
			if got := render(d, listOptionsOf(t, v)); got != before[i] {
				t.Errorf("ipvsadm %s --json rendered as %q:\n%s\nipvsadm 1.31:\n%s", strings.Join(jsonArgs, " "), v, got, before[i])
			}
		}
		return d
	}
	t.Fatalf("the rates kept changing over 8 attempts")
	return nil
}

func TestKernelJSONViews(t *testing.T) {
	tl := newTools(t)
	helpers := helperLinks(t)
	ns := trafficNS(t, tl, helpers)

	d := stableCompare(t, ns, tl, []string{"-L", "--json"}, listViews, func(d *jsondoc.Document, o render.ListOptions) string {
		var b strings.Builder
		render.WriteList(&b, rules.Info{Version: d.IPVS.VersionCode, ConnTableSize: d.IPVS.ConnectionTableSize}, entriesOf(t, d), o, nil)
		return b.String()
	})
	if len(d.Services) != 5 || d.Timeouts == nil || *d.Timeouts != (jsondoc.Timeouts{TCPSeconds: 100, TCPFinSeconds: 20, UDPSeconds: 30}) {
		t.Errorf("services %d, timeouts %+v", len(d.Services), d.Timeouts)
	}
	var traffic, packets uint64
	for _, s := range d.Services {
		traffic += s.Counters.InBytes
		packets += s.Counters.InPackets
	}
	if traffic == 0 || packets < 20 {
		t.Errorf("no traffic counted: %d bytes, %d packets", traffic, packets)
	}
	t.Logf("-L --json: %d services, %d packets, %d bytes in", len(d.Services), packets, traffic)

	// Every text option gives the same document (the rates may move).
	for _, view := range listViews {
		args := append(slices.Clone(view), "--json")
		out := mustRunTool(t, ns, tl.ours, "", args...)
		got := decodeJSON(t, out)
		a, _ := got.Entries()
		b, _ := d.Entries()
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%q: another table", args)
		}
	}

	for _, svc := range [][]string{{"-t", "10.0.0.1:80"}, {"-u", "10.0.0.1:53"}, {"-f", "7"}, {"-t", "[2001:db8::1]:443"}} {
		var views [][]string
		for _, v := range listViews {
			views = append(views, append(slices.Clone(v), svc...))
		}
		one := stableCompare(t, ns, tl, append([]string{"-L", "--json"}, svc...), views, func(d *jsondoc.Document, o render.ListOptions) string {
			var b strings.Builder
			render.WriteServiceList(&b, entriesOf(t, d)[0], o, nil)
			return b.String()
		})
		if len(one.Services) != 1 || one.Timeouts != nil || one.Daemons != nil {
			t.Errorf("-L %q --json: %d services, timeouts %v, daemons %v", svc, len(one.Services), one.Timeouts, one.Daemons)
		}
	}

	out := mustRunTool(t, ns, tl.ours, "", "-L", "--timeout", "--json")
	var b strings.Builder
	render.WriteTimeouts(&b, rules.Timeouts{TCP: 100, TCPFin: 20, UDP: 30})
	if td := decodeJSON(t, out); td.Timeouts == nil || *td.Timeouts != *d.Timeouts {
		t.Errorf("--timeout --json: %s", out)
	}
	if ref := mustRunTool(t, ns, tl.ref, "", "-L", "--timeout"); ref != b.String() {
		t.Errorf("--timeout: %q, ipvsadm 1.31 %q", b.String(), ref)
	}

	checkConnections(t, ns, tl)

	// Round trip: the document restores the same table in a new namespace.
	ns2 := ipvstest.NewNS(t)
	doc := mustRunTool(t, ns, tl.ours, "", "-L", "--json")
	r := runTool(t, ns2, tl.ours, doc, "-R", "--json")
	if r.Code != 0 || r.Stdout != "" || r.Stderr != "" {
		t.Fatalf("-R --json: exit %d: %s%s", r.Code, r.Stdout, r.Stderr)
	}
	for _, view := range [][]string{{"-Sn"}, {"-L", "--timeout"}} {
		if a, b := mustRunTool(t, ns, tl.ref, "", view...), mustRunTool(t, ns2, tl.ref, "", view...); a != b {
			t.Errorf("after -R --json, ipvsadm 1.31 %q shows\n%s\ninstead of\n%s", view, b, a)
		}
	}
	again := decodeJSON(t, mustRunTool(t, ns2, tl.ours, "", "-L", "--json"))
	a, _ := again.Entries()
	want, _ := d.Entries()
	if fmt.Sprint(a) != fmt.Sprint(want) {
		t.Errorf("-R --json: another table (settings or real-server order):\n%v\n%v", a, want)
	}
	// Restoring again refuses every change, each reported.
	r = runTool(t, ns2, tl.ours, doc, "-R", "--json")
	if r.Code != 255 || !strings.Contains(r.Stderr, `{"error":{"message":"TCP 10.0.0.1:80: Service already exists","operation":"add service","errno":17,"errno_name":"EEXIST",`) {
		t.Errorf("second -R --json: exit %d: %s", r.Code, r.Stderr)
	}
}

// checkConnections compares -L -c --json with ipvsadm 1.31's -Lnc: the
// same connections (expiry aside), and the counts and filters agree.
func checkConnections(t *testing.T, ns *ipvstest.NS, tl tools) {
	t.Helper()
	key := func(proto, state, src, virt, dst string) string {
		return strings.Join([]string{proto, state, src, virt, dst}, " ")
	}
	for attempt := 0; attempt < 5; attempt++ {
		refText := mustRunTool(t, ns, tl.ref, "", "-Lnc")
		out := mustRunTool(t, ns, tl.ours, "", "-L", "-c", "--json")
		testkit.ValidateJSONLines(t, "connection", []byte(out))
		var want []string
		for _, l := range strings.Split(strings.TrimSpace(refText), "\n")[2:] {
			f := strings.Fields(l)
			want = append(want, key(f[0], f[2], f[3], f[4], f[5]))
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var c jsondoc.Connection
			if err := json.Unmarshal([]byte(l), &c); err != nil {
				t.Fatal(err)
			}
			proto := map[string]rules.Protocol{"tcp": rules.TCP, "udp": rules.UDP, "sctp": rules.SCTP}[c.Protocol]
			at := func(a string, p uint16) string {
				return render.AddrPortText(netip.MustParseAddr(a), p, proto, true, nil)
			}
			got = append(got, key(strings.ToUpper(c.Protocol), c.State, at(c.ClientAddress, c.ClientPort), at(c.VirtualAddress, c.VirtualPort), at(c.RealAddress, c.RealPort)))
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			if attempt < 4 {
				continue // a connection expired in between
			}
			t.Fatalf("-L -c --json:\n%s\nipvsadm 1.31 -Lnc:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if len(got) < 5 {
			t.Errorf("only %d connections: %s", len(got), refText)
		}
		cc := decodeJSON(t, mustRunTool(t, ns, tl.ours, "", "-L", "-c", "--conn-count", "--json")).ConnectionCount
		if cc == nil || cc.Total != uint64(len(want)) {
			t.Errorf("--conn-count: %+v, want total %d", cc, len(want))
		}
		udp := 0
		for _, w := range want {
			if strings.Contains(w, " 10.0.0.1:53 ") {
				udp++
			}
		}
		filtered := mustRunTool(t, ns, tl.ours, "", "-L", "-c", "--json", "--conn-virtual", "10.0.0.1:53")
		text := mustRunTool(t, ns, tl.ours, "", "-Lnc", "--conn-virtual", "10.0.0.1:53")
		if n := strings.Count(filtered, "\n"); n != udp || strings.Count(text, "\n") != udp+2 || udp == 0 {
			t.Errorf("--conn-virtual 10.0.0.1:53: %d JSON lines, text %q; want %d", n, text, udp)
		}
		t.Logf("-L -c --json: %d connections as ipvsadm 1.31 lists them", len(got))
		return
	}
}

func TestKernelDaemonJSON(t *testing.T) {
	tl := newTools(t)
	ns := ipvstest.NewNS(t)
	ns.AddDummy(t, "eth0", "172.16.0.1/24")
	mustRunTool(t, ns, tl.ref, "", "--start-daemon", "master", "--syncid", "9")
	mustRunTool(t, ns, tl.ref, "", "--start-daemon", "backup", "--mcast-interface", "eth0", "--mcast-group", "224.0.0.90", "--mcast-port", "9000")
	d := decodeJSON(t, mustRunTool(t, ns, tl.ours, "", "-L", "--daemon", "--json"))
	var ds []rules.Daemon
	for _, jd := range d.Daemons {
		rd := rules.Daemon{State: map[string]rules.SyncState{"master": rules.Master, "backup": rules.Backup}[jd.State], Interface: jd.Interface,
			SyncID: jd.SyncID, SyncMaxLen: jd.SyncMaxLength, Port: jd.MulticastPort, TTL: jd.MulticastTTL}
		if jd.MulticastGroup != nil {
			rd.Group = netip.MustParseAddr(*jd.MulticastGroup)
		}
		ds = append(ds, rd)
	}
	var b strings.Builder
	render.WriteDaemons(&b, ds)
	if ref := mustRunTool(t, ns, tl.ref, "", "-L", "--daemon"); ref != b.String() || len(ds) != 2 {
		t.Errorf("--daemon --json rendered:\n%s\nipvsadm 1.31:\n%s", b.String(), ref)
	}
	full := decodeJSON(t, mustRunTool(t, ns, tl.ours, "", "-L", "--json"))
	if len(full.Daemons) != 2 {
		t.Errorf("-L --json: daemons %+v", full.Daemons)
	}
	mustRunTool(t, ns, tl.ref, "", "--stop-daemon", "master")
	mustRunTool(t, ns, tl.ref, "", "--stop-daemon", "backup")
}

func TestKernelSystemView(t *testing.T) {
	tl := newTools(t)
	ns := ipvstest.NewNS(t)
	mustRun(t, ns, "sh", "-c", "echo 0 > /proc/sys/net/ipv4/vs/conn_reuse_mode")
	d := decodeJSON(t, mustRunTool(t, ns, tl.ours, "", "-L", "--system", "--json"))
	sys := d.System
	if sys == nil || d.IPVS.Version != "1.2.1" || d.IPVS.ConnectionTableSize == 0 || d.Generator.Version != version {
		t.Fatalf("system view: %+v %+v", d.IPVS, sys)
	}
	for _, k := range []string{"conn_reuse_mode", "expire_nodest_conn", "expire_quiescent_template", "conntrack", "sloppy_tcp", "sync_threshold"} {
		if _, ok := sys.Sysctls[k]; !ok {
			t.Errorf("sysctl %s missing: %v", k, sys.Sysctls)
		}
	}
	if sys.Sysctls["conn_reuse_mode"] != "0" {
		t.Errorf("conn_reuse_mode of the namespace is 0, not %q", sys.Sysctls["conn_reuse_mode"])
	}
	loaded := 0
	for _, m := range sys.Schedulers {
		if m.State == moduleLoaded {
			loaded++
		}
	}
	if loaded == 0 {
		t.Errorf("no scheduler module loaded: %+v", sys.Schedulers)
	}
	text := mustRunTool(t, ns, tl.ours, "", "-L", "--system")
	for _, want := range []string{"IP Virtual Server version 1.2.1 (size=", "\n  conn_reuse_mode = 0\n", "\nSchedulers:\n  rr     ip_vs_rr "} {
		if !strings.Contains(text, want) {
			t.Errorf("-L --system lacks %q:\n%s", want, text)
		}
	}
	t.Logf("-L --system:\n%s", text)
}

// namedNetNS makes a network namespace with no process in it, named
// under /run/netns as `ip netns add` does: a bind mount of the nsfs file
// of a process that unshared its namespace, which then ends.
func namedNetNS(t *testing.T, name string) string {
	t.Helper()
	cmd := exec.Command("unshare", "-n", "sleep", "600")
	if err := cmd.Start(); err != nil {
		ipvstest.SkipOrFail(t, "unshare: "+err.Error())
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	self, _ := os.Readlink("/proc/self/ns/net")
	src := fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid)
	for i := 0; i < 100; i++ { // until unshare has exec'd sleep in its namespace
		if l, _ := os.Readlink(src); l != "" && l != self {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := os.MkdirAll(netnsDirs[0], 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(netnsDirs[0], name)
	if err := os.WriteFile(path, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(src, path, "", unix.MS_BIND, ""); err != nil {
		os.Remove(path)
		t.Fatalf("bind mount %s: %v", src, err)
	}
	t.Cleanup(func() { unix.Unmount(path, unix.MNT_DETACH); os.Remove(path) })
	return path
}

// nsHandle opens a namespace file for ipvstest.RunIn.
func nsHandle(t *testing.T, path string) *ipvstest.NS {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return ipvstest.NSOfFD(fd)
}

// TestKernelNetNS runs every kind of command with --netns, by name and by
// path, from the test's own namespace, and checks the target with ipvsadm
// 1.31 through nsenter; the caller's namespace must not change.
func TestKernelNetNS(t *testing.T) {
	tl := newTools(t)
	helpers := helperLinks(t)
	own := nsHandle(t, "/proc/self/ns/net")
	ownBefore := []string{mustRunTool(t, own, tl.ref, "", "-Sn"), mustRunTool(t, own, tl.ref, "", "-L", "--timeout"), mustRunTool(t, own, tl.ref, "", "-L", "--daemon")}

	path := namedNetNS(t, "ipvsadm-test")
	for _, target := range []string{"ipvsadm-test", path} {
		t.Run(strings.ReplaceAll(target, "/", "_"), func(t *testing.T) {
			ns := nsHandle(t, path)
			mustRun(t, ns, "ip", "link", "set", "lo", "up")
			mustRunTool(t, ns, tl.ref, "", "-C")
			mustRun(t, ns, "ip", "link", "add", "eth0", "type", "dummy")
			mustRun(t, ns, "ip", "link", "set", "eth0", "up")
			mustRun(t, ns, "ip", "addr", "add", "172.16.0.1/24", "dev", "eth0")
			mustRun(t, ns, "ip", "route", "add", "default", "dev", "eth0")
			ours := func(stdin string, args ...string) ipvstest.Result {
				t.Helper()
				r := runTool(t, own, tl.ours, stdin, append(args, "--netns", target)...)
				return r
			}
			must := func(stdin string, args ...string) string {
				t.Helper()
				r := ours(stdin, args...)
				if r.Code != 0 {
					t.Fatalf("%q --netns %s: exit %d: %s", args, target, r.Code, r.Stderr)
				}
				return r.Stdout
			}
			refSave := func() string { return mustRunTool(t, ns, tl.ref, "", "-Sn") }

			must("", "-A", "-t", "10.0.0.1:80", "-s", "rr")
			must("", "-E", "-t", "10.0.0.1:80", "-s", "wrr")
			must("", "-a", "-t", "10.0.0.1:80", "-r", "127.0.0.2:80", "-m")
			must("", "-e", "-t", "10.0.0.1:80", "-r", "127.0.0.2:80", "-m", "-w", "5")
			must("", "-a", "-t", "10.0.0.1:80", "-r", "127.0.0.3:80", "-m")
			must("", "-d", "-t", "10.0.0.1:80", "-r", "127.0.0.3:80")
			want := "-A -t 10.0.0.1:80 -s wrr\n-a -t 10.0.0.1:80 -r 127.0.0.2:80 -m -w 5\n"
			if got := refSave(); got != want {
				t.Fatalf("after -A -E -a -e -d: ipvsadm 1.31 -Sn in the namespace:\n%s", got)
			}
			must("-A -u 10.0.0.2:53\n-D -t 10.0.0.1:80\n", "-R")
			if got := refSave(); got != "-A -u 10.0.0.2:53 -s wlc\n" {
				t.Fatalf("after -R: %s", got)
			}
			must("", "-D", "-u", "10.0.0.2:53")
			must("", "--set", "11", "12", "13")
			if got := mustRunTool(t, ns, tl.ref, "", "-L", "--timeout"); got != "Timeout (tcp tcpfin udp): 11 12 13\n" {
				t.Errorf("--set: %s", got)
			}
			// (A sync daemon refuses to run beside mixed-family real servers.)
			must("", "--start-daemon", "backup", "--mcast-interface", "eth0")
			if got := mustRunTool(t, ns, tl.ref, "", "-L", "--daemon"); !strings.HasPrefix(got, "backup sync daemon (mcast=eth0") {
				t.Errorf("--start-daemon --netns: %q", got)
			}
			must("", "--stop-daemon", "backup")
			must(trafficTable, "-R")
			// Traffic in the target namespace for -c and counters.
			mustRun(t, ns, filepath.Join(helpers, "udpsend"), "-n", "5", "10.0.0.1:53")
			time.Sleep(2500 * time.Millisecond)
			for _, view := range [][]string{{"-Sn"}, {"-Ln"}, {"-Ln", "--stats", "--exact"}, {"-Ln", "--thresholds"}, {"-Ln", "--tun-info"}, {"-Ln", "-t", "10.0.0.1:80"}, {"-L", "--timeout"}} {
				if got, ref := must("", view...), mustRunTool(t, ns, tl.ref, "", view...); got != ref {
					t.Errorf("%q --netns %s:\n%s\nipvsadm 1.31 in the namespace:\n%s", view, target, got, ref)
				}
			}
			conns := must("", "-Lnc")
			ref := mustRunTool(t, ns, tl.ref, "", "-Lnc")
			if strings.Count(conns, "\n") != strings.Count(ref, "\n") || !strings.Contains(conns, "10.0.0.1:53") {
				t.Errorf("-Lnc --netns: \n%s\nipvsadm 1.31:\n%s", conns, ref)
			}
			d := decodeJSON(t, must("", "-L", "--json"))
			if d.NetNS.Path != path || d.NetNS.Inode == 0 || len(d.Services) != 5 {
				t.Errorf("-L --json --netns: netns %+v, %d services", d.NetNS, len(d.Services))
			}
			if (d.NetNS.Name != nil) != !strings.Contains(target, "/") {
				t.Errorf("netns name %v for %s", d.NetNS.Name, target)
			}
			cc := decodeJSON(t, must("", "-L", "-c", "--conn-count", "--json")).ConnectionCount
			if cc == nil || cc.Total == 0 {
				t.Errorf("--conn-count --netns: %+v", cc)
			}
			must("", "-Z")
			mustRun(t, ns, "sh", "-c", "echo 2 > /proc/sys/net/ipv4/vs/expire_nodest_conn")
			if sys := decodeJSON(t, must("", "-L", "--system", "--json")).System; sys.Sysctls["expire_nodest_conn"] != "2" {
				t.Errorf("--system --netns: expire_nodest_conn %q", sys.Sysctls["expire_nodest_conn"])
			}
			mustRun(t, ns, "sh", "-c", "echo 0 > /proc/sys/net/ipv4/vs/expire_nodest_conn")
			doc := must("", "-L", "--json")
			must("", "-C")
			must(doc, "-R", "--json")
			if a, b := mustRunTool(t, ns, tl.ref, "", "-Sn"), mustRunTool(t, ns, tl.ours, "", "-Sn"); a != b || strings.Count(a, "\n") != 12 {
				t.Errorf("-R --json --netns:\n%s\n%s", a, b)
			}
			// The ipvsadm-save and ipvsadm-restore personalities take
			// --netns too.
			if r, want := runTool(t, own, filepath.Join(helpers, "ipvsadm-save"), "", "-n", "--netns", target), refSave(); r.Code != 0 || r.Stdout != want {
				t.Errorf("ipvsadm-save -n --netns %s: exit %d %q%q, want\n%s", target, r.Code, r.Stdout, r.Stderr, want)
			}
			restore := filepath.Join(helpers, "ipvsadm-restore")
			if r := runTool(t, own, restore, "# c\n-A -t 10.0.0.9:80 -s rr\n", "--netns", target); r.Code != 0 || r.Stderr != "" {
				t.Errorf("ipvsadm-restore --netns %s: exit %d %q", target, r.Code, r.Stderr)
			}
			if got := refSave(); got != "-A -t 10.0.0.9:80 -s rr\n" {
				t.Errorf("after ipvsadm-restore --netns (the script's flush and restore): %q", got)
			}
			if r := runTool(t, own, restore, "-A -t 10.0.0.8:80 -s wrr\n", "--atomic", "--netns="+target); r.Code != 0 || r.Stderr != "" {
				t.Errorf("ipvsadm-restore --atomic --netns=%s: exit %d %q", target, r.Code, r.Stderr)
			}
			if got := refSave(); got != "-A -t 10.0.0.8:80 -s wrr\n" {
				t.Errorf("after ipvsadm-restore --atomic --netns=: %q", got)
			}
			must("", "-C")
			if got := refSave(); got != "" {
				t.Errorf("-C --netns left %q", got)
			}
			mustRun(t, ns, "ip", "link", "del", "eth0")
		})
	}

	// A namespace that cannot be entered: one message, nothing restored
	// or cleared anywhere.
	r := runTool(t, own, filepath.Join(helpers, "ipvsadm-restore"), "-A -t 10.9.9.9:80\n", "--netns", "nosuch")
	if r.Code != 2 || r.Stderr != "Cannot open network namespace \"nosuch\": No such file or directory\n" {
		t.Errorf("ipvsadm-restore --netns nosuch: exit %d, %q", r.Code, r.Stderr)
	}
	for i, view := range [][]string{{"-Sn"}, {"-L", "--timeout"}, {"-L", "--daemon"}} {
		if got := mustRunTool(t, own, tl.ref, "", view...); got != ownBefore[i] {
			t.Errorf("the caller's namespace changed: %q shows\n%s\nbefore:\n%s", view, got, ownBefore[i])
		}
	}

	// Errors: a missing name, a file that is no namespace, no privilege.
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-Ln", "--netns", "nosuch"}, "Cannot open network namespace \"nosuch\": No such file or directory\n"},
		{[]string{"-Ln", "--netns", "/proc/self/status"}, "Cannot open network namespace \"/proc/self/status\": not a network namespace\n"},
		{[]string{"-Ln", "--netns", "/nonexistent/ns"}, "Cannot open network namespace \"/nonexistent/ns\": No such file or directory\n"},
	} {
		r := runTool(t, own, tl.ours, "", tc.args...)
		if r.Code != 2 || r.Stdout != "" || r.Stderr != tc.msg {
			t.Errorf("%q: exit %d, %q%q", tc.args, r.Code, r.Stdout, r.Stderr)
		}
	}
	// nobody must reach the binary: links in a directory open to all.
	open, err := os.MkdirTemp("", "ipvsadm-nobody")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(open)
	exe, _ := os.Executable()
	for _, name := range []string{"ipvsadm", "as-nobody"} {
		if err := os.Symlink(exe, filepath.Join(open, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	r = runTool(t, own, filepath.Join(open, "as-nobody"), "", filepath.Join(open, "ipvsadm"), "-Ln", "--netns", path)
	if r.Code != 2 || !strings.Contains(r.Stderr, "network namespace \""+path+"\": ") {
		t.Errorf("--netns as nobody: exit %d, %q", r.Code, r.Stderr)
	}
	t.Logf("as nobody: %s", r.Stderr)
}
