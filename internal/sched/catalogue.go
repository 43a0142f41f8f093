package sched

// Default is the scheduler of a virtual service added without -s.
const Default = "wlc"

// A Scheduler is one entry of the catalogue.
type Scheduler struct {
	Name        string // the kernel's name, as given to -s
	Description string // one line, for humans
}

// catalogue is in the order of ipvsadm's help text
// ("one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh").
var catalogue = [...]Scheduler{
	{"rr", "round robin"},
	{"wrr", "weighted round robin"},
	{"lc", "least connection"},
	{"wlc", "weighted least connection"},
	{"lblc", "locality-based least connection"},
	{"lblcr", "locality-based least connection with replication"},
	{"dh", "destination hashing"},
	{"sh", "source hashing"},
	{"sed", "shortest expected delay"},
	{"nq", "never queue"},
	{"fo", "weighted failover"},
	{"ovf", "weighted overflow"},
	{"mh", "maglev hashing"},
}

// All returns the schedulers in ipvsadm's help order. The slice is a copy.
func All() []Scheduler {
	s := make([]Scheduler, len(catalogue))
	copy(s, catalogue[:])
	return s
}

// Lookup returns the catalogue entry for name. ipvsadm itself never
// validates scheduler names (the kernel does), so this is for help and
// diagnostics only.
func Lookup(name string) (Scheduler, bool) {
	for _, s := range catalogue {
		if s.Name == name {
			return s, true
		}
	}
	return Scheduler{}, false
}
