package main

// End to end on the real kernel: this ipvsadm programs the director of an
// internal/testbed lab, and clients in other namespaces send real packets
// through it to real servers that name themselves in their answers. Each
// test logs how long it took (the VM budget of all of them is 2 minutes).

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs/ipvstest"
	"github.com/ipvsadm-go/ipvsadm/internal/testbed"
)

// e2eLab is a lab whose director this ipvsadm programs.
type e2eLab struct {
	*testbed.Lab
	t    *testing.T
	ours string // this test binary as "ipvsadm"
}

// newE2E builds a lab with build (testbed.NewNAT or NewLAN) after the
// checks that skip the test outside the VM, and logs the test's duration
// when it ends.
func newE2E(t *testing.T, build func(testing.TB, int, int) *testbed.Lab, clients, servers int) *e2eLab {
	t.Helper()
	start := time.Now()
	t.Cleanup(func() { t.Logf("e2e test took %v", time.Since(start).Round(time.Millisecond)) })
	ours := newTools(t).ours
	return &e2eLab{Lab: build(t, clients, servers), t: t, ours: ours}
}

// sub makes the lab's helpers report to the subtest t until the returned
// function is called.
func (l *e2eLab) sub(t *testing.T) (restore func()) {
	prev, restoreBed := l.t, l.ReportTo(t)
	l.t = t
	return func() {
		restoreBed()
		l.t = prev
	}
}

// ipvsadm runs this ipvsadm on the director and requires success.
func (l *e2eLab) ipvsadm(args ...string) string {
	l.t.Helper()
	return l.Director.MustRun(append([]string{l.ours}, args...)...)
}

// restore feeds rules (one command a line, printf-style) to -R.
func (l *e2eLab) restore(format string, args ...any) {
	l.t.Helper()
	rules := fmt.Sprintf(format, args...)
	r, err := ipvstest.RunIn(l.Director.NS.FD(), ipvstest.Command{Argv: []string{l.ours, "-R"}, Stdin: rules, Timeout: testbed.RunTimeout})
	if err != nil || r.Code != 0 {
		l.t.Fatalf("ipvsadm -R: %v exit %d: %s\nrules:\n%s", err, r.Code, r.Stderr, rules)
	}
}

// gets fetches target n times from client c and returns who answered.
func (l *e2eLab) gets(c *testbed.Node, target netip.AddrPort, n int) []string {
	l.t.Helper()
	var names []string
	for i := 0; i < n; i++ {
		name, err := c.Get(target)
		if err != nil {
			l.fatal(err)
		}
		names = append(names, name)
	}
	return names
}

// fatal fails the test with err, the director's table and connections,
// and the state of every node.
func (l *e2eLab) fatal(err error) {
	l.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%v\ndirector's table:\n%s%s", err,
		l.ipvsadm("-Ln", "--stats", "--exact", "--tun-info"), l.ipvsadm("-Lnc"))
	for _, n := range l.Nodes() {
		b.WriteString(n.Describe())
	}
	l.t.Fatal(b.String())
}

// alternates sends two requests from every client to port 80 of each
// virtual address, one after the other, and checks that the round robin
// of the two real servers split them exactly in half.
func (l *e2eLab) alternates(t *testing.T) {
	t.Helper()
	for _, vip := range []netip.AddrPort{l.VIP4Port(80), l.VIP6Port(80)} {
		var names []string
		for _, c := range l.Clients {
			names = append(names, l.gets(c, vip, 2)...)
		}
		half := len(l.Clients)
		if got := tally(names); got["rs1"] != half || got["rs2"] != half {
			t.Errorf("%s: answers %v, want %d from rs1 and %d from rs2", vip, names, half, half)
		}
	}
}

// ap is an address and port as ipvsadm writes them ([v6]:port).
func ap(a netip.Addr, port uint16) string { return netip.AddrPortFrom(a, port).String() }

// tally counts the names.
func tally(names []string) map[string]int {
	m := map[string]int{}
	for _, n := range names {
		m[n]++
	}
	return m
}

// same reports whether all names are one.
func same(names []string) bool {
	for _, n := range names {
		if n != names[0] {
			return false
		}
	}
	return len(names) > 0
}

// NAT (-m): clients reach both real servers through the virtual address,
// round robin, on IPv4 and IPv6, with the port mapped (VIP:80 to rs2:8080);
// the answers come back through the director.
func TestKernelE2ENAT(t *testing.T) {
	l := newE2E(t, testbed.NewNAT, 3, 2)
	rs1, rs2 := l.Servers[0], l.Servers[1]
	rs1.ServeHTTP(80)
	rs2.ServeHTTP(8080) // only there: an answer of rs2 proves the mapping
	l.restore(`-A -t %[1]s -s rr
-a -t %[1]s -r %[2]s -m
-a -t %[1]s -r %[3]s -m
-A -t %[4]s -s rr
-a -t %[4]s -r %[5]s -m
-a -t %[4]s -r %[6]s -m
`, ap(l.VIP4, 80), ap(rs1.V4(), 80), ap(rs2.V4(), 8080), ap(l.VIP6, 80), ap(rs1.V6(), 80), ap(rs2.V6(), 8080))
	l.alternates(t)
}

// Direct routing (-g): the real servers hold the virtual addresses on lo
// without answering ARP for them, answer the clients directly (the
// director sees no packet out), and the clients' neighbour entry of the
// virtual address is the director's.
func TestKernelE2EDirectRouting(t *testing.T) {
	l := newE2E(t, testbed.NewLAN, 2, 2)
	l.ServeHTTP(80)
	rs1, rs2 := l.Servers[0], l.Servers[1]
	l.restore(`-A -t %[1]s -s rr
-a -t %[1]s -r %[2]s -g
-a -t %[1]s -r %[3]s -g
-A -t %[4]s -s rr
-a -t %[4]s -r %[5]s -g
-a -t %[4]s -r %[6]s -g
`, ap(l.VIP4, 80), ap(rs1.V4(), 80), ap(rs2.V4(), 80), ap(l.VIP6, 80), ap(rs1.V6(), 80), ap(rs2.V6(), 80))
	l.alternates(t)
	director := l.Director.Ifaces[0]
	for _, c := range l.Clients {
		for _, vip := range []netip.Addr{l.VIP4, l.VIP6} {
			if mac, want := c.NeighbourMAC(vip), l.Director.MAC(director.Name); mac != want {
				t.Errorf("%s: neighbour entry of %s is %q, want the director's %q", c.Name, vip, mac, want)
			}
		}
	}
	st := l.waitStats(map[string]uint64{"TCP " + ap(l.VIP4, 80): 4, "TCP " + ap(l.VIP6, 80): 4})
	for _, svc := range []string{"TCP " + ap(l.VIP4, 80), "TCP " + ap(l.VIP6, 80)} {
		if s := st[svc]; s.inPkts == 0 || s.outPkts != 0 || s.outBytes != 0 {
			t.Errorf("%s: %+v, want packets in and none out (the answers bypass the director)", svc, s)
		}
	}
}

// Tunnels (-i): IP-in-IP, GUE and GRE (with and without checksums) to
// real servers that decapsulate them, each proven by the receiving
// device's counter. GRE with checksums needs a receiving device that
// requires them (testbed.Node.DecapGRECsum): the fallback gre0 drops
// them as checksum errors.
func TestKernelE2ETunnels(t *testing.T) {
	l := newE2E(t, testbed.NewLAN, 1, 2)
	const guePort = 6080
	for _, rs := range l.Servers {
		rs.DecapGRE()
		rs.DecapGUE(guePort)
		rs.ServeHTTP(80)
	}
	c := l.Clients[0]
	for _, tc := range []struct {
		name, opts, dev string
		udp             bool // the packets arrive in UDP (GUE)
	}{
		{"ipip", "", "tunl0", false},
		{"ipip-explicit", "--tun-type ipip", "tunl0", false},
		{"gue", "--tun-type gue --tun-port " + strconv.Itoa(guePort), "tunl0", true},
		{"gue-csum", "--tun-type gue --tun-port " + strconv.Itoa(guePort) + " --tun-csum", "tunl0", true},
		{"gre", "--tun-type gre", "gre0", false},
		{"gre-csum", "--tun-type gre --tun-csum", testbed.GRECsumDevice, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer l.sub(t)()
			if tc.dev == testbed.GRECsumDevice {
				for _, rs := range l.Servers {
					rs.DecapGRECsum(rs.V4())
				}
			}
			l.ipvsadm("-C")
			l.restore(`-A -t %[1]s -s rr
-a -t %[1]s -r %[2]s -i %[4]s
-a -t %[1]s -r %[3]s -i %[4]s
`, ap(l.VIP4, 80), ap(l.Servers[0].V4(), 80), ap(l.Servers[1].V4(), 80), tc.opts)
			var before, udpBefore []uint64
			for _, rs := range l.Servers {
				before = append(before, rs.RxPackets(tc.dev))
				udpBefore = append(udpBefore, rs.UDPInDatagrams())
			}
			if got := tally(l.gets(c, l.VIP4Port(80), 4)); got["rs1"] != 2 || got["rs2"] != 2 {
				t.Errorf("answers %v, want 2 from rs1 and 2 from rs2", got)
			}
			for i, rs := range l.Servers {
				if d := rs.RxPackets(tc.dev) - before[i]; d < 3 {
					t.Errorf("%s: %s received %d packets, want at least 3 (SYN, ACK, request)", rs.Name, tc.dev, d)
				}
				if d := rs.UDPInDatagrams() - udpBefore[i]; tc.udp != (d >= 3) {
					t.Errorf("%s: %d UDP datagrams received; GUE %v", rs.Name, d, tc.udp)
				}
			}
		})
	}
}

// Persistence (-p): a client's connections stay with one real server;
// with -M 255.255.255.0 the clients of one /24 share it.
func TestKernelE2EPersistence(t *testing.T) {
	l := newE2E(t, testbed.NewNAT, 2, 2)
	l.ServeHTTP(80)
	rules := `-A -t %[1]s -s rr -p 60 %[2]s
-a -t %[1]s -r %[3]s -m
-a -t %[1]s -r %[4]s -m
`
	c1, c2 := l.Clients[0], l.Clients[1]
	vip := l.VIP4Port(80)
	l.restore(rules, vip, "", ap(l.Servers[0].V4(), 80), ap(l.Servers[1].V4(), 80))
	a, b := l.gets(c1, vip, 3), l.gets(c2, vip, 3)
	if !same(a) || !same(b) || a[0] == b[0] {
		t.Errorf("-p: c1 got %v, c2 got %v; want one server each, not the same", a, b)
	}
	l.ipvsadm("-C")
	l.restore(rules, vip, "-M 255.255.255.0", ap(l.Servers[0].V4(), 80), ap(l.Servers[1].V4(), 80))
	if all := append(l.gets(c1, vip, 3), l.gets(c2, vip, 3)...); !same(all) {
		t.Errorf("-p -M 255.255.255.0: answers %v, want one server for the /24", all)
	}
}

// A firewall-mark service (-f) groups ports 80 and 443, marked on the
// director's public interface: with persistence a client's connections
// to both ports go to one real server, on IPv4 and IPv6. An unmarked port
// is no service.
func TestKernelE2EFwmark(t *testing.T) {
	l := newE2E(t, testbed.NewNAT, 2, 2)
	l.ServeHTTP(80, 443)
	l.Director.MarkIngress(l.Director.Ifaces[0].Name, unix.IPPROTO_TCP, 1, 80, 443)
	rs1, rs2 := l.Servers[0], l.Servers[1]
	l.restore(`-A -f 1 -s rr -p 60
-a -f 1 -r %[1]s -m
-a -f 1 -r %[2]s -m
-A -f 1 -6 -s rr -p 60
-a -f 1 -6 -r %[3]s -m
-a -f 1 -6 -r %[4]s -m
`, rs1.V4(), rs2.V4(), rs1.V6(), rs2.V6())
	for _, vip := range []netip.Addr{l.VIP4, l.VIP6} {
		var got [2][]string
		for i, c := range l.Clients {
			for _, port := range []uint16{80, 443, 80, 443} {
				got[i] = append(got[i], c.MustGet(netip.AddrPortFrom(vip, port)))
			}
		}
		if !same(got[0]) || !same(got[1]) || got[0][0] == got[1][0] {
			t.Errorf("%s: c1 got %v, c2 got %v; want one server each for both ports, not the same", vip, got[0], got[1])
		}
	}
	if s, err := l.Clients[0].Get(l.VIP4Port(8080)); err == nil {
		t.Errorf("GET of the unmarked port 8080 answered by %q", s)
	}
	out := l.ipvsadm("-Ln")
	if !strings.Contains(out, "FWM  1 rr persistent 60") {
		t.Errorf("-Ln:\n%s", out)
	}
}

// One-packet scheduling (-o), with direct routing (with NAT the answers
// would find no connection to translate them back): without it a UDP
// flow stays with one real server; with it every datagram is scheduled on
// its own.
func TestKernelE2EOnePacket(t *testing.T) {
	l := newE2E(t, testbed.NewLAN, 1, 2)
	l.ServeUDP(53)
	vip := l.VIP4Port(53)
	l.restore(`-A -u %[1]s -s rr
-a -u %[1]s -r %[2]s -g
-a -u %[1]s -r %[3]s -g
`, vip, ap(l.Servers[0].V4(), 53), ap(l.Servers[1].V4(), 53))
	c := l.Clients[0]
	flow, err := c.UDPSession(netip.AddrPort{}, vip, 4, []byte("q"))
	if err != nil || !same(flow) {
		t.Errorf("without -o: answers %v (%v), want one server", flow, err)
	}
	l.ipvsadm("-E", "-u", vip.String(), "-s", "rr", "-o")
	flow, err = c.UDPSession(netip.AddrPort{}, vip, 4, []byte("q"))
	if err != nil || len(flow) != 4 || flow[0] == flow[1] || flow[0] != flow[2] || flow[1] != flow[3] {
		t.Errorf("with -o: answers %v (%v), want them to alternate", flow, err)
	}
}

// Real servers of weight 0 get no new connections, with every
// weight-aware scheduler; raising the weight brings them back.
func TestKernelE2EWeightZero(t *testing.T) {
	l := newE2E(t, testbed.NewNAT, 1, 3)
	l.ServeHTTP(80)
	vip := l.VIP4Port(80)
	c := l.Clients[0]
	for _, sched := range []string{"rr", "wrr", "lc", "wlc"} {
		t.Run(sched, func(t *testing.T) {
			defer l.sub(t)()
			l.ipvsadm("-C")
			l.restore(`-A -t %[1]s -s %[2]s
-a -t %[1]s -r %[3]s -m -w 1
-a -t %[1]s -r %[4]s -m -w 0
-a -t %[1]s -r %[5]s -m -w 1
`, vip, sched, ap(l.Servers[0].V4(), 80), ap(l.Servers[1].V4(), 80), ap(l.Servers[2].V4(), 80))
			// Connections left from the other schedulers' cases weigh in
			// for lc and wlc: only weight 0 decides here.
			if got := tally(l.gets(c, vip, 6)); got["rs2"] != 0 {
				t.Errorf("answers %v, want none from rs2 (weight 0)", got)
			}
			l.ipvsadm("-e", "-t", vip.String(), "-r", ap(l.Servers[1].V4(), 80), "-m", "-w", "1")
			l.ipvsadm("-e", "-t", vip.String(), "-r", ap(l.Servers[0].V4(), 80), "-m", "-w", "0")
			if got := tally(l.gets(c, vip, 6)); got["rs1"] != 0 {
				t.Errorf("after the change: answers %v, want none from rs1 (weight 0 now)", got)
			}
		})
	}
	// Weight 0 stops new connections only: one already open stays with
	// its real server.
	t.Run("established", func(t *testing.T) {
		defer l.sub(t)()
		l.ServeTCP(7000)
		vip := l.VIP4Port(7000)
		l.ipvsadm("-C")
		l.restore(`-A -t %[1]s -s rr
-a -t %[1]s -r %[2]s -m
-a -t %[1]s -r %[3]s -m
`, vip, ap(l.Servers[0].V4(), 7000), ap(l.Servers[1].V4(), 7000))
		first := l.session(c, vip)
		l.session(c, vip)
		name := first.ask()
		var drained *testbed.Node
		for _, rs := range l.Servers {
			if rs.Name == name {
				drained = rs
			}
		}
		l.ipvsadm("-e", "-t", vip.String(), "-r", ap(drained.V4(), 7000), "-m", "-w", "0")
		for i := 0; i < 3; i++ {
			if got := first.ask(); got != name {
				t.Errorf("the open connection moved from %s to %s", name, got)
			}
			if got := l.session(c, vip).ask(); got == name {
				t.Errorf("a new connection went to %s, of weight 0", name)
			}
		}
	})
}

// asker is a session that fails the test when a question fails.
type asker struct {
	s *testbed.Session
	t *testing.T
}

func (a asker) ask() string {
	a.t.Helper()
	name, err := a.s.Ask()
	if err != nil {
		a.t.Fatal(err)
	}
	return name
}

// session opens a kept-open connection from c to target.
func (l *e2eLab) session(c *testbed.Node, target netip.AddrPort) asker {
	l.t.Helper()
	s, err := c.OpenSession(netip.AddrPort{}, target)
	if err != nil {
		l.fatal(err)
	}
	return asker{s, l.t}
}

// counters are one line of -Ln --stats --exact.
type counters struct{ conns, inPkts, outPkts, inBytes, outBytes uint64 }

// stats reads -Ln --stats --exact: services by "PROTO ADDR:PORT" (FWM
// and a mark for mark services), real servers by the service's key,
// " -> " and their address.
func (l *e2eLab) stats() map[string]counters {
	l.t.Helper()
	out := l.ipvsadm("-Ln", "--stats", "--exact")
	m := map[string]counters{}
	svc := ""
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 7 {
			continue
		}
		var v [5]uint64
		ok := true
		for i := range v {
			n, err := strconv.ParseUint(f[2+i], 10, 64)
			v[i], ok = n, ok && err == nil
		}
		if !ok {
			continue
		}
		c := counters{v[0], v[1], v[2], v[3], v[4]}
		if f[0] == "->" {
			m[svc+" -> "+f[1]] = c
		} else {
			svc = f[0] + " " + f[1]
			m[svc] = c
		}
	}
	return m
}

// waitStats polls stats until every key has at least its number of
// connections (the kernel folds its per-CPU counters into the totals
// every 2 s), for at most 8 s.
func (l *e2eLab) waitStats(conns map[string]uint64) map[string]counters {
	l.t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for {
		st := l.stats()
		ready := true
		for k, n := range conns {
			ready = ready && st[k].conns >= n
		}
		if ready || time.Now().After(deadline) {
			return st
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Counters: -Ln --stats --exact counts exactly the UDP connections,
// packets and bytes sent through the director (NAT, so both directions,
// IPv4 and IPv6), and the TCP connections; -Lnc lists each of them with
// its client address and port and its real server.
func TestKernelE2ECounters(t *testing.T) {
	l := newE2E(t, testbed.NewNAT, 2, 2)
	l.ServeUDP(53)
	l.ServeHTTP(80)
	rs1, rs2 := l.Servers[0], l.Servers[1]
	l.restore(`-A -u %[1]s -s rr
-a -u %[1]s -r %[2]s -m
-a -u %[1]s -r %[3]s -m
-A -u %[4]s -s rr
-a -u %[4]s -r %[5]s -m
-a -u %[4]s -r %[6]s -m
-A -t %[7]s -s rr
-a -t %[7]s -r %[8]s -m
-a -t %[7]s -r %[9]s -m
`, ap(l.VIP4, 53), ap(rs1.V4(), 53), ap(rs2.V4(), 53), ap(l.VIP6, 53), ap(rs1.V6(), 53), ap(rs2.V6(), 53),
		ap(l.VIP4, 80), ap(rs1.V4(), 80), ap(rs2.V4(), 80))

	// Three UDP flows of one datagram per client and family, and two TCP
	// connections per client, from known ports.
	const payload = 100
	want := map[string]bool{} // -Lnc lines: proto source virtual destination
	dest := map[string]netip.Addr{"rs1": rs1.V4(), "rs2": rs2.V4()}
	dest6 := map[string]netip.Addr{"rs1": rs1.V6(), "rs2": rs2.V6()}
	for i, c := range l.Clients {
		for j := 0; j < 3; j++ {
			port := uint16(40000 + 10*i + j)
			for _, fam := range []struct {
				src, vip netip.Addr
				dst      map[string]netip.Addr
			}{{c.V4(), l.VIP4, dest}, {c.V6(), l.VIP6, dest6}} {
				names, err := c.UDPSession(netip.AddrPortFrom(fam.src, port), netip.AddrPortFrom(fam.vip, 53), 1, make([]byte, payload))
				if err != nil {
					t.Fatal(err)
				}
				want[fmt.Sprintf("UDP %s %s %s", ap(fam.src, port), ap(fam.vip, 53), ap(fam.dst[names[0]], 53))] = true
			}
		}
		for j := 0; j < 2; j++ {
			port := uint16(41000 + 10*i + j)
			name, err := c.GetFrom(netip.AddrPortFrom(c.V4(), port), l.VIP4Port(80))
			if err != nil {
				t.Fatal(err)
			}
			want[fmt.Sprintf("TCP %s %s %s", ap(c.V4(), port), ap(l.VIP4, 80), ap(dest[name], 80))] = true
		}
	}
	udp4, udp6, tcp4 := "UDP "+ap(l.VIP4, 53), "UDP "+ap(l.VIP6, 53), "TCP "+ap(l.VIP4, 80)
	st := l.waitStats(map[string]uint64{udp4: 6, udp6: 6, tcp4: 4})
	// Every datagram is a connection of its own; the answers are the
	// servers' names (3 bytes). Bytes count the IP packets.
	for _, x := range []struct {
		key    string
		n, hdr uint64
	}{
		{udp4, 6, 20 + 8}, {udp4 + " -> " + ap(rs1.V4(), 53), 3, 20 + 8}, {udp4 + " -> " + ap(rs2.V4(), 53), 3, 20 + 8},
		{udp6, 6, 40 + 8}, {udp6 + " -> " + ap(rs1.V6(), 53), 3, 40 + 8}, {udp6 + " -> " + ap(rs2.V6(), 53), 3, 40 + 8},
	} {
		wantC := counters{conns: x.n, inPkts: x.n, outPkts: x.n, inBytes: x.n * (x.hdr + payload), outBytes: x.n * (x.hdr + 3)}
		if got := st[x.key]; got != wantC {
			t.Errorf("%s: %+v, want %+v", x.key, got, wantC)
		}
	}
	// TCP: the connections exactly; packets at least SYN, ACK and request
	// in, SYN-ACK and answer (its FIN perhaps with it) out.
	for _, k := range []string{tcp4, tcp4 + " -> " + ap(rs1.V4(), 80), tcp4 + " -> " + ap(rs2.V4(), 80)} {
		n := uint64(2)
		if k == tcp4 {
			n = 4
		}
		if got := st[k]; got.conns != n || got.inPkts < 3*n || got.outPkts < 2*n {
			t.Errorf("%s: %+v, want %d connections and their packets", k, got, n)
		}
	}

	got := map[string]bool{}
	for _, line := range strings.Split(l.ipvsadm("-Lnc"), "\n") {
		if f := strings.Fields(line); len(f) == 6 && (f[0] == "UDP" || f[0] == "TCP") {
			got[strings.Join([]string{f[0], f[3], f[4], f[5]}, " ")] = true
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("-Lnc lacks %q", k)
		}
	}
	if len(got) != len(want) {
		t.Errorf("-Lnc lists %d connections, want %d:\n%s", len(got), len(want), l.ipvsadm("-Lnc"))
	}
}
