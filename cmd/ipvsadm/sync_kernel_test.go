package main

// Connection sync between two directors on the real kernel: ipvsadm starts
// the kernel's master and backup sync daemons in two namespaces, the
// connections made through the master appear in the backup's table, and
// after a failover the established connections go on through the backup to
// the same real servers.
//
// Direct routing, because it needs no state outside IPVS: the real servers
// hold the virtual address and answer the client themselves, so the
// backup only has to send the client's packets to the same real server.
// (With NAT the real servers' return route, and with it every answer,
// would have to move to the backup too.)

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs/ipvstest"
	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
)

// The sync test's LAN: 10.0.0.0/24, the virtual service on syncVIP.
const (
	syncVIP     = "10.0.0.100"
	syncService = syncVIP + ":80"
	syncID      = "7"
)

// syncTable is both directors' table: the same service and real servers,
// so the backup can bind synced connections to its own real servers.
const syncTable = `-A -t 10.0.0.100:80 -s rr
-a -t 10.0.0.100:80 -r 10.0.0.11:80 -g
-a -t 10.0.0.100:80 -r 10.0.0.12:80 -g
`

// syncRealServers are the real servers' names and addresses.
var syncRealServers = map[string]string{"rs1": "10.0.0.11", "rs2": "10.0.0.12"}

// setSysctl writes a sysctl of ns (path under /proc/sys).
func setSysctl(t *testing.T, ns *ipvstest.NS, path, value string) {
	t.Helper()
	var err error
	inNS(t, ns, func() { err = os.WriteFile(filepath.Join("/proc/sys", path), []byte(value), 0) })
	if err != nil {
		t.Fatal(err)
	}
}

// syncedConns reads the backup's connection table with our -Lnc --json
// and returns the entries for the virtual service, by client port.
func syncedConns(t *testing.T, ns *ipvstest.NS, ours string) map[uint16]jsondoc.Connection {
	t.Helper()
	out := mustRunTool(t, ns, ours, "", "-Lnc", "--json", "--conn-virtual", syncService)
	conns := map[uint16]jsondoc.Connection{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var c jsondoc.Connection
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("-Lnc --json line %q: %v", line, err)
		}
		conns[c.ClientPort] = c
	}
	return conns
}

// realServerInPackets reads the packets each real server of the virtual
// service received through ns (our -Ln --stats --json), by address.
func realServerInPackets(t *testing.T, ns *ipvstest.NS, ours string) map[string]uint64 {
	t.Helper()
	var d jsondoc.Document
	if err := json.Unmarshal([]byte(mustRunTool(t, ns, ours, "", "-Ln", "--stats", "--json")), &d); err != nil {
		t.Fatal(err)
	}
	in := map[string]uint64{}
	for _, s := range d.Services {
		for _, rs := range s.RealServers {
			in[rs.Address] = rs.Counters.InPackets
		}
	}
	return in
}

// waitFor polls cond every 100 ms until it holds or limit passes, and
// reports how long it took.
func waitFor(limit time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > limit {
			return time.Since(start), false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hasFields reports whether a line of text ends with the fields want.
func hasFields(text string, want []string) bool {
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) >= len(want) && slices.Equal(f[len(f)-len(want):], want) {
			return true
		}
	}
	return false
}

// TestKernelSyncFailover: two directors (master and backup sync daemons
// started by our ipvsadm, syncid 7, multicast on eth0), two direct-routing
// real servers and a client on one LAN, and another cluster's backup
// (syncid 8). Connections made through the master appear in the backup's
// table (-Lnc and --json), not in the other backup's; then the master
// fails (its link goes down, its daemon is stopped), the virtual address
// moves to the backup with a gratuitous ARP, and each established
// connection goes on, through the backup, to the real server that
// answered it before.
func TestKernelSyncFailover(t *testing.T) {
	ours := newTools(t).ours
	start := time.Now()
	segment := newLAN(t)
	client := segment.attach(t, "client", "10.0.0.10/24")
	master := segment.attach(t, "master", "10.0.0.2/24", syncVIP+"/24")
	backup := segment.attach(t, "backup", "10.0.0.3/24")
	// The backup of another cluster on the same LAN (syncid 8): it gets
	// the same multicast messages and must ignore them.
	otherBackup := segment.attach(t, "other", "10.0.0.4/24")
	for name, addr := range syncRealServers {
		rs := segment.attach(t, name, addr+"/24")
		// The virtual address on lo, neither answered nor announced by
		// ARP: the director's MAC is where the client sends to it.
		addAddrs(t, rs, "lo", syncVIP+"/32")
		setSysctl(t, rs, "net/ipv4/conf/all/arp_ignore", "1")
		setSysctl(t, rs, "net/ipv4/conf/all/arp_announce", "2")
		serveEcho(t, rs, name, ":80")
	}
	for _, d := range []*ipvstest.NS{master, backup, otherBackup} {
		mustRunTool(t, d, ours, syncTable, "-R")
	}
	mustRunTool(t, backup, ours, "", "--start-daemon", "backup", "--mcast-interface", "eth0", "--syncid", syncID)
	mustRunTool(t, otherBackup, ours, "", "--start-daemon", "backup", "--mcast-interface", "eth0", "--syncid", "8")
	mustRunTool(t, master, ours, "", "--start-daemon", "master", "--mcast-interface", "eth0", "--syncid", syncID)
	for d, want := range map[*ipvstest.NS]string{
		master: "master sync daemon (mcast=eth0, syncid=7",
		backup: "backup sync daemon (mcast=eth0, syncid=7",
	} {
		if got := mustRunTool(t, d, ours, "", "-L", "--daemon"); !strings.HasPrefix(got, want) {
			t.Fatalf("-L --daemon: %q, want it to start with %q", got, want)
		}
	}
	t.Logf("topology and daemons ready after %v", time.Since(start).Round(time.Millisecond))

	// Two connections through the master, one per real server (rr); a
	// few lines each, so that the master syncs them (it does at the
	// third packet of an established connection).
	conns := []*echoConn{dialEcho(t, client, syncService), dialEcho(t, client, syncService)}
	servedBy := map[uint16]string{}
	for i, c := range conns {
		for n := range 3 {
			name, err := c.exchange(fmt.Sprintf("conn%d line%d", i, n), 10*time.Second)
			if err != nil {
				t.Fatalf("connection %d through the master: %v", i, err)
			}
			if prev, ok := servedBy[c.clientPort()]; ok && prev != name {
				t.Fatalf("connection %d answered by %s, then by %s", i, prev, name)
			}
			servedBy[c.clientPort()] = name
		}
	}
	if servedBy[conns[0].clientPort()] == servedBy[conns[1].clientPort()] {
		t.Fatalf("rr sent both connections to %s", servedBy[conns[0].clientPort()])
	}

	// The master sends its sync messages in batches (within about two
	// seconds): poll the backup's table.
	var synced map[uint16]jsondoc.Connection
	took, ok := waitFor(15*time.Second, func() bool {
		synced = syncedConns(t, backup, ours)
		for port, name := range servedBy {
			c, found := synced[port]
			if !found || c.State != "ESTABLISHED" || c.RealAddress != syncRealServers[name] || c.ClientAddress != "10.0.0.10" {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("after %v the backup's table lacks the master's connections %v: %+v", took, servedBy, synced)
	}
	t.Logf("the backup had both connections %v after sending", took.Round(time.Millisecond))
	// Received at the same moment (one multicast), dropped for the syncid.
	if other := syncedConns(t, otherBackup, ours); len(other) != 0 {
		t.Errorf("the backup with syncid 8 took connections of syncid 7: %+v", other)
	}
	text := mustRunTool(t, backup, ours, "", "-Lnc")
	for port, name := range servedBy {
		want := []string{"ESTABLISHED", fmt.Sprintf("10.0.0.10:%d", port), syncService, syncRealServers[name] + ":80"}
		if !hasFields(text, want) {
			t.Errorf("backup's -Lnc lacks a line ending in %q:\n%s", want, text)
		}
	}

	// Failover: the master goes away, the backup takes the virtual
	// address and tells the LAN (gratuitous ARP, as keepalived does).
	eth0, err := master.Links().LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if err := master.Links().LinkSetDown(eth0); err != nil {
		t.Fatal(err)
	}
	mustRunTool(t, master, ours, "", "--stop-daemon", "master")
	if got := mustRunTool(t, master, ours, "", "-L", "--daemon"); got != "" {
		t.Errorf("master's -L --daemon after --stop-daemon: %q", got)
	}
	addAddrs(t, backup, "eth0", syncVIP+"/24")
	mustRun(t, backup, "arping", "-U", "-c", "1", "-I", "eth0", "-s", syncVIP, syncVIP)
	failover := time.Now()
	for i, c := range conns {
		name, err := c.exchange(fmt.Sprintf("conn%d after failover", i), 15*time.Second)
		if err != nil {
			t.Fatalf("connection %d after the failover: %v", i, err)
		}
		if want := servedBy[c.clientPort()]; name != want {
			t.Errorf("connection %d after the failover answered by %s, before by %s", i, name, want)
		}
	}
	t.Logf("both connections answered through the backup %v after the failover", time.Since(failover).Round(time.Millisecond))
	// The backup forwarded them: its real servers count the packets (the
	// kernel folds per-CPU counters every 2 s). Without the synced
	// entries it would have answered them itself, with a reset.
	var perServer map[string]uint64
	took, ok = waitFor(5*time.Second, func() bool {
		perServer = realServerInPackets(t, backup, ours)
		for _, name := range servedBy {
			if perServer[syncRealServers[name]] == 0 {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Errorf("the backup's real servers counted no packets after %v: %v", took, perServer)
	}
	// A new connection is the backup's own.
	fresh := dialEcho(t, client, syncService)
	if _, err := fresh.exchange("new", 10*time.Second); err != nil {
		t.Fatalf("new connection through the backup: %v", err)
	}
	t.Logf("test took %v", time.Since(start).Round(time.Millisecond))
}
