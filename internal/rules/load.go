package rules

import "slices"

// Load replaces the services, real servers, timeouts and daemons of t
// with a state read from a kernel (services in any order, real servers
// newest first, as listed), without the checks of Apply: what a kernel
// holds is taken as it is. Counters are dropped.
func (t *Table) Load(entries []ServiceEntry, timeouts Timeouts, daemons []Daemon) {
	clear(t.byKey)
	if t.byKey == nil {
		t.byKey = map[ServiceKey]*tableService{}
	}
	t.order = nil
	for _, e := range entries {
		k := kernelKey(e.Service.ServiceKey)
		if t.byKey[k] != nil {
			continue
		}
		ts := t.insert(stored(k, e.Service.Settings()))
		ts.dests = make([]Destination, 0, len(e.Dests))
		for _, d := range slices.Backward(e.Dests) {
			d = d.Settings()
			if d.Family == 0 {
				d.Family = k.Family
			}
			ts.dests = append(ts.dests, d)
		}
	}
	t.timeouts = timeouts
	t.master, t.backup = nil, nil
	for _, d := range daemons {
		d := d
		switch d.State {
		case Master:
			t.master = &d
		case Backup:
			t.backup = &d
		}
	}
}
