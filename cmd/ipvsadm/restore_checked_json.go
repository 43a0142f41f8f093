package main

import (
	"bufio"
	"errors"
	"fmt"

	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// The checked restore with --json (-R --json with --test, --atomic,
// --replace or --dry-run): the document -L --json writes stands for the
// lines of a restore (restore lines are read too, so that their plan and
// errors can be had as JSON), the plan of --dry-run is a JSON document,
// and errors are JSON objects. A document has no lines, so its problems
// name their object instead.

// inputIsJSON reports whether the input is a JSON document rather than
// restore lines: no restore line starts with '{' or '['. An input of
// blanks only counts as a (broken) document, so that an empty pipe is an
// error and never an empty table for --replace.
func (cr *checkedRestore) inputIsJSON() bool {
	in := bufio.NewReaderSize(cr.p.stdin, 64<<10)
	cr.p.stdin = in
	for {
		c, err := in.ReadByte()
		if err != nil {
			return true
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		in.UnreadByte()
		return c == '{' || c == '['
	}
}

// readJSON reads the document on standard input into in: with --replace
// as the desired table (as readTable does), else as the changes that add
// its services, real servers and timeouts (as readScript does). A document
// that cannot be read is one problem, and ok is false: there is nothing
// to plan.
func (cr *checkedRestore) readJSON(in *input) (ok bool) {
	doc, err := jsondoc.Decode(cr.p.stdin)
	var entries []rules.ServiceEntry
	if err == nil {
		entries, err = doc.Entries()
	}
	if err == nil && cr.mode.Replace && doc.Services == nil {
		err = errors.New(`it has no "services" (null): --replace needs the listing of a table, as -L --json writes it`)
	}
	if err != nil {
		cr.errs = append(cr.errs, lineError{msg: fmt.Sprintf("the JSON document: %v", err),
			hint: "-R --json reads one document as -L --json writes it (docs/ipvsadm.schema.json)"})
		return false
	}
	var changes []rules.Change
	for _, e := range entries {
		changes = append(changes, rules.Change{Op: rules.OpAddService, Service: e.Service})
		// The kernel lists real servers newest first: added from the last,
		// they list in the document's order.
		for i := len(e.Dests) - 1; i >= 0; i-- {
			changes = append(changes, rules.Change{Op: rules.OpAddDest, Service: e.Service, Dest: e.Dests[i]})
		}
	}
	t, hasTimeouts := doc.TimeoutsSetting()
	if hasTimeouts {
		changes = append(changes, rules.Change{Op: rules.OpSetTimeouts, Timeouts: t})
	}
	if !cr.mode.Replace {
		in.changes = changes
		in.lines = make([]int, len(changes))
		return true
	}
	in.desired = rules.NewTable()
	in.desired.Env.Links = localLinks()
	in.daemonLines = map[rules.SyncState]int{}
	in.jsonTimeouts = hasTimeouts
	in.timeouts = t
	scope := cr.mode.Scope
	for _, c := range changes {
		k := serviceKey(c.Service.ServiceKey)
		if c.Op == rules.OpAddService && !scope.Contains(k) {
			cr.fail(0, "service %s is outside --scope %s", k, scope)
		}
		if c.Op == rules.OpSetTimeouts {
			continue
		}
		if err := in.desired.Apply(c); err != nil {
			cr.refuse(0, fmt.Sprintf("%s: %s", jsonObject(c), modelErrorMessage(err)), c, err)
		}
	}
	return true
}

// jsonObject names the object of a change for a document's problems.
func jsonObject(c rules.Change) string {
	k := serviceKey(c.Service.ServiceKey)
	if c.Op == rules.OpAddDest {
		return fmt.Sprintf("service %s, real server %s", k, c.Dest.Key())
	}
	return fmt.Sprintf("service %s", k)
}

// printPlanJSON writes the plan of --dry-run --json: one document, each
// change with the state of its object before and after it.
func (p *program) printPlanJSON(live *rules.Table, changes []rules.Change, lines []int) {
	t := live
	if len(changes) > 0 {
		t = live.Clone()
	}
	doc := jsondoc.Plan{SchemaVersion: jsondoc.SchemaVersion, Generator: generator(), NetNS: p.ns, IPVS: jsondoc.IPVSOf(p.info),
		Changes: make([]jsondoc.PlanChange, len(changes))}
	for i, c := range changes {
		doc.Changes[i] = jsondoc.PlanChangeOf(t, c, lines[i])
		doc.Summary.Count(&doc.Changes[i])
		t.Apply(c)
	}
	jsondoc.Write(p.out, &doc, p.ext.Pretty)
}
