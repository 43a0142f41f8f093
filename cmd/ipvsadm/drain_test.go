package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/testkit"
)

// fakeClock advances by exactly what a drain waits.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// drainBackend is the model with connection counters that follow a
// script over the fake clock's time, and sysctls of the test's choice.
type drainBackend struct {
	*modelBackend
	clock   *fakeClock
	start   time.Time
	counts  func(elapsed time.Duration, d rules.Destination) drainCounts
	sysctls map[string]string
	reads   int
	// onRead runs at each read of the real servers, after the counts.
	onRead func(n int)
}

func (b *drainBackend) Destinations(k rules.ServiceKey) ([]rules.Destination, error) {
	ds, err := b.modelBackend.Destinations(k)
	if err != nil {
		return nil, err
	}
	b.reads++
	for i := range ds {
		if b.counts != nil {
			c := b.counts(b.clock.now.Sub(b.start), ds[i])
			ds[i].ActiveConns, ds[i].InactiveConns, ds[i].PersistentConns = c.active, c.inactive, c.persistent
		}
	}
	if b.onRead != nil {
		b.onRead(b.reads)
	}
	return ds, nil
}

func (b *drainBackend) Sysctls() (map[string]string, error) { return b.sysctls, nil }

// quietSysctls are the defaults of a fresh namespace.
var quietSysctls = map[string]string{"conn_reuse_mode": "1", "expire_nodest_conn": "0", "expire_quiescent_template": "0"}

// newDrainTest sets up the model with the rules, a fake clock and a
// signal channel the test may send on.
func newDrainTest(t *testing.T, setup ...string) (*drainBackend, chan os.Signal) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	b := &drainBackend{modelBackend: newModelBackend(), clock: clock, start: clock.now, sysctls: quietSysctls}
	withBackend(t, b, nil)
	sig := make(chan os.Signal, 1)
	oldTime, oldSignals := drainTime, drainSignals
	drainTime = clock
	drainSignals = func() (<-chan os.Signal, func()) { return sig, func() {} }
	t.Cleanup(func() { drainTime, drainSignals = oldTime, oldSignals })
	for _, line := range setup {
		_, errs, status := runArgs(strings.Fields(line), "")
		require.Equal(t, 0, status, "%s: %s", line, errs)
	}
	return b, sig
}

// tcpUntil is a TCP count script: n active connections until the time
// end, then none (and one inactive entry, a closing connection).
func tcpUntil(n uint32, end time.Duration) func(time.Duration, rules.Destination) drainCounts {
	return func(el time.Duration, d rules.Destination) drainCounts {
		if el < end {
			return drainCounts{active: n}
		}
		return drainCounts{inactive: 1}
	}
}

func dest(t *testing.T, b *drainBackend, svc rules.ServiceKey) rules.Destination {
	t.Helper()
	ds, err := b.modelBackend.Destinations(svc)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	return ds[0]
}

var tcpVIP = rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}

func TestDrainKeepsSettingsWaitsAndRemoves(t *testing.T) {
	b, _ := newDrainTest(t, "-A -t 10.0.0.1:80 -s wlc", "-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 7 -x 100 -y 50")
	b.counts = tcpUntil(3, 4*time.Second)
	before := dest(t, b, tcpVIP)

	out, errs, status := runArgs([]string{"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.2:8080"}, "")
	require.Equal(t, 0, status, errs)
	require.Empty(t, errs)
	require.Equal(t, "Draining 10.0.0.2:8080 of TCP 10.0.0.1:80: weight 7 -> 0; undo with: ipvsadm --undrain -t 10.0.0.1:80 -r 10.0.0.2:8080 -w 7\n"+
		"0s: 10.0.0.2:8080 of TCP 10.0.0.1:80 has 3 active, 0 inactive connections and 0 persistence templates\n"+
		"Drained 10.0.0.2:8080 of TCP 10.0.0.1:80 after 4s: 0 active, 1 inactive connections and 0 persistence templates left, weight 0\n", out)
	after := dest(t, b, tcpVIP)
	want := before.Settings()
	want.Weight = 0
	require.Equal(t, want, after.Settings(), "only the weight changes")

	out, errs, status = runArgs([]string{"--undrain", "-t", "10.0.0.1:80", "-r", "10.0.0.2:8080", "-w", "7"}, "")
	require.Equal(t, 0, status, errs)
	require.Equal(t, "Undrained 10.0.0.2:8080 of TCP 10.0.0.1:80: weight 0 -> 7\n", out)
	require.Equal(t, before.Settings(), dest(t, b, tcpVIP).Settings())

	b.start = b.clock.now
	out, errs, status = runArgs([]string{"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.2:8080", "--remove"}, "")
	require.Equal(t, 0, status, errs)
	require.Contains(t, out, "\nRemoved 10.0.0.2:8080 from TCP 10.0.0.1:80\n")
	require.Equal(t, "warning: net.ipv4.vs.expire_nodest_conn is 0: once the server is removed, packets of entries that still point to it "+
		"(closing TCP connections, UDP flows) are dropped until the entries expire; set it to 1 to end such entries at their next packet\n", errs)
	ds, _ := b.modelBackend.Destinations(tcpVIP)
	require.Empty(t, ds)
}

func TestDrainTunnelSettingsKept(t *testing.T) {
	b, _ := newDrainTest(t, "-A -t 10.0.0.1:80", "-a -t 10.0.0.1:80 -r 10.0.0.3 -i --tun-type gue --tun-port 6080 --tun-csum -w 3")
	before := dest(t, b, tcpVIP)
	_, errs, status := runArgs([]string{"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.3"}, "")
	require.Equal(t, 0, status, errs)
	want := before.Settings()
	want.Weight = 0
	require.Equal(t, want, dest(t, b, tcpVIP).Settings())
	require.Equal(t, rules.TunnelGUE, want.TunnelType)
}

func TestDrainTimeout(t *testing.T) {
	b, _ := newDrainTest(t, "-A -t 10.0.0.1:80", "-a -t 10.0.0.1:80 -r 10.0.0.2 -w 2")
	b.counts = tcpUntil(2, time.Hour)
	out, errs, status := runArgs([]string{"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "--drain-timeout", "90s", "--remove"}, "")
	require.Equal(t, drainTimeoutStatus, status)
	require.Contains(t, errs, "Deadline of 1m30s passed: 10.0.0.2:80 of TCP 10.0.0.1:80 still has 2 active, 0 inactive connections and 0 persistence templates; its weight stays 0 and it was not removed\n")
	// Unchanged counts are reported again only every heartbeat.
	require.Equal(t, 4, strings.Count(out, "\n"), out)
	require.Contains(t, out, "\n30s: 10.0.0.2:80")
	require.Equal(t, 90*time.Second, b.clock.now.Sub(b.start), "the wait ends at the deadline, not after it")
	require.Equal(t, int32(0), dest(t, b, tcpVIP).Weight)
}

func TestDrainInterrupted(t *testing.T) {
	b, sig := newDrainTest(t, "-A -t 10.0.0.1:80", "-a -t 10.0.0.1:80 -r 10.0.0.2 -w 4")
	b.counts = tcpUntil(1, time.Hour)
	b.onRead = func(n int) {
		if n == 5 {
			sig <- os.Interrupt
		}
	}
	_, errs, status := runArgs([]string{"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "--netns", "/proc/self/ns/net"}, "")
	require.Equal(t, drainInterruptedStatus, status)
	require.Equal(t, "Interrupted after 3s: 10.0.0.2:80 of TCP 10.0.0.1:80 still has 1 active, 0 inactive connections and 0 persistence templates; "+
		"its weight stays 0; undo with: ipvsadm --undrain -t 10.0.0.1:80 -r 10.0.0.2:80 -w 4 --netns /proc/self/ns/net\n", errs)
	require.Equal(t, int32(0), dest(t, b, tcpVIP).Weight)
}

// UDP flows count as inactive entries: the drain waits until they expire.
func TestDrainUDPWaitsForAllEntries(t *testing.T) {
	b, _ := newDrainTest(t, "-A -u 10.0.0.1:53", "-a -u 10.0.0.1:53 -r 10.0.0.2 -w 1")
	b.counts = func(el time.Duration, _ rules.Destination) drainCounts {
		if el < 6*time.Second {
			return drainCounts{inactive: 2}
		}
		return drainCounts{}
	}
	out, errs, status := runArgs([]string{"--drain", "-u", "10.0.0.1:53", "-r", "10.0.0.2"}, "")
	require.Equal(t, 0, status, errs)
	require.Contains(t, out, "Drained 10.0.0.2:53 of UDP 10.0.0.1:53 after 6s")
}

func TestDrainWarnings(t *testing.T) {
	b, _ := newDrainTest(t, "-A -t 10.0.0.1:80 -p 60", "-a -t 10.0.0.1:80 -r 10.0.0.2 -w 1")
	b.sysctls = map[string]string{"conn_reuse_mode": "0", "expire_nodest_conn": "1", "expire_quiescent_template": "0"}
	_, errs, status := runArgs([]string{"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "--remove"}, "")
	require.Equal(t, 0, status)
	require.Equal(t, 2, strings.Count(errs, "warning: "), errs)
	require.Contains(t, errs, "expire_quiescent_template is 0")
	require.Contains(t, errs, "(60 s after their last connection)")
	require.Contains(t, errs, "conn_reuse_mode is 0")
}

func TestDrainJSONLines(t *testing.T) {
	b, _ := newDrainTest(t, "-A -t 10.0.0.1:80 -p", "-a -t 10.0.0.1:80 -r 10.0.0.2 -w 5")
	b.counts = tcpUntil(2, 2*time.Second)
	out, errs, status := runArgs([]string{"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "--remove", "--json", "--drain-timeout", "5m"}, "")
	require.Equal(t, 0, status, errs)
	require.Empty(t, errs)
	testkit.ValidateJSONLines(t, "drain_event", []byte(out))
	var events []string
	var last jsondoc.DrainEvent
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var ev jsondoc.DrainEvent
		require.NoError(t, json.Unmarshal([]byte(line), &ev))
		events = append(events, ev.Event)
		last = ev
	}
	require.Equal(t, []string{"start", "warning", "warning", "progress", "drained", "removed"}, events)
	require.Equal(t, int32(5), last.PreviousWeight)
	require.Equal(t, 2.0, last.ElapsedSeconds)
	require.Equal(t, 300.0, last.TimeoutSeconds)
	require.Equal(t, "10.0.0.2", last.RealServer.Address)

	_, _, status = runArgs([]string{"-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-w", "0"}, "")
	require.Equal(t, 0, status)
	out, _, status = runArgs([]string{"--undrain", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-w", "5", "--json"}, "")
	require.Equal(t, 0, status)
	testkit.ValidateJSONLines(t, "drain_event", []byte(out))
	require.Contains(t, out, `"event":"undrained"`)
}

func TestDrainVanished(t *testing.T) {
	b, _ := newDrainTest(t, "-A -t 10.0.0.1:80", "-a -t 10.0.0.1:80 -r 10.0.0.2 -w 1")
	b.counts = tcpUntil(1, time.Hour)
	b.onRead = func(n int) {
		if n == 3 {
			b.modelBackend.DeleteDestination(tcpVIP, rules.Destination{Addr: netip.MustParseAddr("10.0.0.2"), Port: 80})
		}
	}
	_, errs, status := runArgs([]string{"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.2"}, "")
	require.Equal(t, drainVanishedStatus, status)
	require.Equal(t, "10.0.0.2:80 is gone from TCP 10.0.0.1:80: someone else deleted it during the drain\n", errs)
}

func TestDrainErrors(t *testing.T) {
	newDrainTest(t, "-A -t 10.0.0.1:80", "-a -t 10.0.0.1:80 -r 10.0.0.2 -w 1")
	for _, tc := range []struct {
		args   []string
		status int
		msg    string
	}{
		{[]string{"--drain", "-t", "10.0.0.9:80", "-r", "10.0.0.2"}, 255, "No such service\n"},
		{[]string{"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.3"}, 255, "No such destination\n"},
		{[]string{"--drain", "-t", "10.0.0.1:80"}, 2, "You need to supply the 'real-server' option for the 'drain' command\n"},
		{[]string{"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-w", "0"}, 2, "Illegal 'weight' option with the 'drain' command\n"},
		{[]string{"--undrain", "-t", "10.0.0.1:80", "-r", "10.0.0.2"}, 2, "You need to supply the 'weight' option for the 'undrain' command\n"},
		{[]string{"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "--drain-timeout", "soon"}, 2,
			"--drain-timeout needs a positive duration such as 90s, 10m or 1h30m (a plain number is seconds), not `soon'\n"},
		{[]string{"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "--drain-timeout", "0"}, 2,
			"--drain-timeout needs a positive duration such as 90s, 10m or 1h30m (a plain number is seconds), not `0'\n"},
		{[]string{"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "--json", "--pretty"}, 2,
			`{"error":{"message":"--pretty does not apply to --drain --json, which writes one event per line","operation":null,"errno":null,"errno_name":null,"hint":null,"line":null}}` + "\n"},
		// The drain's options exist only after --drain.
		{[]string{"--undrain", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-w", "1", "--remove"}, 255, "--remove: unknown option\n"},
		{[]string{"-d", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "--remove"}, 255, "--remove: unknown option\n"},
		{[]string{"-L", "--drain"}, 255, "--drain: unknown option\n"},
	} {
		out, errs, status := runArgs(tc.args, "")
		require.Equal(t, tc.status, status, "%q: %s", tc.args, errs)
		require.Empty(t, out, "%q", tc.args)
		require.Equal(t, tc.msg, errs, "%q", tc.args)
	}
}

// TestDrainUnknownToIpvsadm: without extensions (restore lines) the new
// options are popt's unknown options, as in 1.31.
func TestDrainUnknownToIpvsadm(t *testing.T) {
	p := &program{argv0: "ipvsadm", res: newResolver()}
	for _, args := range [][]string{{"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.2"}, {"--undrain"}, {"-d", "--drain-timeout", "1"}} {
		_, err := p.parser().Parse(args)
		require.Error(t, err, "%q", args)
	}
}

// On a terminal the progress is one line rewritten in place on standard
// error, cleared before the result.
func TestDrainTerminalProgress(t *testing.T) {
	b, _ := newDrainTest(t, "-A -t 10.0.0.1:80", "-a -t 10.0.0.1:80 -r 10.0.0.2 -w 1")
	b.counts = tcpUntil(3, 2*time.Second)
	var out, errb bytes.Buffer
	std := newStdio(&out, &errb)
	p := &program{argv0: "ipvsadm", out: std.Out, stderr: std, rawStderr: &errb, res: newResolver(),
		tty: true, syncOut: std.Sync, b: b}
	cmd, err := p.commandParser().Parse([]string{"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "--drain-timeout", "1m"})
	require.NoError(t, err)
	require.Equal(t, 0, p.drain(cmd))
	require.NoError(t, std.Close())
	require.Equal(t, "\rDraining 10.0.0.2:80: 3 active, 0 inactive connections and 0 persistence templates, 0s of 1m0s\x1b[K"+
		"\rDraining 10.0.0.2:80: 3 active, 0 inactive connections and 0 persistence templates, 1s of 1m0s\x1b[K"+
		"\r\x1b[K", errb.String())
	require.Equal(t, 2, strings.Count(out.String(), "\n"), out.String())
	require.Contains(t, out.String(), "Drained 10.0.0.2:80 of TCP 10.0.0.1:80 after 2s")
}

// A real server at weight 0 already is waited for all the same; there is
// no weight to give back, and the start line says so.
func TestDrainAlreadyZero(t *testing.T) {
	newDrainTest(t, "-A -f 7", "-a -f 7 -r 10.0.0.2:80 -w 0")
	out, errs, status := runArgs([]string{"--drain", "-f", "7", "-r", "10.0.0.2:80"}, "")
	require.Equal(t, 0, status, errs)
	require.Equal(t, "Draining 10.0.0.2:80 of FWM 7: weight 0 -> 0 (it was 0 already: give --undrain the weight to restore with -w)\n"+
		"Drained 10.0.0.2:80 of FWM 7 after 0s: 0 active, 0 inactive connections and 0 persistence templates left, weight 0\n", out)
}
