package rules

import (
	"slices"
	"strings"
)

// LoadService adds a service with its real servers as read in full from a
// kernel (real servers newest first, in Dests), without the checks of
// Apply, and keeps nothing of e: a caller may hand it one entry after
// another in the same memory. A service t holds already stays as it is.
func (t *Table) LoadService(e *ServiceEntry) {
	k := kernelKey(e.Service.ServiceKey)
	if t.byKey[k] != nil {
		return
	}
	ts := t.insert(stored(k, e.Service.Settings()))
	ts.dests = make([]tableDest, 0, len(e.Dests))
	for _, d := range slices.Backward(e.Dests) {
		if d.Family == 0 {
			d.Family = k.Family
		}
		ts.dests = append(ts.dests, storedDest(&d, 0))
	}
}

// LoadSettings replaces the timeouts and daemons of t with those read
// from a kernel.
func (t *Table) LoadSettings(timeouts Timeouts, daemons []Daemon) {
	t.timeouts = timeouts
	t.master, t.backup = nil, nil
	for _, d := range daemons {
		switch d.State {
		case Master:
			t.master = &d
		case Backup:
			t.backup = &d
		}
	}
}

// internName returns a scheduler's or persistence engine's name in memory
// of its own: a name parsed from a script may point into a block of it,
// and a table of thousands of services read from one would keep the whole
// script alive.
func internName(name string) string {
	if i := slices.Index(KernelSchedulers, name); i >= 0 {
		return KernelSchedulers[i]
	}
	switch name {
	case "none":
		return "none"
	case "sip":
		return "sip"
	}
	return strings.Clone(name)
}
