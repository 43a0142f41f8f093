package main

// --drain on the real kernel with live traffic, in testbed's NAT layout:
// a client, a director and two real servers, each in its namespace. TCP
// connections are Go sockets made inside the namespaces, held open while
// the drain waits and closed by the test; UDP goes to testbed's answerers.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/ipvs/ipvstest"
	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/testbed"
	"github.com/ipvsadm-go/ipvsadm/internal/testkit"
)

// drainLab is testbed's NAT layout with one client and two real servers,
// rs1 and rs2, and this command linked as ipvsadm.
type drainLab struct {
	*testbed.Lab
	ours string
}

func newDrainLab(t *testing.T) *drainLab {
	t.Helper()
	l := &drainLab{Lab: testbed.NewNAT(t, 1, 2)}
	c, err := ipvs.Dial(&ipvs.Config{NetNS: l.Director.NS.FD()})
	if err == nil {
		_, err = c.Info()
		c.Close()
	}
	if err != nil {
		ipvstest.SkipOrFail(t, "no IPVS: "+err.Error())
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	l.ours = filepath.Join(t.TempDir(), "ipvsadm")
	if err := os.Symlink(exe, l.ours); err != nil {
		t.Fatal(err)
	}
	return l
}

// do runs fn in the node's namespace (testbed.Node.Do) and fails on its
// error; sockets fn makes stay in that namespace.
func do(t *testing.T, n *testbed.Node, fn func() error) {
	t.Helper()
	if err := n.Do(fn); err != nil {
		t.Fatalf("%s: %v", n.Name, err)
	}
}

// dialTCP connects from the client to the virtual service (whose real
// servers run testbed's ServeTCP) and returns the connection, held open,
// and the real server that answered on it.
func (l *drainLab) dialTCP(t *testing.T) (*testbed.Session, string) {
	t.Helper()
	c := openSession(t, l.Clients[0], l.VIP4Port(80))
	who, err := c.Ask()
	if err != nil {
		t.Fatal(err)
	}
	return c, who
}

// dialUDP makes a UDP flow from the client (a connected socket, one
// source port) and returns it and the real server that answered.
func (l *drainLab) dialUDP(t *testing.T) (net.Conn, string) {
	t.Helper()
	var c net.Conn
	do(t, l.Clients[0], func() (err error) { c, err = net.Dial("udp4", l.VIP4Port(53).String()); return err })
	t.Cleanup(func() { c.Close() })
	return c, udpAsk(t, c)
}

func udpAsk(t *testing.T, c net.Conn) string {
	t.Helper()
	buf := make([]byte, 64)
	for try := 0; try < 3; try++ {
		c.Write([]byte("q"))
		c.SetReadDeadline(time.Now().Add(time.Second))
		if n, err := c.Read(buf); err == nil {
			return string(buf[:n])
		}
	}
	t.Fatal("no UDP answer through the director")
	return ""
}

// ipvsadm runs this command in the director, by --netns, and requires
// success.
func (l *drainLab) ipvsadm(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(l.ours, append(args, "--netns", l.nsPath())...).CombinedOutput()
	if err != nil {
		t.Fatalf("ipvsadm %q: %v: %s", args, err, out)
	}
	return string(out)
}

// nsPath names the director's namespace for --netns.
func (l *drainLab) nsPath() string {
	return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), l.Director.NS.FD())
}

// realServers reads the service's real servers in the director.
func (l *drainLab) realServers(t *testing.T, key rules.ServiceKey) map[string]rules.Destination {
	t.Helper()
	c, err := ipvs.Dial(&ipvs.Config{NetNS: l.Director.NS.FD()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ds, err := c.Destinations(key)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]rules.Destination{}
	for _, d := range ds {
		m[d.Addr.String()] = d
	}
	return m
}

// A drainProc is a --drain running in the background.
type drainProc struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr strings.Builder
	done   chan struct{} // closed once it exited; then stderr is whole
	// warned are the sysctls of the warning events read so far.
	warned []string
}

func (l *drainLab) startDrain(t *testing.T, args ...string) *drainProc {
	t.Helper()
	p := &drainProc{lines: make(chan string, 100), done: make(chan struct{})}
	p.cmd = exec.Command(l.ours, append(append([]string{"--drain"}, args...), "--netns", l.nsPath())...)
	p.cmd.Stderr = &p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.cmd.Wait()
		close(p.done)
	}()
	return p
}

// next returns the next line of output, failing after the timeout.
func (p *drainProc) next(t *testing.T, within time.Duration) string {
	t.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok {
			<-p.done
			t.Fatalf("the drain ended (exit %d): %s", p.cmd.ProcessState.ExitCode(), p.stderr.String())
		}
		return line
	case <-time.After(within):
		t.Fatalf("no output from the drain within %s", within)
	}
	return ""
}

// event reads JSON lines until one of the given kind.
func (p *drainProc) event(t *testing.T, kind string, within time.Duration) jsondoc.DrainEvent {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		line := p.next(t, time.Until(deadline))
		testkit.ValidateJSON(t, "drain_event", []byte(line))
		var ev jsondoc.DrainEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Event == kind {
			return ev
		}
		if ev.Event == "warning" && ev.Sysctl != nil {
			p.warned = append(p.warned, *ev.Sysctl)
		}
		if ev.Event != "progress" && ev.Event != "warning" {
			t.Fatalf("event %s before %s: %s", ev.Event, kind, line)
		}
	}
}

// exit waits for the drain to end and returns its exit status.
func (p *drainProc) exit(t *testing.T, within time.Duration) int {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case _, ok := <-p.lines:
			if ok {
				continue
			}
			select {
			case <-p.done:
				return p.cmd.ProcessState.ExitCode()
			case <-timeout:
			}
		case <-timeout:
		}
		t.Fatalf("the drain did not end within %s", within)
	}
}

// running reports whether the drain still waits.
func (p *drainProc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// tcpKey is the TCP service on port 80 of the virtual address.
func (l *drainLab) tcpKey() rules.ServiceKey {
	return rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: l.VIP4, Port: 80}
}

// names are the virtual address and the real servers' addresses.
func (l *drainLab) names() (vip, r1, r2 string) {
	return l.VIP4.String(), l.Servers[0].V4().String(), l.Servers[1].V4().String()
}

// TestKernelDrainTCP: held connections keep the drain waiting; a new
// connection meanwhile goes to the other server; the drain ends when they
// close, and --remove deletes the server; its other settings were kept.
func TestKernelDrainTCP(t *testing.T) {
	start := time.Now()
	l := newDrainLab(t)
	vip, r1, r2 := l.names()
	l.Servers[0].ServeTCP(80)
	l.Servers[1].ServeTCP(80)
	l.ipvsadm(t, "-A", "-t", vip+":80", "-s", "rr")
	l.ipvsadm(t, "-a", "-t", vip+":80", "-r", r1+":80", "-m", "-w", "3", "-x", "100", "-y", "10")
	l.ipvsadm(t, "-a", "-t", vip+":80", "-r", r2+":80", "-m", "-w", "3")
	var held []*testbed.Session
	for len(held) < 2 {
		c, who := l.dialTCP(t)
		if who == "rs1" {
			held = append(held, c)
		}
	}
	before := l.realServers(t, l.tcpKey())[r1]

	d := l.startDrain(t, "-t", vip+":80", "-r", r1, "--remove", "--json", "--drain-timeout", "30s")
	ev := d.event(t, "start", 5*time.Second)
	if ev.PreviousWeight != 3 || ev.ActiveConnections != 2 {
		t.Fatalf("start: %+v", ev)
	}
	now := l.realServers(t, l.tcpKey())[r1]
	want := before.Settings()
	want.Weight = 0
	if now.Settings() != want {
		t.Fatalf("drained server %+v, want %+v", now.Settings(), want)
	}
	for range 3 {
		if _, who := l.dialTCP(t); who != "rs2" {
			t.Fatalf("a new connection during the drain went to %s", who)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	if !d.running() {
		t.Fatalf("the drain ended while connections were open: %s", d.stderr.String())
	}
	for _, c := range held {
		c.Close()
	}
	ev = d.event(t, "drained", 10*time.Second)
	if ev.ActiveConnections != 0 {
		t.Fatalf("drained: %+v", ev)
	}
	d.event(t, "removed", 2*time.Second)
	// The director's own sysctls were read: a fresh namespace has
	// expire_nodest_conn 0, the one --remove warns about.
	if !slices.Equal(d.warned, []string{"expire_nodest_conn"}) {
		t.Fatalf("warnings about %q", d.warned)
	}
	if code := d.exit(t, 5*time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, d.stderr.String())
	}
	if _, ok := l.realServers(t, l.tcpKey())[r1]; ok {
		t.Fatal("--remove left the real server")
	}
	t.Logf("took %s", time.Since(start).Round(time.Millisecond))
}

// TestKernelDrainDeadlineAndInterrupt: a connection that stays open ends
// the drain at its deadline (exit 3, the server kept at weight 0 despite
// --remove); Ctrl-C ends it at once (exit 130) and says the weight stays 0.
func TestKernelDrainDeadlineAndInterrupt(t *testing.T) {
	start := time.Now()
	l := newDrainLab(t)
	vip, r1, _ := l.names()
	l.Servers[0].ServeTCP(80)
	l.ipvsadm(t, "-A", "-t", vip+":80")
	l.ipvsadm(t, "-a", "-t", vip+":80", "-r", r1+":80", "-m", "-w", "2")
	l.dialTCP(t)

	d := l.startDrain(t, "-t", vip+":80", "-r", r1, "--remove", "--drain-timeout", "2s")
	if line := d.next(t, 5*time.Second); !strings.HasPrefix(line, fmt.Sprintf("Draining %s:80 of TCP %s:80: weight 2 -> 0; undo with: ipvsadm --undrain", r1, vip)) {
		t.Fatalf("first line %q", line)
	}
	if code := d.exit(t, 10*time.Second); code != drainTimeoutStatus {
		t.Fatalf("exit %d, want %d: %s", code, drainTimeoutStatus, d.stderr.String())
	}
	if !strings.Contains(d.stderr.String(), fmt.Sprintf("Deadline of 2s passed: %s:80 of TCP %s:80 still has 1 active", r1, vip)) {
		t.Fatalf("stderr: %s", d.stderr.String())
	}
	if rs, ok := l.realServers(t, l.tcpKey())[r1]; !ok || rs.Weight != 0 {
		t.Fatalf("after the deadline: %+v %v", rs, ok)
	}

	d = l.startDrain(t, "-t", vip+":80", "-r", r1)
	d.next(t, 5*time.Second)
	d.cmd.Process.Signal(unix.SIGINT)
	if code := d.exit(t, 5*time.Second); code != drainInterruptedStatus {
		t.Fatalf("exit %d, want %d: %s", code, drainInterruptedStatus, d.stderr.String())
	}
	if !strings.Contains(d.stderr.String(), "its weight stays 0") {
		t.Fatalf("stderr: %s", d.stderr.String())
	}

	l.ipvsadm(t, "--undrain", "-t", vip+":80", "-r", r1, "-w", "2")
	if rs := l.realServers(t, l.tcpKey())[r1]; rs.Weight != 2 {
		t.Fatalf("undrain: weight %d", rs.Weight)
	}
	t.Logf("took %s", time.Since(start).Round(time.Millisecond))
}

// TestKernelDrainUDP: a UDP flow that keeps sending keeps its entry and
// the drain waiting; a new flow goes to the other server; the drain ends
// when the entry expired after the flow stopped.
func TestKernelDrainUDP(t *testing.T) {
	start := time.Now()
	l := newDrainLab(t)
	vip, r1, r2 := l.names()
	l.ServeUDP(53)
	l.ipvsadm(t, "--set", "0", "0", "2") // UDP entries expire 2 s after their last packet
	l.ipvsadm(t, "-A", "-u", vip+":53", "-s", "rr")
	l.ipvsadm(t, "-a", "-u", vip+":53", "-r", r1+":53", "-m")
	l.ipvsadm(t, "-a", "-u", vip+":53", "-r", r2+":53", "-m")
	var flow net.Conn
	for flow == nil {
		if c, who := l.dialUDP(t); who == "rs1" {
			flow = c
		}
	}
	stop := make(chan struct{})
	sending := make(chan struct{})
	go func() {
		defer close(sending)
		for {
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
				flow.Write([]byte("q"))
			}
		}
	}()

	d := l.startDrain(t, "-u", vip+":53", "-r", r1, "--json", "--drain-timeout", "30s")
	ev := d.event(t, "start", 5*time.Second)
	if ev.InactiveConnections == 0 || ev.RemainingConnections == 0 {
		t.Fatalf("start: %+v", ev)
	}
	if _, who := l.dialUDP(t); who != "rs2" {
		t.Fatalf("a new flow during the drain went to %s", who)
	}
	if who := udpAsk(t, flow); who != "rs1" {
		t.Fatalf("the existing flow moved to %s", who)
	}
	time.Sleep(2500 * time.Millisecond)
	if !d.running() {
		t.Fatalf("the drain ended while the flow sent: %s", d.stderr.String())
	}
	close(stop)
	<-sending
	stopped := time.Now()
	d.event(t, "drained", 15*time.Second)
	if waited := time.Since(stopped); waited < time.Second {
		t.Fatalf("drained %s after the flow stopped, before its entry could expire", waited)
	}
	if code := d.exit(t, 5*time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, d.stderr.String())
	}
	t.Logf("took %s", time.Since(start).Round(time.Millisecond))
}
