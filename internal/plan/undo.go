package plan

import (
	"slices"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// Inverse returns the changes that undo c applied to before (the table as
// it was just before c): a deleted object comes back with all its
// settings (a service with its real servers, oldest first, so that they
// list in their old order), an edited one gets its full previous
// settings. Zeroed counters cannot come back: their inverse is empty.
// Inverse does not modify before, and does not read it for an addition
// (before may then be nil).
func Inverse(before *rules.Table, c rules.Change) []rules.Change {
	key := rules.Service{ServiceKey: c.Service.ServiceKey}
	switch c.Op {
	case rules.OpAddService:
		return []rules.Change{{Op: rules.OpDelService, Service: key}}
	case rules.OpEditService:
		if old, ok := before.Service(c.Service.ServiceKey); ok {
			return []rules.Change{{Op: rules.OpEditService, Service: old}}
		}
	case rules.OpDelService:
		return restoreService(before, c.Service.ServiceKey)
	case rules.OpFlush:
		var out []rules.Change
		for _, s := range before.Services() {
			out = append(out, restoreService(before, s.ServiceKey)...)
		}
		return out
	case rules.OpAddDest:
		return []rules.Change{{Op: rules.OpDelDest, Service: key, Dest: c.Dest}}
	case rules.OpEditDest, rules.OpDelDest:
		if old, ok := findDest(before, c.Service.ServiceKey, c.Dest.Key()); ok {
			op := rules.OpEditDest
			if c.Op == rules.OpDelDest {
				op = rules.OpAddDest
			}
			return []rules.Change{{Op: op, Service: key, Dest: old}}
		}
	case rules.OpSetTimeouts:
		return []rules.Change{{Op: rules.OpSetTimeouts, Timeouts: before.Timeouts()}}
	case rules.OpStartDaemon:
		return []rules.Change{{Op: rules.OpStopDaemon, Daemon: rules.Daemon{State: c.Daemon.State}}}
	case rules.OpStopDaemon:
		for _, d := range before.Daemons() {
			if d.State == c.Daemon.State {
				return []rules.Change{{Op: rules.OpStartDaemon, Daemon: d}}
			}
		}
	}
	return nil
}

// restoreService is the service with key k as before holds it: added with
// its settings, then its real servers oldest first.
func restoreService(before *rules.Table, k rules.ServiceKey) []rules.Change {
	svc, ok := before.Service(k)
	if !ok {
		return nil
	}
	out := []rules.Change{{Op: rules.OpAddService, Service: svc}}
	key := rules.Service{ServiceKey: svc.ServiceKey}
	for _, d := range slices.Backward(before.Destinations(k)) {
		out = append(out, rules.Change{Op: rules.OpAddDest, Service: key, Dest: d})
	}
	return out
}

func findDest(t *rules.Table, k rules.ServiceKey, dk rules.DestinationKey) (rules.Destination, bool) {
	return t.Destination(k, dk)
}

// A Simulation is the outcome of a list of changes on the table model.
type Simulation struct {
	// Errs holds, for each change, the model's refusal (as the kernel's
	// errno in a *rules.ChangeError), or nil.
	Errs []error
	// Refused counts the changes with an error.
	Refused int

	changes []rules.Change
	// undo holds the inverse of each accepted change that is not an
	// addition: an addition's inverse needs no state (Undo derives it),
	// and a restore script is mostly additions, each inverse some 600
	// bytes.
	undo [][]rules.Change
}

// Undo returns the inverse of change i (see Inverse) if the model
// accepted it, else nil.
func (s *Simulation) Undo(i int) []rules.Change {
	if s.Errs[i] != nil {
		return nil
	}
	if c := s.changes[i]; isAddition(c.Op) {
		return Inverse(nil, c)
	}
	return s.undo[i]
}

// isAddition reports whether op adds an object, whose inverse is its
// deletion whatever the table held.
func isAddition(op rules.Op) bool { return op == rules.OpAddService || op == rules.OpAddDest }

// Simulate applies changes to t in order, as the kernel would (a refused
// change changes nothing and the next one still runs), and records each
// one's result and what undoes it. The simulation keeps changes.
func Simulate(t *rules.Table, changes []rules.Change) Simulation {
	sim := Simulation{Errs: make([]error, len(changes)), undo: make([][]rules.Change, len(changes)), changes: changes}
	for i, c := range changes {
		var undo []rules.Change
		if !isAddition(c.Op) {
			undo = Inverse(t, c)
		}
		if err := t.Apply(c); err != nil {
			sim.Errs[i] = err
			sim.Refused++
			continue
		}
		sim.undo[i] = undo
	}
	return sim
}
