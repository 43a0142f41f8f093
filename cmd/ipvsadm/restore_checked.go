package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ipvsadm-go/ipvsadm/internal/cmdline"
	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/plan"
	"github.com/ipvsadm-go/ipvsadm/internal/render"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// The checked restore: -R with --test, --atomic, --replace or --dry-run
// (our extensions; see COMPATIBILITY.md, "Extensions"). The whole input is
// read and parsed first, turned into a list of changes (the input's own
// changes, or with --replace the difference between the live table and
// the input's table), and the changes are simulated on a model of the live
// table; every problem is reported with its input line. Only a plan the
// model accepts is applied, and a change the kernel refuses all the same
// undoes what was applied before it.

// Exit statuses of the checked restore, besides 0 and those of the
// command line itself.
const (
	exitRefused    = 1 // the input or its plan was refused; nothing changed
	exitRolledBack = 3 // the kernel refused a change; all applied changes were undone
	exitIncomplete = 4 // the kernel refused a change and some could not be undone
	exitLocked     = 5 // another of our writers held the namespace; nothing changed
)

// applyChunk bounds the changes sent before their results are looked at:
// after a refusal no more than this many further changes are in flight.
const applyChunk = 2048

// A checkedRestore is one run of the checked restore.
type checkedRestore struct {
	p    *program
	mode cmdline.RestoreMode
	errs []lineError
}

func (cr *checkedRestore) fail(line int, format string, a ...any) {
	cr.errs = append(cr.errs, lineError{line: line, msg: fmt.Sprintf(format, a...)})
}

// refuse records change c, which the table model refuses with err: msg
// with the kernel's errno and, where one helps, a hint.
func (cr *checkedRestore) refuse(line int, msg string, c rules.Change, err error) {
	e := lineError{line: line, msg: msg, cause: modelCause(err)}
	if cr.p.tty || cr.p.ext.JSON {
		e.hint = commandHint(commandOf(c), e.cause)
	}
	cr.errs = append(cr.errs, e)
}

// stop reports one error that ends the checked restore before any change
// and returns status: ipvsadm's one line, or with --json the error and
// the outcome.
func (cr *checkedRestore) stop(status int, msg string, cause error, hint string) int {
	p := cr.p
	b := p.appendReport(nil, 0, msg, cause, hint)
	if p.ext.JSON {
		b = appendOutcome(b, restoreResult{Status: status, Message: nothingChanged(p.argv0, 1), Errors: 1})
	}
	p.stderr.Write(b)
	return status
}

func (p *program) restoreChecked(mode cmdline.RestoreMode, jsonInput bool) int {
	cr := &checkedRestore{p: p, mode: mode}
	// The input is read whole before the lock and the live table, so that
	// a slow producer neither holds other writers up nor works from an
	// old table.
	var in input
	var err error
	switch {
	case jsonInput && cr.inputIsJSON():
		if !cr.readJSON(&in) {
			return cr.report()
		}
	case mode.Replace:
		err = cr.readTable(&in)
	default:
		err = cr.readScript(&in)
	}
	if err != nil {
		return cr.stop(exitRefused, fmt.Sprintf("%s: cannot read the rules from standard input: %s", filepath.Base(p.argv0), ioErrorText(err)), err, "")
	}
	if !mode.Test && !mode.DryRun {
		unlock, err := lockNamespace(lockWait())
		if err != nil {
			msg := fmt.Sprintf("%s: %v; nothing was changed", filepath.Base(p.argv0), err)
			if errors.Is(err, errLocked) {
				return cr.stop(exitLocked, msg, err, fmt.Sprintf("another ipvsadm -R --atomic or --replace held this namespace for %s: wait until it ends, or wait longer with IPVSADM_LOCK_TIMEOUT=SECONDS", lockWait()))
			}
			return cr.stop(exitRefused, msg, err, "")
		}
		defer unlock()
	}
	live, err := p.liveModel()
	if err != nil {
		return cr.stop(exitRefused, errorMessage(err), err, commandHint(cmdline.Command{Kind: cmdline.CmdList}, err))
	}
	changes, lines := in.changes, in.lines
	if mode.Replace {
		changes, lines = cr.replacePlan(live, &in)
	}
	if len(changes) == 0 && len(cr.errs) == 0 {
		if mode.DryRun {
			p.printPlan(live, nil, nil)
		}
		return 0
	}
	// The simulation changes the table it is given: live is needed
	// afterwards only to print a dry run's plan, so only then is it
	// copied (a copy of a 60,000-line table is some 20 MB).
	simulated := live
	if mode.DryRun {
		simulated = live.Clone()
	}
	sim := plan.Simulate(simulated, changes)
	for i, e := range sim.Errs {
		if e != nil {
			cr.refuse(lines[i], describeRefusal(lines[i], changes[i], e), changes[i], e)
		}
	}
	if len(cr.errs) > 0 {
		return cr.report()
	}
	if mode.DryRun {
		p.printPlan(live, changes, lines)
		return 0
	}
	if mode.Test {
		return 0
	}
	return p.applyAtomic(changes, sim.Undo, lines)
}

// input is what a checked restore read: the script's changes with their
// lines, or the desired table with the line of each object.
type input struct {
	changes []rules.Change
	lines   []int

	desired *rules.Table // each object tagged with its input line
	setLine int          // the last --set line, 0 for none
	// jsonTimeouts: the desired table came from a JSON document with
	// timeouts (it has no lines).
	jsonTimeouts bool
	timeouts     rules.Timeouts // what the --set lines set (0: keep)
	daemonLines  map[rules.SyncState]int
}

// read parses every input line and hands each one that parses to each
// with its line number, recording the problems of those that do not.
// Lines are not kept.
func (cr *checkedRestore) read(r io.Reader, each func(line int, cmd *cmdline.Command)) error {
	sc := cmdline.NewRestoreScanner(r)
	parser := cr.p.parser()
	var cmd cmdline.Command // each line's, in turn: each must not keep it
	for sc.Scan() {
		if err := parser.ParseInto(&cmd, sc.Args()); err != nil {
			e := lineError{line: sc.Line(), msg: err.Error()}
			if cr.p.tty || cr.p.ext.JSON {
				e.hint = cr.p.restoreLineHint(sc.Args())
			}
			cr.errs = append(cr.errs, e)
			continue
		}
		each(sc.Line(), &cmd)
	}
	return sc.Err()
}

// report prints every problem in input order and returns exitRefused.
func (cr *checkedRestore) report() int {
	slices.SortStableFunc(cr.errs, func(a, b lineError) int {
		switch {
		case a.line == b.line:
			return 0
		case a.line == 0:
			return 1
		case b.line == 0:
			return -1
		}
		return a.line - b.line
	})
	// One write: every write to standard error flushes standard output.
	var b []byte
	for _, e := range cr.errs {
		b = cr.p.appendReport(b, e.line, e.msg, e.cause, e.hint)
	}
	summary := nothingChanged(cr.p.argv0, len(cr.errs))
	if cr.p.ext.JSON {
		b = appendOutcome(b, restoreResult{Status: exitRefused, Message: summary, Errors: len(cr.errs)})
	} else {
		b = append(append(b, summary...), '\n')
	}
	cr.p.stderr.Write(b)
	return exitRefused
}

// describeRefusal is the text of a change the model refuses; a change of
// no input line (a deletion of --replace) names its object.
func describeRefusal(line int, c rules.Change, err error) string {
	msg := modelErrorMessage(err)
	if line != 0 {
		return msg
	}
	return fmt.Sprintf("%s: %s", c, msg)
}

// liveModel reads the live table, whole (thresholds and tunnels too),
// with the timeouts and daemons, into the table model, one service at a
// time.
func (p *program) liveModel() (*rules.Table, error) {
	t := rules.NewTable()
	t.Env.Links = localLinks()
	if err := p.b.EachEntry(t.LoadService); err != nil {
		return nil, err
	}
	timeouts, err := p.b.Timeouts()
	if err != nil {
		return nil, err
	}
	daemons, err := p.b.Daemons()
	if err != nil {
		return nil, err
	}
	t.LoadSettings(timeouts, daemons)
	return t, nil
}

// localLinks are this namespace's interfaces, which sync daemons need.
// Without a list (no /proc, no netlink) the model knows lo only.
var localLinks = func() map[string]rules.Link {
	links := map[string]rules.Link{"lo": {MTU: 65536, Loopback: true}}
	ifs, err := net.Interfaces()
	if err != nil {
		return links
	}
	for _, i := range ifs {
		links[i.Name] = rules.Link{MTU: i.MTU, Loopback: i.Flags&net.FlagLoopback != 0}
	}
	return links
}

// readScript reads the input's own changes, in order, for --test,
// --atomic and --dry-run without --replace.
func (cr *checkedRestore) readScript(in *input) error {
	// The input is read whole first, to size the list of changes: a line
	// makes at most one. Grown by appending, the list of a 60,000-line
	// script (35 MB) was copied over and over, and its peak memory
	// tripled.
	data, err := io.ReadAll(cr.p.stdin)
	if err != nil {
		return err
	}
	n := bytes.Count(data, []byte{'\n'}) + 1
	in.changes, in.lines = make([]rules.Change, 0, n), make([]int, 0, n)
	return cr.read(bytes.NewReader(data), func(line int, cmd *cmdline.Command) {
		c, ok := changeOf(cmd)
		if !ok {
			cr.fail(line, "a checked restore takes changes only, not %s", cmd.Kind)
			return
		}
		in.changes = append(in.changes, c)
		in.lines = append(in.lines, line)
	})
}

// serviceKey is k as the kernel and the model key it (a fwmark service by
// family and mark alone).
func serviceKey(k rules.ServiceKey) rules.ServiceKey {
	if k.IsFWMark() {
		return rules.ServiceKey{Family: k.Family, FWMark: k.FWMark}
	}
	return k
}

// readTable builds the input's table on the model, as a fresh namespace
// with this one's interfaces would hold it.
func (cr *checkedRestore) readTable(in *input) error {
	in.desired = rules.NewTable()
	in.desired.Env.Links = localLinks()
	in.daemonLines = map[rules.SyncState]int{}
	scope := cr.mode.Scope
	return cr.read(cr.p.stdin, func(line int, cmd *cmdline.Command) {
		c, ok := changeOf(cmd)
		k := serviceKey(cmd.Service.ServiceKey)
		switch {
		case !ok || c.Op != rules.OpAddService && c.Op != rules.OpAddDest && c.Op != rules.OpSetTimeouts && c.Op != rules.OpStartDaemon:
			cr.fail(line, "--replace takes a table: -A, -a, --set and --start-daemon lines only, not %s", cmd.Kind)
			return
		case c.Op == rules.OpAddService && !scope.Contains(k):
			cr.fail(line, "service %s is outside --scope %s", k, scope)
		}
		if err := in.desired.ApplyTagged(c, int32(line)); err != nil {
			cr.refuse(line, modelErrorMessage(err), c, err)
			return
		}
		switch c.Op {
		case rules.OpSetTimeouts:
			in.setLine = line
			for _, f := range []struct{ dst, v *uint32 }{{&in.timeouts.TCP, &c.Timeouts.TCP}, {&in.timeouts.TCPFin, &c.Timeouts.TCPFin}, {&in.timeouts.UDP, &c.Timeouts.UDP}} {
				if *f.v != 0 {
					*f.dst = *f.v
				}
			}
		case rules.OpStartDaemon:
			in.daemonLines[c.Daemon.State] = line
		}
	})
}

// replacePlan returns the changes from live to the input's table, with
// the input line of each (0 for deletions).
func (cr *checkedRestore) replacePlan(live *rules.Table, in *input) ([]rules.Change, []int) {
	// A --set field of 0 keeps the live value.
	want := live.Timeouts()
	in.desired.Apply(rules.Change{Op: rules.OpSetTimeouts, Timeouts: want})
	in.desired.Apply(rules.Change{Op: rules.OpSetTimeouts, Timeouts: in.timeouts})
	changes := plan.Diff(live, in.desired, plan.Options{Scope: cr.mode.Scope, Timeouts: in.setLine != 0 || in.jsonTimeouts, Daemons: len(in.daemonLines) > 0})
	lines := make([]int, len(changes))
	for i, c := range changes {
		k := c.Service.ServiceKey
		switch c.Op {
		case rules.OpAddService, rules.OpEditService:
			lines[i] = int(in.desired.ServiceTag(k))
		case rules.OpAddDest, rules.OpEditDest:
			lines[i] = int(in.desired.DestinationTag(k, c.Dest.Key()))
		case rules.OpSetTimeouts:
			lines[i] = in.setLine
		case rules.OpStartDaemon:
			lines[i] = in.daemonLines[c.Daemon.State]
		}
	}
	return changes, lines
}

// changeOf is the change a parsed command makes; ok is false for
// commands that are not changes.
func changeOf(cmd *cmdline.Command) (rules.Change, bool) {
	key := rules.Service{ServiceKey: cmd.Service.ServiceKey}
	switch cmd.Kind {
	case cmdline.CmdAddService:
		return rules.Change{Op: rules.OpAddService, Service: cmd.Service}, true
	case cmdline.CmdEditService:
		return rules.Change{Op: rules.OpEditService, Service: cmd.Service}, true
	case cmdline.CmdDeleteService:
		return rules.Change{Op: rules.OpDelService, Service: key}, true
	case cmdline.CmdFlush:
		return rules.Change{Op: rules.OpFlush}, true
	case cmdline.CmdAddServer:
		return rules.Change{Op: rules.OpAddDest, Service: key, Dest: cmd.Dest}, true
	case cmdline.CmdEditServer:
		return rules.Change{Op: rules.OpEditDest, Service: key, Dest: cmd.Dest}, true
	case cmdline.CmdDeleteServer:
		return rules.Change{Op: rules.OpDelDest, Service: key, Dest: cmd.Dest}, true
	case cmdline.CmdSetTimeouts:
		return rules.Change{Op: rules.OpSetTimeouts, Timeouts: cmd.Timeouts}, true
	case cmdline.CmdStartDaemon:
		return rules.Change{Op: rules.OpStartDaemon, Daemon: cmd.Daemon}, true
	case cmdline.CmdStopDaemon:
		return rules.Change{Op: rules.OpStopDaemon, Daemon: cmd.Daemon}, true
	case cmdline.CmdZero:
		if zeroesAll(cmd) {
			return rules.Change{Op: rules.OpZeroAll}, true
		}
		return rules.Change{Op: rules.OpZeroService, Service: key}, true
	}
	return rules.Change{}, false
}

// printPlan writes the changes as ipvsadm -R lines on standard output and
// a summary of each on standard error, or with --json one plan document
// on standard output. The summary is written in one piece at the end:
// standard error flushes standard output first, so a write per line would
// cost two system calls a line.
func (p *program) printPlan(live *rules.Table, changes []rules.Change, lines []int) {
	if p.ext.JSON {
		p.printPlanJSON(live, changes, lines)
		return
	}
	t := live
	if len(changes) > 0 {
		t = live.Clone()
	}
	var line, summary []byte
	counts := map[byte]int{}
	for _, c := range changes {
		line = render.AppendChangeLine(line[:0], c)
		p.out.Write(line)
		n := len(summary)
		summary = render.AppendChangeSummary(summary, t, c)
		counts[summary[n]]++
		t.Apply(c)
	}
	summary = fmt.Appendf(summary, "%d changes: %d to add, %d to change, %d to delete\n", len(changes), counts['+'], counts['~'], counts['-'])
	p.stderr.Write(summary)
}

// sendChanges sends changes through one batch, in chunks, and returns
// each one's result; after a lost reply (ipvs.ErrTimeout) nothing more is
// sent and the rest share that result.
func (p *program) sendChanges(changes []rules.Change, stop func(results []error) bool) []error {
	results := make([]error, 0, len(changes))
	b := newBatch(p.b)
	for start := 0; start < len(changes); start += applyChunk {
		chunk := changes[start:min(start+applyChunk, len(changes))]
		for _, c := range chunk {
			c.QueueOn(b)
		}
		res, fatal := b.Send()
		results = append(results, res...)
		if fatal != nil || stop(res) {
			break
		}
	}
	return results
}

// applyAtomic applies changes; on the first refusal it undoes, in reverse
// order, every change that was applied (undo gives each one's inverse)
// and reports the refused change's input line.
func (p *program) applyAtomic(changes []rules.Change, undo func(i int) []rules.Change, lines []int) int {
	refused := func(res []error) bool { return slices.ContainsFunc(res, func(e error) bool { return e != nil }) }
	results := p.sendChanges(changes, refused)
	first := slices.IndexFunc(results, func(e error) bool { return e != nil })
	if first < 0 {
		return 0
	}
	name := filepath.Base(p.argv0)
	msg := errorMessage(results[first])
	if lines[first] == 0 {
		msg = fmt.Sprintf("%s: %s", changes[first], msg)
	}
	b := p.appendReport(nil, lines[first], msg, results[first], commandHint(commandOf(changes[first]), results[first]))
	var back []rules.Change
	applied := 0
	for i := len(results) - 1; i >= 0; i-- {
		if results[i] == nil || errors.Is(results[i], ipvs.ErrTimeout) {
			applied++
			// A change whose reply was lost may have been made: undo it
			// too (its undo fails harmlessly if it was not).
			back = append(back, undo(i)...)
		}
	}
	// The refusal is printed before the undo is sent.
	p.stderr.Write(b)
	backResults := p.sendChanges(back, func([]error) bool { return false })
	var left []rules.Change
	for i, c := range back {
		if i >= len(backResults) || backResults[i] != nil {
			left = append(left, c)
		}
	}
	res := restoreResult{Status: exitRolledBack, Errors: 1, AppliedChanges: applied}
	if len(left) == 0 {
		res.Message = fmt.Sprintf("%s: the kernel refused a change; all %d applied changes were undone", name, applied)
	} else {
		res.Status, res.Changed = exitIncomplete, true
		res.Message = fmt.Sprintf("%s: the kernel refused a change and not all of the %d applied changes could be undone; to get the table back, still run:", name, applied)
		for _, c := range left {
			res.Left = append(res.Left, strings.TrimSuffix(string(render.AppendChangeLine(nil, c)), "\n"))
		}
	}
	if p.ext.JSON {
		p.stderr.Write(appendOutcome(nil, res))
		return res.Status
	}
	b = append(append(b[:0], res.Message...), '\n')
	for _, l := range res.Left {
		b = append(append(b, l...), '\n')
	}
	p.stderr.Write(b)
	return res.Status
}
