package main

import (
	"fmt"

	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// The checked restore of a JSON document (-R --json with --test, --atomic,
// --replace or --dry-run): the document -L --json writes stands for the
// lines of a restore. A document has no lines, so its problems name their
// object instead.

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
	if err != nil {
		cr.fail(0, "the JSON document: %v", err)
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
	in.objLines = map[objectKey]int{}
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
			cr.fail(0, "%s: %s", jsonObject(c), modelErrorMessage(err))
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
