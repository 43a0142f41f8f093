package plan

import (
	"slices"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// Options say what of the desired table a Diff converges.
type Options struct {
	// Scope limits the services Diff may edit or delete (and, for the
	// caller to check, those the desired table may hold).
	Scope Scope
	// Timeouts: the desired table's timeouts count (the input set them);
	// otherwise the live ones are left alone.
	Timeouts bool
	// Daemons: the desired table's daemons count for their roles; a role
	// the desired table does not run is left alone.
	Daemons bool
}

// Diff returns the changes that turn live into desired, in the order they
// are to be sent:
//  1. the timeouts, if they differ;
//  2. for each desired service (desired's order): added, or edited in
//     place when its settings differ; then its real servers, oldest
//     first, added or edited in place;
//  3. real servers of kept services that desired lacks, deleted;
//  4. services within the scope that desired lacks, deleted;
//  5. daemons: a role that runs with other settings is stopped and
//     started again, a role that does not run is started.
//
// Nothing is flushed and nothing present in both tables is deleted, so a
// reader never misses an object that both tables hold. Applying the
// result to live gives desired within the scope; Diff of equal tables is
// empty.
func Diff(live, desired *rules.Table, o Options) []rules.Change {
	var changes, delDests []rules.Change
	if o.Timeouts && live.Timeouts() != desired.Timeouts() {
		changes = append(changes, rules.Change{Op: rules.OpSetTimeouts, Timeouts: desired.Timeouts()})
	}
	// Both tables are read in place: a diff of two tables of tens of
	// thousands of real servers copies neither.
	for svc, dests := range desired.All() {
		k := svc.ServiceKey
		if !o.Scope.Contains(k) {
			continue
		}
		key := rules.Service{ServiceKey: k}
		old, kept := live.Service(k)
		switch {
		case !kept:
			changes = append(changes, rules.Change{Op: rules.OpAddService, Service: svc})
		case !old.SameSettings(svc):
			changes = append(changes, rules.Change{Op: rules.OpEditService, Service: svc})
		}
		liveDests := live.Dests(k) // empty unless kept
		for i := dests.Len() - 1; i >= 0; i-- {
			d := dests.At(i)
			old, ok := liveDests.Find(d.Key())
			switch {
			case !ok:
				changes = append(changes, rules.Change{Op: rules.OpAddDest, Service: key, Dest: d})
			case !old.SameSettings(d):
				changes = append(changes, rules.Change{Op: rules.OpEditDest, Service: key, Dest: d})
			}
		}
		// What desired lacks goes, in the live listing's order.
		for i := range liveDests.Len() {
			if d := liveDests.At(i); !dests.Contains(d.Key()) {
				delDests = append(delDests, rules.Change{Op: rules.OpDelDest, Service: key, Dest: d})
			}
		}
	}
	changes = append(changes, delDests...)
	for svc := range live.All() {
		if _, wanted := desired.Service(svc.ServiceKey); o.Scope.Contains(svc.ServiceKey) && !wanted {
			changes = append(changes, rules.Change{Op: rules.OpDelService, Service: svc})
		}
	}
	if o.Daemons {
		changes = append(changes, diffDaemons(live.Daemons(), desired.Daemons())...)
	}
	return changes
}

// diffDaemons starts the desired daemons that do not run as desired.
func diffDaemons(live, desired []rules.Daemon) []rules.Change {
	var changes []rules.Change
	for _, d := range desired {
		i := slices.IndexFunc(live, func(l rules.Daemon) bool { return l.State == d.State })
		if i >= 0 && live[i] == d {
			continue
		}
		if i >= 0 {
			changes = append(changes, rules.Change{Op: rules.OpStopDaemon, Daemon: live[i]})
		}
		changes = append(changes, rules.Change{Op: rules.OpStartDaemon, Daemon: d})
	}
	return changes
}
