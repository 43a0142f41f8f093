package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/cmdline"
	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// --drain and --undrain (extensions): take a real server out of a service
// gently and put it back. A drain sets the weight to 0, keeping every
// other setting, so that the scheduler sends it no new connections, then
// waits until the connections it has end: the active ones for TCP and
// SCTP (inactive TCP entries are closed connections waiting to expire);
// for UDP and fwmark services every entry, since UDP flows are counted as
// inactive and expire only when no packet came for the UDP timeout. The
// kernel keeps no record of the weight before a drain, so --undrain takes
// it with -w; the drain prints the --undrain line that restores it.

// Exit statuses of a drain that did not finish (see COMPATIBILITY.md).
const (
	drainTimeoutStatus     = 3   // the deadline passed with connections left
	drainInterruptedStatus = 130 // SIGINT or SIGTERM during the wait
	drainVanishedStatus    = 1   // someone else deleted the server meanwhile
)

// A drainClock is the time a drain waits by; tests use a fake one.
type drainClock interface {
	Now() time.Time
	After(time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Test hooks: the clock, how often the counters are read, how often an
// unchanged count is still reported, and the signals that end a wait.
var (
	drainTime         drainClock = systemClock{}
	drainPollInterval            = time.Second
	drainHeartbeat               = 30 * time.Second
	drainSignals                 = func() (<-chan os.Signal, func()) {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, unix.SIGINT, unix.SIGTERM)
		return ch, func() { signal.Stop(ch) }
	}
)

// drainTarget is the real server a drain or undrain works on, as the
// kernel has it.
type drainTarget struct {
	svc  rules.Service
	dest rules.Destination
}

// findTarget reads the service and the real server named on the command
// line. On failure it reports and returns the exit status.
func (p *program) findTarget(cmd cmdline.Command) (drainTarget, int) {
	key := cmd.Service.ServiceKey
	svc, err := p.b.Service(key)
	if err != nil {
		hint := ""
		if errors.Is(err, unix.ESRCH) {
			hint = "there is no such virtual service in this namespace (list them with ipvsadm -L -n)"
		}
		p.report(errorMessage(err), err, hint)
		return drainTarget{}, 255
	}
	dests, err := p.b.Destinations(key)
	if err != nil {
		p.report(errorMessage(err), err, "")
		return drainTarget{}, 255
	}
	want := netip.AddrPortFrom(cmd.Dest.Addr, cmd.Dest.Port)
	var have []string
	for _, d := range dests {
		if netip.AddrPortFrom(d.Addr, d.Port) == want {
			return drainTarget{svc: svc, dest: d}, 0
		}
		have = append(have, netip.AddrPortFrom(d.Addr, d.Port).String())
	}
	hint := fmt.Sprintf("%s has no real server %s", serviceText(key), want)
	if len(have) > 0 {
		hint += "; its real servers are " + strings.Join(have, ", ")
	} else {
		hint += "; it has no real servers"
	}
	err = &ipvs.Error{Op: ipvs.OpUpdateDestination, Err: unix.ENOENT}
	p.report(errorMessage(err), err, hint)
	return drainTarget{}, 255
}

// drainCounts are the connection counters of one read.
type drainCounts struct {
	active, inactive, persistent uint32
}

// remaining is what a drain waits for: active connections for TCP and
// SCTP, all entries for UDP (whose flows count as inactive) and for
// fwmark services (which may carry UDP).
func (c drainCounts) remaining(k rules.ServiceKey) uint32 {
	if k.IsFWMark() || k.Protocol == rules.UDP {
		return c.active + c.inactive
	}
	return c.active
}

func countsOf(d rules.Destination) drainCounts {
	return drainCounts{active: d.ActiveConns, inactive: d.InactiveConns, persistent: d.PersistentConns}
}

// drain is --drain: weight 0, wait, optionally remove.
func (p *program) drain(cmd cmdline.Command) int {
	// Signals are caught before the weight changes, so that an interrupt
	// can never leave the weight at 0 without saying so.
	sig, stopSignals := drainSignals()
	defer stopSignals()

	t, status := p.findTarget(cmd)
	if status != 0 {
		return status
	}
	key := t.svc.ServiceKey
	r := &drainRun{p: p, key: key, target: t, timeout: cmd.Drain.Timeout, remove: cmd.Drain.Remove,
		previous: t.dest.Weight, counts: countsOf(t.dest)}
	r.out = newDrainOutput(p)

	if t.dest.Weight != 0 {
		d := t.dest.Settings()
		d.Weight = 0
		if err := p.b.UpdateDestination(key, d); err != nil {
			p.report(errorMessage(err), err, commandHint(cmd, err))
			return 255
		}
	}
	r.start = drainTime.Now()
	r.emit("start", r.startMessage())
	for _, w := range p.drainWarnings(t, cmd.Drain.Remove) {
		r.warn(w)
	}

	deadline := r.start.Add(r.timeout)
	for {
		d, found, err := r.read()
		if err != nil {
			r.out.endLive()
			p.report(errorMessage(err)+r.leftText(), err, "")
			return 255
		}
		if !found {
			r.emit("vanished", fmt.Sprintf("%s is gone from %s: someone else deleted it during the drain",
				r.serverText(), serviceText(key)))
			return drainVanishedStatus
		}
		r.counts = countsOf(d)
		now := drainTime.Now()
		r.elapsed = now.Sub(r.start)
		if r.counts.remaining(key) == 0 {
			break
		}
		if !now.Before(deadline) {
			msg := fmt.Sprintf("Deadline of %s passed: %s of %s still has %s; its weight stays 0",
				r.timeout, r.serverText(), serviceText(key), r.countsText())
			if r.remove {
				msg += " and it was not removed"
			}
			r.emit("timeout", msg)
			return drainTimeoutStatus
		}
		r.progress()
		select {
		case <-sig:
			r.interrupted()
			return drainInterruptedStatus
		default:
		}
		select {
		case <-sig:
			r.interrupted()
			return drainInterruptedStatus
		case <-drainTime.After(min(drainPollInterval, deadline.Sub(now))):
		}
	}
	r.emit("drained", fmt.Sprintf("Drained %s of %s after %s: %s left, weight 0",
		r.serverText(), serviceText(key), roundSeconds(r.elapsed), r.countsText()))
	if !r.remove {
		return 0
	}
	if err := p.b.DeleteDestination(key, t.dest.Settings()); err != nil {
		p.report(errorMessage(err), err, "the real server is drained (weight 0) but was not removed")
		return 255
	}
	r.emit("removed", fmt.Sprintf("Removed %s from %s", r.serverText(), serviceText(key)))
	return 0
}

// undrain is --undrain: the weight of -w back, every other setting kept.
func (p *program) undrain(cmd cmdline.Command) int {
	t, status := p.findTarget(cmd)
	if status != 0 {
		return status
	}
	key := t.svc.ServiceKey
	d := t.dest.Settings()
	d.Weight = cmd.Dest.Weight
	if err := p.b.UpdateDestination(key, d); err != nil {
		p.report(errorMessage(err), err, commandHint(cmd, err))
		return 255
	}
	r := &drainRun{p: p, key: key, target: t, previous: t.dest.Weight, weight: d.Weight, counts: countsOf(t.dest)}
	r.out = newDrainOutput(p)
	msg := fmt.Sprintf("Undrained %s of %s: weight %d -> %d", r.serverText(), serviceText(key), t.dest.Weight, d.Weight)
	if t.dest.Weight != 0 {
		msg += " (it was not drained)"
	}
	r.emit("undrained", msg)
	return 0
}

// drainRun is the state of one drain (or undrain) for its output.
type drainRun struct {
	p        *program
	out      *drainOutput
	key      rules.ServiceKey
	target   drainTarget
	timeout  time.Duration
	remove   bool
	previous int32 // the weight before the command
	weight   int32 // the weight now
	counts   drainCounts
	start    time.Time
	elapsed  time.Duration
	// last is what the last progress report said, and when.
	last     drainCounts
	lastAt   time.Duration
	reported bool
}

// read reads the real server's counters; found is false when it or its
// service no longer exists.
func (r *drainRun) read() (rules.Destination, bool, error) {
	dests, err := r.p.b.Destinations(r.key)
	if errors.Is(err, unix.ESRCH) {
		return rules.Destination{}, false, nil
	}
	if err != nil {
		return rules.Destination{}, false, err
	}
	for _, d := range dests {
		if d.Addr == r.target.dest.Addr && d.Port == r.target.dest.Port {
			return d, true, nil
		}
	}
	return rules.Destination{}, false, nil
}

// progress reports the counts: on a terminal every read, otherwise when
// they changed or a heartbeat passed.
func (r *drainRun) progress() {
	msg := fmt.Sprintf("%s: %s of %s has %s", roundSeconds(r.elapsed), r.serverText(), serviceText(r.key), r.countsText())
	if r.out.live() {
		r.out.setLive(fmt.Sprintf("Draining %s: %s, %s of %s", r.serverText(), r.countsText(),
			roundSeconds(r.elapsed), r.timeout))
		return
	}
	if r.reported && r.counts == r.last && r.elapsed-r.lastAt < drainHeartbeat {
		return
	}
	r.last, r.lastAt, r.reported = r.counts, r.elapsed, true
	r.emit("progress", msg)
}

func (r *drainRun) interrupted() {
	r.elapsed = drainTime.Now().Sub(r.start)
	r.emit("interrupted", fmt.Sprintf("Interrupted after %s: %s of %s still has %s; its weight stays 0%s",
		roundSeconds(r.elapsed), r.serverText(), serviceText(r.key), r.countsText(), r.undoText()))
}

func (r *drainRun) startMessage() string {
	msg := fmt.Sprintf("Draining %s of %s: weight %d -> 0", r.serverText(), serviceText(r.key), r.previous)
	if r.previous == 0 {
		return msg + " (it was 0 already: give --undrain the weight to restore with -w)"
	}
	return msg + r.undoText()
}

// undoText is the command that gives the weight back.
func (r *drainRun) undoText() string {
	if r.previous == 0 {
		return ""
	}
	return "; undo with: " + r.undoCommand()
}

func (r *drainRun) undoCommand() string {
	k := r.key
	var svc string
	switch {
	case k.IsFWMark() && k.Family == rules.IPv6:
		svc = fmt.Sprintf("-f %d -6", k.FWMark)
	case k.IsFWMark():
		svc = fmt.Sprintf("-f %d", k.FWMark)
	default:
		opt := map[rules.Protocol]string{rules.TCP: "-t", rules.UDP: "-u", rules.SCTP: "--sctp-service"}[k.Protocol]
		svc = fmt.Sprintf("%s %s", opt, netip.AddrPortFrom(k.Addr, k.Port))
	}
	line := fmt.Sprintf("%s --undrain %s -r %s -w %d", filepath.Base(r.p.argv0), svc, r.serverText(), r.previous)
	if r.p.ext.NetNS != "" {
		line += " --netns " + r.p.ext.NetNS
	}
	return line
}

func (r *drainRun) serverText() string {
	return netip.AddrPortFrom(r.target.dest.Addr, r.target.dest.Port).String()
}

func (r *drainRun) countsText() string {
	c := r.counts
	return fmt.Sprintf("%d active, %d inactive connections and %d persistence templates", c.active, c.inactive, c.persistent)
}

// leftText ends a message about a failed wait.
func (r *drainRun) leftText() string {
	return fmt.Sprintf(" (reading %s during its drain; its weight stays 0)", r.serverText())
}

// warn reports one surprise of the namespace's settings.
func (r *drainRun) warn(w drainWarning) {
	ev := r.event("warning", w.text)
	if w.sysctl != "" {
		ev.Sysctl = &w.sysctl
	}
	r.out.write(ev)
}

func (r *drainRun) emit(event, msg string) { r.out.write(r.event(event, msg)) }

func (r *drainRun) event(event, msg string) jsondoc.DrainEvent {
	return jsondoc.DrainEvent{
		Event: event, Message: msg,
		Service:    jsondoc.ServiceRefOf(r.key),
		RealServer: jsondoc.RealServerRefOf(r.key.Family, r.target.dest),
		Weight:     r.weight, PreviousWeight: r.previous,
		ActiveConnections: r.counts.active, InactiveConnections: r.counts.inactive,
		PersistentConnections: r.counts.persistent, RemainingConnections: r.counts.remaining(r.key),
		ElapsedSeconds: r.elapsed.Round(time.Millisecond).Seconds(), TimeoutSeconds: r.timeout.Seconds(),
		Remove: r.remove,
	}
}

// serviceText names a service in messages: "TCP 10.0.0.1:80", "FWM 1".
func serviceText(k rules.ServiceKey) string {
	if k.IsFWMark() {
		if k.Family == rules.IPv6 {
			return fmt.Sprintf("FWM %d (IPv6)", k.FWMark)
		}
		return fmt.Sprintf("FWM %d", k.FWMark)
	}
	return fmt.Sprintf("%s %s", k.Protocol, netip.AddrPortFrom(k.Addr, k.Port))
}

// roundSeconds renders an elapsed time to the second: "0s", "1m5s".
func roundSeconds(d time.Duration) string { return d.Round(time.Second).String() }
