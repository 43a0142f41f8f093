package main

// The checked restore modes on the real kernel, with ipvsadm 1.31 as the
// reference where it can judge: --test and --atomic report every bad line
// of a large input and change nothing; --atomic undoes its changes when a
// concurrent writer makes the kernel refuse one; --replace converges
// between random tables without a reader ever missing an object both
// hold, and without re-creating kept services (their counters survive);
// --dry-run's plan, run by ipvsadm 1.31, reaches the same table; -S --full
// round trips through ipvsadm 1.31's -R and our --replace.

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/ipvs/ipvstest"
	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/testkit"
)

// sortedLines is text with its lines sorted, to compare saves whose
// service order depends on the namespace's hash.
func sortedLines(s string) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	sort.Strings(l)
	return strings.Join(l, "\n")
}

// bigInput is n services of 1 -A and 5 -a lines each (6n lines), on
// 10.<net>.x.y.
func bigInput(net, n int) []string {
	var lines []string
	for i := 0; i < n; i++ {
		vip := fmt.Sprintf("10.%d.%d.%d:80", net, i/250, i%250+1)
		lines = append(lines, fmt.Sprintf("-A -t %s -s wlc", vip))
		for j := 0; j < 5; j++ {
			lines = append(lines, fmt.Sprintf("-a -t %s -r 172.16.%d.%d:8080 -m -w %d", vip, j, i%250+1, j+1))
		}
	}
	return lines
}

func TestKernelRestoreCheckedErrorLines(t *testing.T) {
	tl := newTools(t)
	ns := ipvstest.NewNS(t)
	mustRunTool(t, ns, tl.ours, strings.Join(bigInput(7, 10), "\n")+"\n", "-R")
	before := mustRunTool(t, ns, tl.ref, "", "-Sn")

	lines := bigInput(8, 2000)                              // 12,000 lines
	lines[4999] += " -x 1 -y 2"                             // line 5000: lower threshold above the upper one
	lines[5001] = lines[5000]                               // line 5002: the real server of line 5001 again
	lines[8999] += " --bogus"                               // line 9000: an option ipvsadm does not know
	lines[10999] = "-a -t 10.8.250.250:80 -r 172.16.0.1:80" // line 11000: no such service
	input := strings.Join(lines, "\n") + "\n"
	want := "line 5000: Numerical result out of range\nline 5002: Destination already exists\nline 9000: --bogus: unknown option\n" +
		"line 11000: Service not defined\nipvsadm: 4 errors; nothing was changed\n"
	for _, mode := range []string{"--test", "--atomic"} {
		r := runTool(t, ns, tl.ours, input, "-R", mode)
		if r.Code != exitRefused || r.Stderr != want || r.Stdout != "" {
			t.Errorf("-R %s: exit %d, stdout %q, stderr:\n%s\nwant exit %d, stderr:\n%s", mode, r.Code, r.Stdout, r.Stderr, exitRefused, want)
		}
		if after := mustRunTool(t, ns, tl.ref, "", "-Sn"); after != before {
			t.Errorf("-R %s changed the table", mode)
		}
		// With --json: the same problems as error objects with their
		// lines and errnos, then the outcome.
		r = runTool(t, ns, tl.ours, input, "-R", mode, "--json")
		errLines := strings.Split(strings.TrimSuffix(r.Stderr, "\n"), "\n")
		if r.Code != exitRefused || r.Stdout != "" || len(errLines) != 5 {
			t.Errorf("-R %s --json: exit %d, stdout %q, stderr:\n%s", mode, r.Code, r.Stdout, r.Stderr)
		} else {
			for i, want := range []string{`"errno_name":"ERANGE","hint":"the lower threshold (-y 2) is above the upper threshold (-x 1)`,
				`"errno_name":"EEXIST",`, `"message":"--bogus: unknown option"`, `"message":"Service not defined"`} {
				testkit.ValidateJSON(t, "error", []byte(errLines[i]))
				if !strings.Contains(errLines[i], want) || !strings.Contains(errLines[i], fmt.Sprintf(`"line":%d}`, []int{5000, 5002, 9000, 11000}[i])) {
					t.Errorf("-R %s --json: error %d: %s", mode, i, errLines[i])
				}
			}
			testkit.ValidateJSON(t, "restore_outcome", []byte(errLines[4]))
		}
		if after := mustRunTool(t, ns, tl.ref, "", "-Sn"); after != before {
			t.Errorf("-R %s --json changed the table", mode)
		}
		// ipvsadm 1.31 refuses the option itself.
		ref := runTool(t, ns, tl.ref, "", "-R", mode)
		if ref.Code != 255 || ref.Stderr != mode+": unknown option\n" {
			t.Errorf("ipvsadm 1.31 -R %s: exit %d, %q", mode, ref.Code, ref.Stderr)
		}
	}
	// Without the bad lines the same input applies.
	lines = bigInput(8, 2000)
	mustRunTool(t, ns, tl.ours, strings.Join(lines, "\n")+"\n", "-R", "--atomic")
	if n := strings.Count(mustRunTool(t, ns, tl.ref, "", "-Sn"), "\n"); n != 12000+60 {
		t.Errorf("after --atomic: %d lines saved, want %d", n, 12060)
	}
}

func TestKernelRestoreAtomicRollsBackRace(t *testing.T) {
	tl := newTools(t)
	lines := bigInput(9, 2000)
	input := strings.Join(lines, "\n") + "\n"
	first := rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: netip.MustParseAddr("10.9.0.1"), Port: 80}
	last := rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: netip.MustParseAddr("10.9.7.250"), Port: 80}
	raced := rules.Service{ServiceKey: last, Scheduler: "rr", Netmask: 0xffffffff}
	for attempt := 1; attempt <= 5; attempt++ {
		ns := ipvstest.NewNS(t)
		mustRunTool(t, ns, tl.ours, strings.Join(bigInput(7, 10), "\n")+"\n", "-R")
		before := mustRunTool(t, ns, tl.ref, "", "-Sn")
		c, err := ipvs.Dial(&ipvs.Config{NetNS: ns.FD()})
		if err != nil {
			t.Fatal(err)
		}
		// The other writer adds the input's last service as soon as the
		// input's first one appears.
		raceErr := make(chan error, 1)
		stop := make(chan struct{})
		go func() {
			for {
				select {
				case <-stop:
					raceErr <- fmt.Errorf("never saw the first service")
					return
				default:
				}
				if _, err := c.Service(first); err == nil {
					raceErr <- c.AddService(raced)
					return
				}
			}
		}()
		r := runTool(t, ns, tl.ours, input, "-R", "--atomic")
		close(stop)
		rerr := <-raceErr
		c.Close()
		if r.Code == 0 {
			t.Logf("attempt %d: the other writer came too late (%v); again", attempt, rerr)
			continue
		}
		if rerr != nil {
			t.Fatalf("the other writer failed: %v", rerr)
		}
		if r.Code != exitRolledBack || r.Stderr != "line 11995: Service already exists\nipvsadm: the kernel refused a change; all 11999 applied changes were undone\n" {
			t.Fatalf("exit %d: %s", r.Code, r.Stderr)
		}
		after := mustRunTool(t, ns, tl.ref, "", "-Sn")
		want := before + "-A -t 10.9.7.250:80 -s rr\n"
		if sortedLines(after) != sortedLines(want) {
			t.Fatalf("after the rollback the table is not the one before plus the other writer's service:\n%s", after)
		}
		t.Logf("attempt %d: refused at line 11995, rolled back", attempt)
		return
	}
	t.Fatal("the other writer never came in time")
}

// randomTable is a -S --full style table drawn from a fixed pool of
// services and real servers, so that two draws share objects.
func randomTable(rng *rand.Rand) string {
	var b strings.Builder
	scheds := []string{"rr", "wrr", "wlc", "lc", "sh", "mh"}
	for i := 0; i < 60; i++ {
		if rng.Intn(10) < 3 {
			continue
		}
		var svc string
		switch {
		case i < 45:
			svc = fmt.Sprintf("-t 10.0.%d.%d:80", i/10, i%10+1)
		case i < 55:
			svc = fmt.Sprintf("-u 10.0.9.%d:53", i)
		default:
			svc = fmt.Sprintf("-f %d", i)
		}
		fmt.Fprintf(&b, "-A %s -s %s", svc, scheds[rng.Intn(len(scheds))])
		if rng.Intn(4) == 0 {
			fmt.Fprintf(&b, " -p %d", 60*(1+rng.Intn(5)))
		}
		b.WriteString("\n")
		for j := 0; j < 50; j++ {
			if rng.Intn(10) < 4 {
				continue
			}
			fmt.Fprintf(&b, "-a %s -r 172.16.%d.%d:8080 -m -w %d", svc, i, j+1, 1+rng.Intn(4))
			if rng.Intn(5) == 0 {
				fmt.Fprintf(&b, " -x %d -y %d", 100+rng.Intn(10), rng.Intn(10))
			}
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, "--set %d %d %d\n", 900+rng.Intn(3), 120, 300)
	return b.String()
}

// objectsOf are the services and real servers a -S --full text holds, as
// the keys a listing shows, and its TCP services.
func objectsOf(t *testing.T, text string) (map[string]bool, []rules.ServiceKey) {
	t.Helper()
	m := newModelBackend()
	withBackend(t, m, nil)
	if _, errs, status := runArgs([]string{"-R"}, text); status != 0 {
		t.Fatalf("model restore: %s", errs)
	}
	out := map[string]bool{}
	var tcp []rules.ServiceKey
	for _, e := range m.table.Entries() {
		if e.Service.Protocol == rules.TCP && !e.Service.IsFWMark() {
			tcp = append(tcp, e.Service.ServiceKey)
		}
		out[e.Service.ServiceKey.String()] = true
		for _, d := range e.Dests {
			out[e.Service.ServiceKey.String()+" "+d.Key().String()] = true
		}
	}
	return out, tcp
}

// bothServices are the services both tables hold.
func bothServices(a, b map[string]bool) []rules.ServiceKey {
	var out []rules.ServiceKey
	for k := range a {
		if key, ok := parseServiceName(k); ok && b[k] {
			out = append(out, key)
		}
	}
	return out
}

// A destObject is a real server by its name in objectsOf.
type destObject struct {
	svc  rules.ServiceKey
	name string
}

// bothDests are the real servers both tables hold.
func bothDests(a, b map[string]bool) []destObject {
	var out []destObject
	for k := range a {
		if !b[k] {
			continue
		}
		for s := range a {
			if key, ok := parseServiceName(s); ok && strings.HasPrefix(k, s+" ") {
				out = append(out, destObject{svc: key, name: k})
			}
		}
	}
	return out
}

// parseServiceName reads back a ServiceKey.String() of a TCP, UDP or
// fwmark service of randomTable.
func parseServiceName(s string) (rules.ServiceKey, bool) {
	var mark uint32
	var fam string
	if n, _ := fmt.Sscanf(s, "FWM %d %s", &mark, &fam); n == 2 && !strings.Contains(s, " inet ") && fam == "inet" {
		return rules.ServiceKey{Family: rules.IPv4, FWMark: mark}, true
	}
	proto, ap, ok := strings.Cut(s, " ")
	if !ok || strings.Contains(ap, " ") {
		return rules.ServiceKey{}, false
	}
	a, err := netip.ParseAddrPort(ap)
	if err != nil {
		return rules.ServiceKey{}, false
	}
	p := map[string]rules.Protocol{"TCP": rules.TCP, "UDP": rules.UDP}[proto]
	return rules.ServiceKey{Family: rules.IPv4, Protocol: p, Addr: a.Addr(), Port: a.Port()}, p != 0
}

// keptLine reports whether a -d or -D plan line names an object both
// tables hold.
func keptLine(a, b map[string]bool, line string) bool {
	m := newModelBackend()
	f := strings.Fields(line)
	// Make the line's object exist in a model, then name it as objectsOf does.
	var svcLine string
	if f[0] == "-D" {
		svcLine = "-A " + strings.Join(f[1:], " ") + " -s rr\n"
	} else {
		i := slices.Index(f, "-r")
		svcLine = "-A " + strings.Join(f[1:i], " ") + " -s rr\n-a " + strings.Join(f[1:], " ") + " -m\n"
	}
	var out, errb strings.Builder
	old := dialBackend
	dialBackend = func(int) (backend, error) { return m, nil }
	run([]string{"ipvsadm", "-R"}, strings.NewReader(svcLine), &out, &errb)
	dialBackend = old
	for _, e := range m.table.Entries() {
		name := e.Service.ServiceKey.String()
		if f[0] == "-D" {
			return a[name] && b[name]
		}
		for _, d := range e.Dests {
			return a[name+" "+d.Key().String()] && b[name+" "+d.Key().String()]
		}
	}
	return false
}

// inNS runs f on a thread in ns.
func inNS(t *testing.T, ns *ipvstest.NS, f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			t.Error(err)
			return
		}
		if err := netns.Set(netns.NsHandle(ns.FD())); err != nil {
			t.Error(err)
			return
		}
		f()
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
		orig.Close()
	}()
	<-done
}

func TestKernelRestoreReplaceRandomTables(t *testing.T) {
	tl := newTools(t)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	ns := ipvstest.NewNS(t)
	ns.AddDummy(t, "dummy0", "10.0.255.254/16", "172.16.255.254/16")
	cur := randomTable(rng)
	mustRunTool(t, ns, tl.ref, cur, "-R")
	c, err := ipvs.Dial(&ipvs.Config{NetNS: ns.FD()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for round := 0; round < 6; round++ {
		next := randomTable(rng)
		curObjs, tcp := objectsOf(t, cur)
		nextObjs, _ := objectsOf(t, next)
		// Traffic to every TCP service, so that kept services have counters.
		inNS(t, ns, func() {
			for _, k := range tcp {
				conn, err := net.DialTimeout("tcp", netip.AddrPortFrom(k.Addr, k.Port).String(), 5*time.Millisecond)
				if err == nil {
					conn.Close()
				}
			}
		})
		conns := map[rules.ServiceKey]uint64{}
		svcs, err := c.Services()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range svcs {
			conns[s.ServiceKey] = s.Stats64.Conns
		}
		// The plan deletes nothing that both tables hold.
		dry := mustRunTool(t, ns, tl.ours, next, "-R", "--replace", "--dry-run")
		for _, l := range strings.Split(dry, "\n") {
			if strings.HasPrefix(l, "-d ") || strings.HasPrefix(l, "-D ") {
				if keptLine(curObjs, nextObjs, l) {
					t.Errorf("round %d: the plan deletes what both tables hold: %s", round, l)
				}
			}
		}
		// A lister that must always find every object of both tables:
		// services by key (a lookup, not a positional dump), real servers
		// in dumps. The kernel resumes a dump by position, so a real
		// server deleted ahead of the dump's position makes it skip the
		// next one; a missing real server is looked for again, and only
		// one that stays missing fails.
		var stop atomic.Bool
		var wg sync.WaitGroup
		var lookups, listings, skipped atomic.Int64
		services, dests := bothServices(curObjs, nextObjs), bothDests(curObjs, nextObjs)
		wg.Add(2)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				for _, k := range services {
					if _, err := c.Service(k); err != nil {
						t.Errorf("round %d: service %s, which both tables hold, is missing: %v", round, k, err)
						return
					}
					lookups.Add(1)
				}
			}
		}()
		go func() {
			defer wg.Done()
			byService := map[rules.ServiceKey][]destObject{}
			for _, o := range dests {
				byService[o.svc] = append(byService[o.svc], o)
			}
			for !stop.Load() {
				for k, objs := range byService {
					listed, err := c.Destinations(k)
					if err != nil {
						t.Errorf("round %d: real servers of %s: %v", round, k, err)
						return
					}
					listings.Add(1)
					for _, o := range objs {
						has := func(ds []rules.Destination) bool {
							return slices.ContainsFunc(ds, func(d rules.Destination) bool { return o.name == o.svc.String()+" "+d.Key().String() })
						}
						if has(listed) {
							continue
						}
						skipped.Add(1)
						found := false
						for try := 0; try < 5 && !found; try++ {
							again, _ := c.Destinations(o.svc)
							found = has(again)
						}
						if !found {
							t.Errorf("round %d: real server %s, which both tables hold, is missing", round, o.name)
							return
						}
					}
				}
			}
		}()
		r := runTool(t, ns, tl.ours, next, "-R", "--replace")
		stop.Store(true)
		wg.Wait()
		if r.Code != 0 {
			t.Fatalf("round %d: --replace: exit %d: %s", round, r.Code, r.Stderr)
		}
		// The result is the desired table, as ipvsadm 1.31 builds it.
		fresh := ipvstest.NewNS(t)
		mustRunTool(t, fresh, tl.ref, next, "-R")
		if got, want := mustRunTool(t, ns, tl.ours, "", "-S", "--full", "-n"), mustRunTool(t, fresh, tl.ours, "", "-S", "--full", "-n"); sortedLines(got) != sortedLines(want) {
			t.Fatalf("round %d: after --replace the table differs from the desired one:\n%s\nwant:\n%s", round, got, want)
		}
		svcs, err = c.Services()
		if err != nil {
			t.Fatal(err)
		}
		kept, counted := 0, 0
		for _, s := range svcs {
			if n, ok := conns[s.ServiceKey]; ok {
				kept++
				if n > 0 {
					counted++
				}
				if s.Stats64.Conns < n {
					t.Errorf("round %d: %s: connections counter went from %d to %d: re-created", round, s.ServiceKey, n, s.Stats64.Conns)
				}
			}
		}
		if dry := runTool(t, ns, tl.ours, next, "-R", "--replace", "--dry-run"); dry.Code != 0 || dry.Stdout != "" {
			t.Errorf("round %d: a second --replace would change: %s", round, dry.Stdout)
		}
		t.Logf("round %d: %d services kept (%d with counters); during the replace %d lookups of kept services and %d dumps of their real servers (%d kept real servers skipped by a dump, found again), none missing",
			round, kept, counted, lookups.Load(), listings.Load(), skipped.Load())
		cur = next
	}
}

func TestKernelRestoreDryRunByReference(t *testing.T) {
	tl := newTools(t)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for round := 0; round < 4; round++ {
		from, to := randomTable(rng), randomTable(rng)
		ns := ipvstest.NewNS(t)
		mustRunTool(t, ns, tl.ref, from, "-R")
		dry := runTool(t, ns, tl.ours, to, "-R", "--replace", "--dry-run")
		plan := dry.Stdout
		// The JSON plan of the same input has the same changes and counts.
		doc := mustRunTool(t, ns, tl.ours, to, "-R", "--replace", "--dry-run", "--json")
		testkit.ValidateJSON(t, "plan", []byte(doc))
		var jp jsondoc.Plan
		if err := json.Unmarshal([]byte(doc), &jp); err != nil {
			t.Fatal(err)
		}
		if sum := fmt.Sprintf("%d changes: %d to add, %d to change, %d to delete\n", jp.Summary.Changes, jp.Summary.Add, jp.Summary.Edit, jp.Summary.Delete); dry.Code != 0 ||
			len(jp.Changes) != strings.Count(plan, "\n") || !strings.HasSuffix(dry.Stderr, sum) {
			t.Fatalf("round %d: the JSON plan (%d changes, %s) is not the text plan (exit %d, %d lines, %s)", round, len(jp.Changes), sum, dry.Code, strings.Count(plan, "\n"), dry.Stderr)
		}
		before := mustRunTool(t, ns, tl.ours, "", "-S", "--full", "-n")
		mustRunTool(t, ns, tl.ref, plan, "-R")
		fresh := ipvstest.NewNS(t)
		mustRunTool(t, fresh, tl.ref, to, "-R")
		got, want := mustRunTool(t, ns, tl.ours, "", "-S", "--full", "-n"), mustRunTool(t, fresh, tl.ours, "", "-S", "--full", "-n")
		if sortedLines(got) != sortedLines(want) {
			t.Fatalf("round %d: ipvsadm 1.31 -R of the dry run's %d lines does not reach the table:\n%s\nwant:\n%s\nfrom:\n%s", round, strings.Count(plan, "\n"), got, want, before)
		}
		t.Logf("round %d: %d plan lines, run by ipvsadm 1.31, reach the table", round, strings.Count(plan, "\n"))
	}
}

func TestKernelSaveFullRoundTrip(t *testing.T) {
	tl := newTools(t)
	ns := ipvstest.NewNS(t)
	table := randomTable(rand.New(rand.NewSource(1))) +
		"-A -t [2001:db8::1]:443 -s mh -b mh-port -p 120 -M 64\n-a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -m -w 3 -x 50 -y 5\n" +
		"-A -f 70 -6 -s rr\n-A -t 10.0.99.1:80 -s rr\n-a -t 10.0.99.1:80 -r 172.17.0.1 -i --tun-type gue --tun-port 6080 --tun-csum\n"
	mustRunTool(t, ns, tl.ref, table, "-R")
	mustRunTool(t, ns, tl.ref, "", "--start-daemon", "master", "--mcast-interface", "lo", "--syncid", "7")
	mustRunTool(t, ns, tl.ref, "", "--start-daemon", "backup", "--mcast-interface", "lo", "--syncid", "9", "--mcast-port", "8849")
	saved := mustRunTool(t, ns, tl.ours, "", "-S", "--full", "-n")
	if !strings.Contains(saved, " -x ") || !strings.Contains(saved, "--start-daemon backup") || !strings.Contains(saved, "--set ") {
		t.Fatalf("-S --full lacks thresholds, daemons or timeouts:\n%s", saved)
	}
	for _, restore := range []struct {
		tool string
		args []string
	}{{tl.ref, []string{"-R"}}, {tl.ours, []string{"-R"}}, {tl.ours, []string{"-R", "--replace"}}} {
		fresh := ipvstest.NewNS(t)
		mustRunTool(t, fresh, restore.tool, saved, restore.args...)
		if again := mustRunTool(t, fresh, tl.ours, "", "-S", "--full", "-n"); again != saved {
			t.Errorf("%s %v of -S --full gives another save:\n%s\nwant:\n%s", restore.tool, restore.args, again, saved)
		}
	}
	// A replace of the save onto the table it came from changes nothing.
	if dry := runTool(t, ns, tl.ours, saved, "-R", "--replace", "--dry-run"); dry.Code != 0 || dry.Stdout != "" {
		t.Errorf("--replace of its own -S --full plans changes (exit %d): %s%s", dry.Code, dry.Stdout, dry.Stderr)
	}
}

// TestKernelRestoreReplaceConverge is the converge workload at the
// benchmark's smaller size (testkit.BenchRules(2000, 5): 12,000 lines;
// under the VM's emulation ipvsadm 1.31 needs more than 5 minutes for
// 60,000) with 1% of the lines changed, timed, with the flush window measured: a prober
// looks up 200 services that both tables hold, by key, in a loop, and
// adds up the time between a lookup that failed and the next that
// succeeded. --replace must have no window; ipvsadm 1.31's way (-C, then
// -R) has one as long as its restore.
func TestKernelRestoreReplaceConverge(t *testing.T) {
	tl := newTools(t)
	const services = 2000
	base := string(testkit.BenchRules(services, 5))
	lines := strings.Split(strings.TrimRight(base, "\n"), "\n")
	// 1% of 60,000 lines: weights edited, real servers swapped, services
	// swapped.
	for i, n := 0, 0; i < len(lines) && n < len(lines)/100; i += 97 {
		switch {
		case strings.HasPrefix(lines[i], "-a") && n%3 == 0:
			lines[i] = strings.Replace(lines[i], " -w ", " -w 1", 1)
		case strings.HasPrefix(lines[i], "-a") && n%3 == 1:
			lines[i] = strings.Replace(lines[i], ":8080", ":8081", 1)
		default:
			continue
		}
		n++
	}
	lines = append(lines, "-A -t 10.99.0.1:80 -s rr", "-a -t 10.99.0.1:80 -r 172.31.0.1:8080 -m -w 1")
	changed := strings.Join(lines, "\n") + "\n"
	var probe []rules.ServiceKey
	for i := 0; i < 200; i++ {
		a := netip.MustParseAddr(testkit.BenchAddr(10<<24, i*services/200))
		probe = append(probe, rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: a, Port: 80})
	}
	measure := func(ns *ipvstest.NS, f func()) (time.Duration, time.Duration) {
		c, err := ipvs.Dial(&ipvs.Config{NetNS: ns.FD()})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var stop atomic.Bool
		var window time.Duration
		done := make(chan struct{})
		go func() {
			defer close(done)
			var missingSince time.Time
			for !stop.Load() {
				for _, k := range probe {
					_, err := c.Service(k)
					now := time.Now()
					switch {
					case err != nil && missingSince.IsZero():
						missingSince = now
					case err == nil && !missingSince.IsZero():
						window += now.Sub(missingSince)
						missingSince = time.Time{}
					}
				}
			}
			if !missingSince.IsZero() {
				window += time.Since(missingSince)
			}
		}()
		start := time.Now()
		f()
		took := time.Since(start)
		stop.Store(true)
		<-done
		return took, window
	}
	ours := ipvstest.NewNS(t)
	ref := ipvstest.NewNS(t)
	mustRunTool(t, ours, tl.ours, base, "-R")
	mustRunTool(t, ref, tl.ours, base, "-R")

	start := time.Now()
	mustRunTool(t, ours, tl.ours, "", "-Sn")
	saveTime := time.Since(start)
	start = time.Now()
	mustRunTool(t, ours, tl.ours, base, "-R", "--replace")
	sameTime := time.Since(start)

	replaceTime, replaceWindow := measure(ours, func() { mustRunTool(t, ours, tl.ours, changed, "-R", "--replace") })
	oldTime, oldWindow := measure(ref, func() {
		mustRunTool(t, ref, tl.ref, "", "-C")
		mustRunTool(t, ref, tl.ref, changed, "-R")
	})
	if a, b := mustRunTool(t, ours, tl.ref, "", "-Sn"), mustRunTool(t, ref, tl.ref, "", "-Sn"); sortedLines(a) != sortedLines(b) {
		t.Fatal("--replace and -C then -R reach different tables")
	}
	t.Logf("%d lines, 1%% changed: --replace %.3f s (flush window %v); ipvsadm 1.31 -C then -R %.3f s (flush window %v); %.1fx",
		len(lines), replaceTime.Seconds(), replaceWindow, oldTime.Seconds(), oldWindow, oldTime.Seconds()/replaceTime.Seconds())
	t.Logf("no change: --replace %.3f s; ours -Sn %.3f s", sameTime.Seconds(), saveTime.Seconds())
	if replaceWindow != 0 {
		t.Errorf("--replace left services missing for %v", replaceWindow)
	}
}

// TestKernelRestoreReplaceWide converges one service of thousands of real
// servers (which the table model finds through an index) with 1% of them
// edited, 1% swapped and thresholds set on some: the table reached equals
// the one ipvsadm 1.31 builds from the same rules after -C.
func TestKernelRestoreReplaceWide(t *testing.T) {
	tl := newTools(t)
	const reals = 3000
	line := func(i int, port, weight int, extra string) string {
		return fmt.Sprintf("-a -t 10.98.0.1:80 -r 172.%d.%d.%d:%d -m -w %d%s", 20+i/62500, i/250%250, i%250+1, port, weight, extra)
	}
	var base, desired strings.Builder
	base.WriteString("-A -t 10.98.0.1:80 -s wrr\n")
	desired.WriteString("-A -t 10.98.0.1:80 -s wrr\n")
	for i := range reals {
		fmt.Fprintln(&base, line(i, 8080, 1+i%9, ""))
		switch {
		case i%100 == 7:
			fmt.Fprintln(&desired, line(i, 8080, 50, ""))
		case i%100 == 41:
			fmt.Fprintln(&desired, line(i, 8081, 1+i%9, ""))
		case i%100 == 77:
			fmt.Fprintln(&desired, line(i, 8080, 1+i%9, " -x 100 -y 10"))
		default:
			fmt.Fprintln(&desired, line(i, 8080, 1+i%9, ""))
		}
	}
	ours := ipvstest.NewNS(t)
	ref := ipvstest.NewNS(t)
	mustRunTool(t, ours, tl.ours, base.String(), "-R")
	mustRunTool(t, ours, tl.ours, desired.String(), "-R", "--replace")
	mustRunTool(t, ref, tl.ref, desired.String(), "-R")
	for _, view := range [][]string{{"-Sn"}, {"-Ln", "--thresholds"}} {
		a, b := mustRunTool(t, ours, tl.ref, "", view...), mustRunTool(t, ref, tl.ref, "", view...)
		if sortedLines(a) != sortedLines(b) {
			t.Fatalf("ipvsadm %s: --replace and -R from empty reach different tables", strings.Join(view, " "))
		}
	}
	if out := mustRunTool(t, ours, tl.ours, desired.String(), "-R", "--replace", "--dry-run"); out != "" {
		t.Fatalf("--replace left a difference; --dry-run plans:\n%s", out)
	}
}
