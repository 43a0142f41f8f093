package ipvs_test

// The differential test of the in-memory table (rules.Table) against the
// kernel: random changes go to both, through the real client, and their
// errors and resulting tables must agree. The model follows the kernel; a
// mismatch is a model bug (or a client bug) until shown otherwise.
//
// IPVS_MODEL_SEED repeats a run, IPVS_MODEL_STEPS sets its length.

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

func TestKernelModelDifferential(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("IPVS_MODEL_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "IPVS_MODEL_SEED")
		seed = v
	}
	steps := 10000
	if s := os.Getenv("IPVS_MODEL_STEPS"); s != "" {
		v, err := strconv.Atoi(s)
		require.NoError(t, err, "IPVS_MODEL_STEPS")
		steps = v
	}
	t.Logf("seed %d, %d steps (IPVS_MODEL_SEED=%d repeats this run)", seed, steps, seed)
	start := time.Now()

	k := newKernelRun(t)
	model := k.newModel()
	gen := &changeGen{r: rand.New(rand.NewPCG(seed, seed>>32|1))}
	var (
		history []rules.Change
		stats   = map[string]int{}
	)
	failAt := func(step int, what string) {
		t.Errorf("seed %d: step %d: %s", seed, step, what)
		short := shrink(t, history, 150, 90*time.Second)
		var b strings.Builder
		for i, c := range short {
			fmt.Fprintf(&b, "  %3d %s\n", i, c)
		}
		t.Fatalf("seed %d: mismatch; a shorter failing sequence (%d of %d changes):\n%s", seed, len(short), len(history), b.String())
	}
	for step := 0; step < steps; {
		// A run of changes goes through a batch now and then, one by
		// one otherwise: both paths must give the kernel's results.
		n := 1
		if gen.r.IntN(4) == 0 {
			n = 1 + gen.r.IntN(16)
		}
		var (
			run   []rules.Change
			merrs []error
		)
		for len(run) < n && step+len(run) < steps {
			c := gen.next(model)
			daemon := c.Op == rules.OpStartDaemon || c.Op == rules.OpStopDaemon
			if daemon && len(run) > 0 {
				break // daemons go alone (see kernelRun.apply)
			}
			merr := model.Apply(c)
			run, merrs = append(run, c), append(merrs, merr)
			what := c.Op.String() + " " + outcome(merr)
			if c.Op == rules.OpStartDaemon && merr == nil {
				what += fmt.Sprintf(" (%s on %s)", c.Daemon.State, c.Daemon.Interface)
			}
			stats[what]++
			if daemon {
				break
			}
		}
		kerrs := k.apply(run, len(run) > 1)
		for i, c := range run {
			history = append(history, c)
			if msg := compareErr(kerrs[i], merrs[i]); msg != "" {
				failAt(step+i, fmt.Sprintf("%s: %s", c, msg))
			}
		}
		step += len(run)
		// The whole table, at random points about 50 changes apart.
		if gen.r.IntN(50) < len(run) || step == steps {
			if diff := k.compare(model); diff != "" {
				failAt(step-1, "tables differ:\n"+diff)
			}
		}
	}
	k.close()
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(stats)) {
		fmt.Fprintf(&b, "\n  %s: %d", name, stats[name])
	}
	t.Logf("seed %d: %d changes agree in %v; results:%s", seed, steps, time.Since(start).Round(time.Millisecond), b.String())
}

// outcome names an error by its errno, for the run's statistics.
func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case ipvs.Errno(err) != 0:
		return unix.ErrnoName(ipvs.Errno(err))
	}
	return "local"
}

// compareErr says how the kernel's and the model's errors differ: the
// same errno (0 for errors found before sending), or both nil.
func compareErr(kerr, merr error) string {
	if (kerr == nil) != (merr == nil) || ipvs.Errno(kerr) != ipvs.Errno(merr) {
		return fmt.Sprintf("kernel: %v, model: %v", kerr, merr)
	}
	return ""
}

// A kernelRun is a fresh namespace, with a sync interface, whose table a
// model follows.
type kernelRun struct {
	t    *testing.T
	c    *ipvs.Client
	salt uint8
	// started is when each running daemon started: stopping one within
	// milliseconds of its start can hang the 6.1 kernel (see
	// settleDaemons).
	started map[rules.SyncState]time.Time
}

func newKernelRun(t *testing.T) *kernelRun {
	c, ns := kernelClient(t)
	ns.AddDummy(t, "sync0", "172.16.0.1/24")
	k := &kernelRun{t: t, c: c, started: map[rules.SyncState]time.Time{}}
	// Before the client and namespace go, also when the test failed.
	t.Cleanup(k.close)
	k.salt = learnSalt(t, c)
	return k
}

// newModel is an empty table of k's namespace.
func (k *kernelRun) newModel() *rules.Table {
	m := rules.NewTable()
	m.Env.BucketSalt = k.salt
	m.Env.Links["sync0"] = rules.Link{MTU: 1500} // a dummy's
	return m
}

// learnSalt finds the namespace's service hash salt: with one fwmark
// service in each of the 256 buckets, the first one listed is in bucket 0.
func learnSalt(t *testing.T, c *ipvs.Client) uint8 {
	t.Helper()
	b := c.NewBatch()
	for m := 1; m <= 256; m++ {
		b.AddService(fwm(rules.IPv4, uint32(m), "rr"))
	}
	res, err := b.Send()
	require.NoError(t, err)
	require.NoError(t, errors.Join(res...))
	svcs, err := c.Services()
	require.NoError(t, err)
	require.Len(t, svcs, 256)
	salt := uint8(svcs[0].FWMark)
	for i, s := range svcs {
		require.Equal(t, uint8(i), rules.ServiceBucket(s.ServiceKey, salt), "fwmark %d listed at %d", s.FWMark, i)
	}
	require.NoError(t, c.Flush())
	return salt
}

// apply sends changes to the kernel, through one batch or one by one, and
// returns each one's error.
func (k *kernelRun) apply(run []rules.Change, batch bool) []error {
	out := make([]error, len(run))
	if !batch {
		for i, c := range run {
			out[i] = k.one(c)
		}
		return out
	}
	b := k.c.NewBatch()
	for _, c := range run {
		c.QueueOn(b)
	}
	res, err := b.Send()
	require.NoError(k.t, err)
	return res
}

// one sends one change through the client's single-request method.
func (k *kernelRun) one(c rules.Change) error {
	key := c.Service.ServiceKey
	switch c.Op {
	case rules.OpAddService:
		return k.c.AddService(c.Service)
	case rules.OpEditService:
		return k.c.UpdateService(c.Service)
	case rules.OpDelService:
		return k.c.DeleteService(key)
	case rules.OpAddDest:
		return k.c.AddDestination(key, c.Dest)
	case rules.OpEditDest:
		return k.c.UpdateDestination(key, c.Dest)
	case rules.OpDelDest:
		return k.c.DeleteDestination(key, c.Dest)
	case rules.OpFlush:
		return k.c.Flush()
	case rules.OpZeroAll:
		return k.c.ZeroAll()
	case rules.OpZeroService:
		return k.c.ZeroService(key)
	case rules.OpSetTimeouts:
		return k.c.SetTimeouts(c.Timeouts)
	case rules.OpStartDaemon:
		err := k.c.StartDaemon(c.Daemon)
		if err == nil {
			k.started[c.Daemon.State] = time.Now()
		}
		return err
	case rules.OpStopDaemon:
		if at, ok := k.started[c.Daemon.State]; ok {
			time.Sleep(time.Until(at.Add(300 * time.Millisecond)))
		}
		err := k.c.StopDaemon(c.Daemon.State)
		if err == nil {
			delete(k.started, c.Daemon.State)
		}
		return err
	}
	k.t.Fatalf("unknown change %v", c.Op)
	return nil
}

// close stops the daemons still running, after they settled.
func (k *kernelRun) close() {
	for s := range k.started {
		_ = k.one(rules.Change{Op: rules.OpStopDaemon, Daemon: rules.Daemon{State: s}})
	}
	clear(k.started)
}

// compare lists the kernel's whole state (settings only) and returns how
// it differs from the model's, or "" if it does not.
func (k *kernelRun) compare(m *rules.Table) string {
	entries, err := k.c.Table(false)
	require.NoError(k.t, err)
	for i, e := range entries {
		entries[i].Service = e.Service.Settings()
		for j, d := range e.Dests {
			e.Dests[j] = d.Settings()
		}
	}
	to, err := k.c.Timeouts()
	require.NoError(k.t, err)
	daemons, err := k.c.Daemons()
	require.NoError(k.t, err)
	got := renderState(entries, to, daemons)
	want := renderState(m.Entries(), m.Timeouts(), m.Daemons())
	if slices.Equal(got, want) {
		return ""
	}
	return lineDiff(want, got)
}

// renderState is a table as lines, one per service, real server, timeout
// set and daemon.
func renderState(entries []rules.ServiceEntry, to rules.Timeouts, daemons []rules.Daemon) []string {
	var out []string
	for _, e := range entries {
		s := e.Service
		out = append(out, fmt.Sprintf("%s sched=%q flags=%#x timeout=%d netmask=%#x pe=%q proto=%d addr=%v port=%d",
			s.ServiceKey, s.Scheduler, uint32(s.Flags), s.Timeout, s.Netmask, s.PE, s.Protocol, s.Addr, s.Port))
		for _, d := range e.Dests {
			out = append(out, fmt.Sprintf("  -> %s fwd=%s w=%d thresh=%d/%d tun=%s:%d/%d", d.Key(), d.Forward, d.Weight,
				d.LowerThreshold, d.UpperThreshold, d.TunnelType, d.TunnelPort, d.TunnelFlags))
		}
	}
	out = append(out, fmt.Sprintf("timeouts %d %d %d", to.TCP, to.TCPFin, to.UDP))
	for _, d := range daemons {
		out = append(out, fmt.Sprintf("daemon %s %q id=%d maxlen=%d group=%s port=%d ttl=%d", d.State, d.Interface, d.SyncID, d.SyncMaxLen, d.Group, d.Port, d.TTL))
	}
	return out
}

// lineDiff shows the model's and the kernel's lines around the first
// difference.
func lineDiff(model, kernel []string) string {
	i := 0
	for i < len(model) && i < len(kernel) && model[i] == kernel[i] {
		i++
	}
	from := max(0, i-5)
	var b strings.Builder
	for _, side := range []struct {
		name  string
		lines []string
	}{{"model", model}, {"kernel", kernel}} {
		fmt.Fprintf(&b, "%s (%d lines, from line %d):\n", side.name, len(side.lines), from)
		for j := from; j < len(side.lines) && j < i+15; j++ {
			mark := "  "
			if j == i {
				mark = "> "
			}
			fmt.Fprintf(&b, "%s%s\n", mark, side.lines[j])
		}
	}
	return b.String()
}

// replayFails runs changes one by one in a fresh namespace and a fresh
// model and reports whether they disagree anywhere.
func replayFails(t *testing.T, changes []rules.Change) bool {
	k := newKernelRun(t)
	defer k.close()
	m := k.newModel()
	for _, c := range changes {
		if compareErr(k.one(c), m.Apply(c)) != "" {
			return true
		}
	}
	return k.compare(m) != ""
}

// shrink drops changes from a failing sequence, in ever smaller chunks,
// as long as the rest still fails; within a replay and time budget.
func shrink(t *testing.T, changes []rules.Change, maxReplays int, budget time.Duration) []rules.Change {
	deadline := time.Now().Add(budget)
	cur, replays := changes, 0
	for chunk := len(cur) / 2; chunk >= 1; chunk /= 2 {
		for i := 0; i < len(cur); {
			if replays >= maxReplays || time.Now().After(deadline) {
				t.Logf("shrinking stopped after %d replays", replays)
				return cur
			}
			end := min(i+chunk, len(cur))
			cand := slices.Concat(cur[:i], cur[end:])
			replays++
			if replayFails(t, cand) {
				cur = cand
			} else {
				i = end
			}
		}
	}
	return cur
}

// TestKernelModelMHLimit: mh's lookup table has 4093 slots. A service
// with more real servers can still grow, but cannot switch to mh; the
// failed switch changes nothing.
func TestKernelModelMHLimit(t *testing.T) {
	k := newKernelRun(t)
	m := k.newModel()
	rr := svc4(rules.TCP, v4a, 80, "rr")
	mh := with(rr, func(s *rules.Service) { s.Scheduler = "mh" })
	mhOther := with(rr, func(s *rules.Service) {
		s.Scheduler, s.Flags, s.Timeout, s.PE = "mh", rules.FlagPersistent|rules.FlagSched1, 600, "sip"
	})
	dest := func(i int) rules.Destination {
		return rules.Destination{Addr: netip.AddrFrom4([4]byte{10, 100, byte(i >> 8), byte(i)}), Port: 80, Forward: rules.Route, Weight: 1}
	}
	var changes []rules.Change
	add := func(c rules.Change) { changes = append(changes, c) }
	add(rules.Change{Op: rules.OpAddService, Service: rr})
	for i := 1; i <= 4094; i++ {
		add(rules.Change{Op: rules.OpAddDest, Service: rr, Dest: dest(i)})
	}
	add(rules.Change{Op: rules.OpEditService, Service: mhOther}) // EINVAL
	add(rules.Change{Op: rules.OpDelDest, Service: rr, Dest: dest(1)})
	add(rules.Change{Op: rules.OpEditService, Service: mh})            // fits now
	add(rules.Change{Op: rules.OpAddDest, Service: rr, Dest: dest(1)}) // growing past the table is fine
	add(rules.Change{Op: rules.OpEditService, Service: mh})            // same scheduler: no rebuild, no error
	add(rules.Change{Op: rules.OpEditService, Service: rr})
	add(rules.Change{Op: rules.OpEditService, Service: mhOther}) // EINVAL again

	var merrs []error
	for _, c := range changes {
		merrs = append(merrs, m.Apply(c))
	}
	kerrs := k.apply(changes, true)
	for i, c := range changes {
		require.Empty(t, compareErr(kerrs[i], merrs[i]), "change %d: %s", i, c)
	}
	require.ErrorIs(t, merrs[4095], unix.EINVAL)
	require.ErrorIs(t, merrs[len(merrs)-1], unix.EINVAL)
	require.Empty(t, k.compare(m))
	s, ok := m.Service(rr.ServiceKey)
	require.True(t, ok)
	require.Equal(t, rr, s)
}
