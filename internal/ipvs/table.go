package ipvs

import (
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// Table returns every service with its real servers, services in the
// kernel's order and real servers newest first.
//
// With brief set, real servers may be read from /proc/net/ip_vs in one
// pass: they then carry address, family, port, forwarding method, weight
// and active and inactive connection counts, and zero thresholds,
// persistent-connection count and statistics. Services with a tunnel real
// server, services /proc does not show unambiguously, and calls from a
// thread in another network namespace than the client's socket get full
// netlink dumps, so tunnel settings are always complete. Without brief,
// every real server is complete.
func (c *Client) Table(brief bool) ([]rules.ServiceEntry, error) {
	svcs, proc, err := c.consistentServices(brief)
	if err != nil {
		return nil, err
	}
	entries := make([]rules.ServiceEntry, len(svcs))
	for i, s := range svcs {
		entries[i].Service = s
		dests, ok := proc.lookup(procKeyOf(s.ServiceKey))
		for _, d := range dests {
			ok = ok && d.Forward != rules.Tunnel
		}
		if ok {
			entries[i].Dests = dests
			continue
		}
		// Large chunks where a service is known to have many real servers
		// (from /proc), or where there are few services to dump.
		large := len(dests) >= largeDestDump || !brief && len(svcs) <= largeDestDump
		if entries[i].Dests, err = c.destinations(s.ServiceKey, large); err != nil {
			return nil, err
		}
	}
	return entries, nil
}

// tableAttempts bounds how often Table reads the services again when its
// reads disagree.
const tableAttempts = 10

// consistentServices reads the set of services until it can trust it. The
// kernel resumes a services dump by position in a table that every network
// namespace shares, and /proc/net/ip_vs resumes its reads the same way, so
// a change in any namespace while they are read can make them skip
// services of this one (repeats are dropped as they come). Each read is
// thus a subset of the table. Table reads a dump and /proc (where /proc is
// this namespace's) alternately and keeps the union of what it saw; it
// takes a dump once that dump and one more read are the whole union. If no
// two reads agree in tableAttempts rounds (this namespace's own table keeps
// changing), the error matches ErrInconsistent: never a listing that
// silently misses services.
//
// With brief set, /proc is one of the reads, and proc is the last /proc
// table read (each service it shows with all its real servers, in brief);
// else only dumps are read (/proc would be formatted in full for nothing)
// and proc is empty.
func (c *Client) consistentServices(brief bool) (svcs []rules.Service, proc *procTable, err error) {
	proc = &procTable{}
	union := map[procKey]int{}
	var reads []map[procKey]int
	var dumps [][]rules.Service
	add := func(read map[procKey]int) {
		reads = append(reads, read)
		for k, n := range read {
			union[k] = max(union[k], n)
		}
	}
	whole := func(read map[procKey]int) bool {
		if len(read) != len(union) {
			return false
		}
		for k, n := range union {
			if read[k] != n {
				return false
			}
		}
		return true
	}
	for range tableAttempts {
		svcs, err := c.Services()
		if err != nil {
			return nil, nil, err
		}
		dumps = append(dumps, svcs)
		add(dumpKeys(svcs))
		if t := c.readProcTable(brief); t != nil {
			proc = t
			add(t.keyCounts())
		}
		complete := 0
		for _, r := range reads {
			if whole(r) {
				complete++
			}
		}
		if complete < 2 {
			continue
		}
		// The latest dump that is the whole union.
		for i := len(dumps) - 1; i >= 0; i-- {
			if whole(dumpKeys(dumps[i])) {
				return dumps[i], proc, nil
			}
		}
	}
	return nil, nil, &Error{Op: OpServices, Err: ErrInconsistent}
}

// readProcTable reads /proc/net/ip_vs where it is the client's namespace's
// and want is set; else nil.
func (c *Client) readProcTable(want bool) *procTable {
	if !want {
		return nil
	}
	f := c.openProcTable()
	if f == nil {
		return nil
	}
	defer f.Close()
	t, err := parseProcIPVS(f)
	if err != nil {
		return nil
	}
	return t
}

// procKeyOf is the /proc key of a service.
func procKeyOf(k rules.ServiceKey) procKey {
	if k.IsFWMark() {
		return procKey{fwmark: k.FWMark}
	}
	return procKey{proto: k.Protocol, addr: k.Addr, port: k.Port}
}

// dumpKeys counts a dump's services by /proc key (fwmark services of both
// families share one).
func dumpKeys(svcs []rules.Service) map[procKey]int {
	m := make(map[procKey]int, len(svcs))
	for _, s := range svcs {
		m[procKeyOf(s.ServiceKey)]++
	}
	return m
}

// keyCounts counts the services of t by key.
func (t *procTable) keyCounts() map[procKey]int {
	m := make(map[procKey]int, len(t.keys))
	for _, k := range t.keys {
		m[k]++
	}
	return m
}
