package ipvs

import (
	"io"
	"sync"
	"sync/atomic"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// Table returns every service with its real servers, services in the
// kernel's order and real servers newest first.
//
// With brief set, real servers may be read from /proc/net/ip_vs in one
// pass: an entry then holds them in Brief (address, family, port,
// forwarding method, weight and active and inactive connection counts)
// instead of Dests. Services with a tunnel real server, services /proc
// does not show unambiguously, and calls from a thread in another network
// namespace than the client's socket get full netlink dumps in Dests, so
// tunnel settings are always complete. Brief services carry no counters
// (a plain listing does not show them). Without brief, every service and
// real server is complete, real servers in Dests.
func (c *Client) Table(brief bool) ([]rules.ServiceEntry, error) {
	entries, proc, aligned, err := c.consistentServices(brief)
	if err != nil {
		return nil, err
	}
	var todo []int // entries whose real servers come in page-sized dumps
	for i := range entries {
		e := &entries[i]
		var (
			dests []rules.BriefDestination
			ok    bool
		)
		if aligned {
			dests, ok = proc.at(i)
		} else if proc != nil {
			dests, ok = proc.lookup(procKeyOf(e.Service.ServiceKey))
		}
		for j := range dests {
			ok = ok && dests[j].Forward != rules.Tunnel
		}
		if ok {
			e.Brief = dests
			continue
		}
		// Large chunks where a service is known to have many real servers
		// (from /proc), or where there are few services to dump.
		if len(dests) >= largeDestDump || !brief && len(entries) <= largeDestDump {
			if e.Dests, err = c.destinations(e.Service.ServiceKey, true); err != nil {
				return nil, err
			}
			continue
		}
		todo = append(todo, i)
	}
	if err := c.dumpDestinations(entries, todo); err != nil {
		return nil, err
	}
	return entries, nil
}

// EachEntry hands every service, complete with its real servers (newest
// first) as Table(false) reads them, to fn in the kernel's order, one at a
// time. It never holds more than one service's real servers: a caller
// that keeps only part of each (the table model keeps their settings)
// reads tens of thousands of real servers in a fraction of the memory of
// Table. The entry is EachEntry's and valid only during fn, which must not
// use the client.
func (c *Client) EachEntry(fn func(*rules.ServiceEntry)) error {
	entries, _, _, err := c.consistentServices(false)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// As Table: large chunks where there are few services to dump.
	s := c.sockFor(len(entries) <= largeDestDump)
	var set destSet
	for i := range entries {
		e := &entries[i]
		set.dests, set.index = set.dests[:0], nil
		if err := s.destinations(c.family, e.Service.ServiceKey, &set); err != nil {
			return err
		}
		if len(set.dests) > 0 {
			e.Dests = set.dests
		}
		fn(e)
		e.Dests = nil
	}
	return nil
}

// parallelFrom is the number of real-server dumps from which a listing
// spreads them over several sockets.
const parallelFrom = 256

// maxDumpSockets bounds the sockets dumping at once: the kernel holds one
// IPVS mutex for the part of each dump that reads the table, so beyond a
// few sockets only the framing and copying still overlap.
const maxDumpSockets = 4

// dumpDestinations dumps the real servers of entries[i] for each i of todo,
// one dump per service (the only way the kernel exports a real server's
// counters). With more than one CPU (Client.dumpSockets) the dumps are
// spread over several sockets, a netlink socket running one dump at a
// time; each lands in its own entry, so the order of the listing is the
// kernel's either way. On failure the error is that of the first failing
// service in todo's order, as one socket would have met it.
func (c *Client) dumpDestinations(entries []rules.ServiceEntry, todo []int) error {
	if len(todo) == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	workers := []*destWorker{{s: c.s}}
	for _, s := range c.dumpSocks(min(c.dumpSockets, len(todo)/parallelFrom) - 1) {
		workers = append(workers, &destWorker{s: s})
	}
	var (
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
		errAt    = len(todo)
		wg       sync.WaitGroup
	)
	work := func(w *destWorker) {
		for {
			j := int(next.Add(1) - 1)
			if j >= len(todo) {
				return
			}
			mu.Lock()
			stop := errAt < j
			mu.Unlock()
			if stop {
				return
			}
			if err := w.dump(c.family, &entries[todo[j]]); err != nil {
				mu.Lock()
				if j < errAt {
					errAt, firstErr = j, err
				}
				mu.Unlock()
				return
			}
		}
	}
	for _, w := range workers[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(w)
		}()
	}
	work(workers[0])
	wg.Wait()
	return firstErr
}

// dumpSocks returns up to n sockets besides the client's own for parallel
// dumps, opening them on first use in the client's namespace; fewer if
// they cannot be opened.
func (c *Client) dumpSocks(n int) []*sock {
	for len(c.extra) < n && c.openBig != nil {
		t, err := c.openBig()
		if err != nil {
			break
		}
		s := newSock(t, smallReadSize())
		s.timeout = c.s.timeout
		c.extra = append(c.extra, s)
	}
	return c.extra[:min(max(n, 0), len(c.extra))]
}

// A destWorker dumps services' real servers on one socket, each dump
// decoded in place into the free end of a shared backing array: a table
// of thousands of services allocates a few arrays, not a growing slice
// per service, and no real server is copied.
type destWorker struct {
	s     *sock
	set   destSet
	arena []rules.Destination
}

// Sizes of the backing arrays: arenaChunk real servers each, a new one
// started when fewer than arenaRoom are free. A service with more than
// the free room gets its own array (the dump's append moves it there).
const (
	arenaChunk = 1024
	arenaRoom  = 64
)

// dump fills e.Dests with the real servers of e's service.
func (w *destWorker) dump(family uint16, e *rules.ServiceEntry) error {
	if cap(w.arena)-len(w.arena) < arenaRoom {
		w.arena = make([]rules.Destination, 0, arenaChunk)
	}
	free := w.arena[len(w.arena):]
	w.set.dests, w.set.index = free, nil
	err := w.s.destinations(family, e.Service.ServiceKey, &w.set)
	d := w.set.dests
	w.set.dests = nil
	inPlace := len(d) > 0 && len(d) <= cap(free) && &d[0] == &free[:1][0]
	if err != nil || len(d) > 0 && !inPlace {
		// Decoding needs zero entries: clear what the dump left in the
		// free room before it failed or moved.
		clear(free[:cap(free)])
	}
	if err != nil {
		return err
	}
	if len(d) == 0 {
		return nil // nil, as a dump of no real servers always was
	}
	if inPlace {
		w.arena = w.arena[:len(w.arena)+len(d)]
	}
	e.Dests = d[:len(d):len(d)]
	return nil
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
// aligned reports that proc shows exactly the services returned, in their
// order, so that its i-th service is entries[i]. Else only dumps are read
// (/proc would be formatted in full for nothing) and proc is nil.
func (c *Client) consistentServices(brief bool) (entries []rules.ServiceEntry, proc *procTable, aligned bool, err error) {
	union := map[procKey]int{}
	var (
		seqs  [][]procKey // every read's keys, in its order
		reads []map[procKey]int
		dumps [][]rules.ServiceEntry
	)
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
	for round := range tableAttempts {
		// The first round reads /proc, or else the keys alone, before the
		// full dump, which is then made the size they show.
		t := c.readProcTable(brief)
		var keys []procKey
		if t == nil && round == 0 {
			if keys, err = c.serviceKeys(0); err != nil {
				return nil, nil, false, err
			}
		}
		hint := len(keys) + 16
		switch {
		case len(dumps) > 0:
			hint = len(dumps[len(dumps)-1]) + 16
		case t != nil:
			hint = len(t.keys) + 16
		}
		svcs, err := c.serviceEntries(hint, !brief)
		if err != nil {
			return nil, nil, false, err
		}
		dumps = append(dumps, svcs)
		if t != nil {
			proc = t
			// The usual case, quickly: the first two reads show the same
			// services in the same order (a dump and /proc walk the
			// table alike), so each is the whole union.
			if round == 0 && sameKeys(svcs, t.keys) {
				return svcs, proc, true, nil
			}
		} else if round == 0 && sameKeys(svcs, keys) {
			// Without /proc, the dump of the keys alone confirms the
			// first full dump; if the two differ, full dumps follow.
			return svcs, nil, false, nil
		}
		seqs = append(seqs, dumpSeq(svcs))
		if t != nil {
			seqs = append(seqs, t.keys)
		}
		for _, seq := range seqs[len(reads):] {
			add(keyCounts(seq))
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
			if whole(keyCounts(dumpSeq(dumps[i]))) {
				return dumps[i], proc, false, nil
			}
		}
	}
	return nil, nil, false, &Error{Op: OpServices, Err: ErrInconsistent}
}

// sameKeys reports whether keys are the /proc keys of entries' services,
// in order.
func sameKeys(entries []rules.ServiceEntry, keys []procKey) bool {
	if len(entries) != len(keys) {
		return false
	}
	for i := range entries {
		if procKeyOf(entries[i].Service.ServiceKey) != keys[i] {
			return false
		}
	}
	return true
}

// readProcTable reads /proc/net/ip_vs where it is the client's namespace's
// and want is set; else nil.
func (c *Client) readProcTable(want bool) *procTable {
	if !want {
		return nil
	}
	var f io.ReadCloser
	if c.openProc != nil {
		f = c.openProc()
	} else if pf := c.openProcTable(); pf != nil {
		f = pf
	}
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

// dumpSeq is a dump's services' /proc keys, in its order (fwmark services
// of both families share one).
func dumpSeq(entries []rules.ServiceEntry) []procKey {
	keys := make([]procKey, len(entries))
	for i := range entries {
		keys[i] = procKeyOf(entries[i].Service.ServiceKey)
	}
	return keys
}

// keyCounts counts a read's services by key.
func keyCounts(keys []procKey) map[procKey]int {
	m := make(map[procKey]int, len(keys))
	for _, k := range keys {
		m[k]++
	}
	return m
}
