package main

// Connection sync between two directors on the real kernel: ipvsadm starts
// the kernel's master and backup sync daemons in two namespaces, the
// connections made through the master appear in the backup's table, and
// after a failover the established connections go on through the backup to
// the same real servers.
//
// Direct routing, because then the failover needs nothing outside IPVS:
// the real servers hold the virtual address and answer the client
// themselves, so the backup only has to send the client's packets on to
// the same real server. (With NAT the real servers' return route, and with
// it every answer, would have to move to the backup too.)

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
	"github.com/ipvsadm-go/ipvsadm/internal/testbed"
)

// syncPort is the virtual service's port (the echo servers').
const syncPort = 7

// syncTable is a director's table: the virtual service on vip, its real
// servers by direct routing. Both directors have it, so that the backup
// binds synced connections to its own real servers.
func syncTable(vip netip.Addr, servers []*testbed.Node) string {
	service := netip.AddrPortFrom(vip, syncPort)
	table := fmt.Sprintf("-A -t %s -s rr\n", service)
	for _, rs := range servers {
		table += fmt.Sprintf("-a -t %s -r %s -g\n", service, netip.AddrPortFrom(rs.V4(), syncPort))
	}
	return table
}

// syncedConns reads a director's connection table with our -Lnc --json,
// the entries of service by client port.
func syncedConns(t *testing.T, d *testbed.Node, ours string, service netip.AddrPort) map[uint16]jsondoc.Connection {
	t.Helper()
	out := mustRunTool(t, d.NS, ours, "", "-Lnc", "--json", "--conn-virtual", service.String())
	conns := map[uint16]jsondoc.Connection{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var c jsondoc.Connection
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("%s: -Lnc --json line %q: %v", d.Name, line, err)
		}
		conns[c.ClientPort] = c
	}
	return conns
}

// realServerInPackets reads the packets each real server received through
// a director (our -Ln --stats --json), by address.
func realServerInPackets(t *testing.T, d *testbed.Node, ours string) map[string]uint64 {
	t.Helper()
	var doc jsondoc.Document
	if err := json.Unmarshal([]byte(mustRunTool(t, d.NS, ours, "", "-Ln", "--stats", "--json")), &doc); err != nil {
		t.Fatal(err)
	}
	in := map[string]uint64{}
	for _, s := range doc.Services {
		for _, rs := range s.RealServers {
			in[rs.Address] = rs.Counters.InPackets
		}
	}
	return in
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

// TestKernelSyncFailover: on one LAN (testbed.NewLAN) a client, two
// direct-routing real servers running echo servers, the master director
// and the backup (sync daemons started by our ipvsadm, syncid 7,
// multicast on eth0), and another cluster's backup (syncid 8).
// Connections made through the master appear in the backup's table (-Lnc
// and --json), not in the other backup's; then the master fails (its link
// goes down, its daemon is stopped), the virtual address moves to the
// backup with a gratuitous ARP, and each established connection goes on,
// through the backup, to the real server that answered it before.
func TestKernelSyncFailover(t *testing.T) {
	ours := newTools(t).ours
	start := time.Now()
	lab := testbed.NewLAN(t, 1, 2)
	client, master := lab.Clients[0], lab.Director
	backup := lab.Node("backup")
	backup.Attach(lab.Public, 2)
	otherBackup := lab.Node("other")
	otherBackup.Attach(lab.Public, 3)
	service := lab.VIP4Port(syncPort)
	realAddr := map[string]string{}
	for _, rs := range lab.Servers {
		rs.ServeTCP(syncPort)
		realAddr[rs.Name] = rs.V4().String()
	}
	table := syncTable(lab.VIP4, lab.Servers)
	for _, d := range []*testbed.Node{master, backup, otherBackup} {
		mustRunTool(t, d.NS, ours, table, "-R")
	}
	daemon := func(d *testbed.Node, role, syncID string) {
		mustRunTool(t, d.NS, ours, "", "--start-daemon", role, "--mcast-interface", "eth0", "--syncid", syncID)
		want := role + " sync daemon (mcast=eth0, syncid=" + syncID + ","
		if got := mustRunTool(t, d.NS, ours, "", "-L", "--daemon"); !strings.HasPrefix(got, want) {
			t.Fatalf("%s: -L --daemon: %q, want it to start with %q", d.Name, got, want)
		}
	}
	daemon(backup, "backup", "7")
	daemon(otherBackup, "backup", "8")
	daemon(master, "master", "7")
	t.Logf("network and daemons ready after %v", time.Since(start).Round(time.Millisecond))

	// Two connections through the master, one per real server (rr); a
	// few lines each, so that the master syncs them (it does at the
	// third packet of an established connection).
	conns := []*testbed.Session{openSession(t, client, service), openSession(t, client, service)}
	servedBy := map[uint16]string{}
	for i, c := range conns {
		for range 3 {
			name, err := c.AskWithin(10 * time.Second)
			if err != nil {
				t.Fatalf("connection %d through the master: %v", i, err)
			}
			if prev, ok := servedBy[c.LocalAddr().Port()]; ok && prev != name {
				t.Fatalf("connection %d answered by %s, then by %s", i, prev, name)
			}
			servedBy[c.LocalAddr().Port()] = name
		}
	}
	if servedBy[conns[0].LocalAddr().Port()] == servedBy[conns[1].LocalAddr().Port()] {
		t.Fatalf("rr sent both connections to %s", servedBy[conns[0].LocalAddr().Port()])
	}

	// The master sends its sync messages in batches (within about two
	// seconds): poll the backup's table.
	var synced map[uint16]jsondoc.Connection
	took, ok := waitFor(15*time.Second, func() bool {
		synced = syncedConns(t, backup, ours, service)
		for port, name := range servedBy {
			c, found := synced[port]
			if !found || c.State != "ESTABLISHED" || c.RealAddress != realAddr[name] || c.ClientAddress != client.V4().String() {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("after %v the backup's table lacks the master's connections %v: %+v", took, servedBy, synced)
	}
	t.Logf("the backup had both connections %v after they were made", took.Round(time.Millisecond))
	// The same multicast reached it at the same moment; the syncid differs.
	if other := syncedConns(t, otherBackup, ours, service); len(other) != 0 {
		t.Errorf("the backup with syncid 8 took connections of syncid 7: %+v", other)
	}
	text := mustRunTool(t, backup.NS, ours, "", "-Lnc")
	for port, name := range servedBy {
		want := []string{"ESTABLISHED", fmt.Sprintf("%s:%d", client.V4(), port), service.String(), fmt.Sprintf("%s:%d", realAddr[name], syncPort)}
		if !hasFields(text, want) {
			t.Errorf("backup's -Lnc lacks a line ending in %q:\n%s", want, text)
		}
	}

	// Failover: the master goes away, the backup takes the virtual
	// address and tells the LAN (gratuitous ARP, as keepalived does).
	eth0, err := master.NS.Links().LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if err := master.NS.Links().LinkSetDown(eth0); err != nil {
		t.Fatal(err)
	}
	mustRunTool(t, master.NS, ours, "", "--stop-daemon", "master")
	if got := mustRunTool(t, master.NS, ours, "", "-L", "--daemon"); got != "" {
		t.Errorf("master's -L --daemon after --stop-daemon: %q", got)
	}
	backup.AddAddr("eth0", netip.PrefixFrom(lab.VIP4, lab.Public.Prefix4.Bits()))
	vip := lab.VIP4.String()
	backup.MustRun("arping", "-U", "-c", "1", "-I", "eth0", "-s", vip, vip)
	failover := time.Now()
	for i, c := range conns {
		name, err := c.AskWithin(15 * time.Second)
		if err != nil {
			t.Fatalf("connection %d after the failover: %v", i, err)
		}
		if want := servedBy[c.LocalAddr().Port()]; name != want {
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
			if perServer[realAddr[name]] == 0 {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Errorf("the backup's real servers counted no packets after %v: %v", took, perServer)
	}
	// A new connection is the backup's own.
	fresh := openSession(t, client, service)
	if _, err := fresh.AskWithin(10 * time.Second); err != nil {
		t.Fatalf("new connection through the backup: %v", err)
	}
	t.Logf("test took %v", time.Since(start).Round(time.Millisecond))
}

// openSession connects from n to target (testbed.Node.OpenSession) and
// fails the test if it cannot.
func openSession(t *testing.T, n *testbed.Node, target netip.AddrPort) *testbed.Session {
	t.Helper()
	s, err := n.OpenSession(netip.AddrPort{}, target)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
