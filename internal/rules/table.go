package rules

import (
	"encoding/binary"
	"iter"
	"maps"
	"net/netip"
	"slices"
)

// A Table is the IPVS state of one network namespace, kept in memory with
// the semantics of the Linux 6.1 kernel: its services in the order the
// kernel lists them, each with its real servers newest first, the
// connection timeouts and the sync daemons. Changes go through Apply, which
// gives the kernel's result and the kernel's error.
//
// A Table holds settings only; counters are the kernel's business and stay
// zero here. The zero Table is not ready for use: NewTable makes one.
type Table struct {
	// Env is what the kernel's answers depend on beyond IPVS itself.
	Env Env

	byKey map[ServiceKey]*tableService
	// buckets hold the services by rank (see rankOf), each bucket oldest
	// first: the kernel lists a bucket newest first, so a new service is
	// appended, not inserted in front of thousands.
	buckets  [2 * svcBuckets][]*tableService
	n        int // services
	timeouts Timeouts
	master   *Daemon
	backup   *Daemon
}

// A tableService is a service as a Table keeps it: its settings (a table
// has no counters), its real servers and its tag.
type tableService struct {
	key       ServiceKey // in kernel form
	scheduler string
	pe        string
	flags     ServiceFlags
	timeout   uint32
	netmask   uint32
	rank      uint16 // hash table (normal, then fwmark) and bucket
	tag       int32
	dests     []tableDest // oldest first (appending is cheap)
	// index finds a real server by key once a service has many (see
	// findDest); nil until then.
	index map[DestinationKey]int32
}

// service returns ts's settings as a Service.
func (ts *tableService) service() Service {
	return Service{ServiceKey: ts.key, Scheduler: ts.scheduler, Flags: ts.flags, Timeout: ts.timeout, Netmask: ts.netmask, PE: ts.pe}
}

// set replaces ts's settings with s's (a stored Service).
func (ts *tableService) set(s Service) {
	ts.key, ts.scheduler, ts.pe = s.ServiceKey, s.Scheduler, s.PE
	ts.flags, ts.timeout, ts.netmask = s.Flags, s.Timeout, s.Netmask
}

// A tableDest is a real server as a Table keeps it: its settings (a table
// has no counters) in a fifth of a Destination's size, and its tag. It
// holds no pointers, so the collector never scans a table's real servers.
type tableDest struct {
	ip          [16]byte // the address in 16-byte form (IPv4-mapped for IPv4)
	weight      int32
	upper       uint32
	lower       uint32
	forward     ForwardMethod
	family      Family // always set
	port        uint16
	tunnelPort  uint16
	tunnelFlags TunnelFlags
	tunnelType  TunnelType
	tag         int32
}

// storedDest is d's settings as a table keeps them, with tag. An address
// has no zone here: the kernel has none either.
func storedDest(d *Destination, tag int32) tableDest {
	return tableDest{
		ip: d.Addr.As16(), weight: d.Weight, upper: d.UpperThreshold, lower: d.LowerThreshold,
		forward: d.Forward, family: d.Family, port: d.Port,
		tunnelPort: d.TunnelPort, tunnelFlags: d.TunnelFlags, tunnelType: d.TunnelType, tag: tag,
	}
}

func (td *tableDest) addr() netip.Addr { return addrFrom16(td.family, td.ip) }

// addrFrom16 is the address of family f whose 16-byte form is ip.
func addrFrom16(f Family, ip [16]byte) netip.Addr {
	a := netip.AddrFrom16(ip)
	if f == IPv4 {
		return a.Unmap()
	}
	return a
}

// destination is td as a Destination, with zero counters.
func (td *tableDest) destination() Destination {
	return Destination{
		Family: td.family, Addr: td.addr(), Port: td.port, Forward: td.forward, Weight: td.weight,
		UpperThreshold: td.upper, LowerThreshold: td.lower,
		TunnelType: td.tunnelType, TunnelPort: td.tunnelPort, TunnelFlags: td.tunnelFlags,
	}
}

func (td *tableDest) key() DestinationKey {
	return DestinationKey{Family: td.family, Addr: td.addr(), Port: td.port}
}

// Env is the part of a namespace's kernel state that a Table cannot
// derive from the changes applied to it.
type Env struct {
	// BucketSalt is bits 8..15 of the address of the namespace's IPVS
	// state, which the kernel mixes into its service hash
	// (ip_vs_svc_hashkey). It decides the listing order only; a test
	// learns it from the kernel (see ServiceBucket).
	BucketSalt uint8
	// Links are the namespace's network interfaces by name: a sync
	// daemon needs one.
	Links map[string]Link
	// Schedulers and PersistenceEngines are the names the kernel can
	// load (ip_vs_<name>, ip_vs_pe_<name>); others are refused with
	// ENOENT. "none" (no scheduler) is always accepted.
	Schedulers         []string
	PersistenceEngines []string
}

// A Link is what a sync daemon needs to know of a network interface.
type Link struct {
	MTU int // a backup daemon sizes its messages from it
	// Loopback: IPv6 gives a loopback interface no multicast route, so a
	// master daemon cannot send to an IPv6 group there.
	Loopback bool
}

// KernelSchedulers are the scheduler modules of Debian's 6.1 kernel.
var KernelSchedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"}

// DefaultEnv is a fresh namespace with lo up, every scheduler of
// KernelSchedulers and the sip persistence engine.
func DefaultEnv() Env {
	return Env{
		Links:              map[string]Link{"lo": {MTU: 65536, Loopback: true}},
		Schedulers:         slices.Clone(KernelSchedulers),
		PersistenceEngines: []string{"sip"},
	}
}

// DefaultTimeouts are a fresh namespace's connection timeouts.
func DefaultTimeouts() Timeouts { return Timeouts{TCP: 900, TCPFin: 120, UDP: 300} }

// NewTable returns the empty table of a fresh namespace in DefaultEnv.
func NewTable() *Table {
	return &Table{Env: DefaultEnv(), byKey: map[ServiceKey]*tableService{}, timeouts: DefaultTimeouts()}
}

// Clone returns a deep copy of t.
func (t *Table) Clone() *Table {
	c := &Table{
		Env:      t.Env,
		byKey:    make(map[ServiceKey]*tableService, len(t.byKey)),
		n:        t.n,
		timeouts: t.timeouts,
	}
	c.Env.Links = maps.Clone(t.Env.Links)
	c.Env.Schedulers = slices.Clone(t.Env.Schedulers)
	c.Env.PersistenceEngines = slices.Clone(t.Env.PersistenceEngines)
	for r, bucket := range t.buckets {
		if len(bucket) == 0 {
			continue
		}
		c.buckets[r] = make([]*tableService, len(bucket))
		for i, ts := range bucket {
			n := *ts
			n.dests = slices.Clone(ts.dests)
			n.index = nil // built again when needed
			c.buckets[r][i] = &n
			c.byKey[n.key] = &n
		}
	}
	if t.master != nil {
		m := *t.master
		c.master = &m
	}
	if t.backup != nil {
		b := *t.backup
		c.backup = &b
	}
	return c
}

// listing yields the services in the kernel's listing order: by rank,
// each bucket newest first.
func (t *Table) listing(yield func(*tableService) bool) {
	for _, bucket := range t.buckets {
		for _, ts := range slices.Backward(bucket) {
			if !yield(ts) {
				return
			}
		}
	}
}

// Entries returns every service with its real servers, in the kernel's
// listing order.
func (t *Table) Entries() []ServiceEntry {
	out := make([]ServiceEntry, 0, t.n)
	for ts := range t.listing {
		out = append(out, ServiceEntry{Service: ts.service(), Dests: ts.listed()})
	}
	return out
}

// All yields every service with its real servers, in the kernel's
// listing order, without copying the table.
func (t *Table) All() iter.Seq2[Service, DestList] {
	return func(yield func(Service, DestList) bool) {
		for ts := range t.listing {
			if !yield(ts.service(), DestList{ts}) {
				return
			}
		}
	}
}

// A DestList is the real servers of one service of a Table, read in
// place, newest first as the kernel lists them. It is valid until the
// table changes; the zero DestList is empty.
type DestList struct{ ts *tableService }

// Dests returns the real servers of the service with key k; none if there
// is no such service.
func (t *Table) Dests(k ServiceKey) DestList { return DestList{t.byKey[kernelKey(k)]} }

// Len is the number of real servers.
func (l DestList) Len() int {
	if l.ts == nil {
		return 0
	}
	return len(l.ts.dests)
}

// Contains reports whether the list holds real server k.
func (l DestList) Contains(k DestinationKey) bool { return l.ts != nil && l.ts.findDest(k) >= 0 }

// At returns the i-th real server, newest first.
func (l DestList) At(i int) Destination { return l.ts.dests[len(l.ts.dests)-1-i].destination() }

// Find returns real server k, if the list holds it.
func (l DestList) Find(k DestinationKey) (Destination, bool) {
	if l.ts == nil {
		return Destination{}, false
	}
	if i := l.ts.findDest(k); i >= 0 {
		return l.ts.dests[i].destination(), true
	}
	return Destination{}, false
}

// Services returns the services in the kernel's listing order.
func (t *Table) Services() []Service {
	out := make([]Service, 0, t.n)
	for ts := range t.listing {
		out = append(out, ts.service())
	}
	return out
}

// Service returns the service with key k, if there is one.
func (t *Table) Service(k ServiceKey) (Service, bool) {
	ts := t.byKey[kernelKey(k)]
	if ts == nil {
		return Service{}, false
	}
	return ts.service(), true
}

// Destinations returns the real servers of the service with key k, newest
// first; none if there is no such service (as the kernel's dump).
func (t *Table) Destinations(k ServiceKey) []Destination {
	ts := t.byKey[kernelKey(k)]
	if ts == nil {
		return nil
	}
	return ts.listed()
}

// Destination returns the real server dk of the service with key k, if
// there is one.
func (t *Table) Destination(k ServiceKey, dk DestinationKey) (Destination, bool) {
	return t.Dests(k).Find(dk)
}

// Tags: a caller may attach a number to each service and real server it
// adds or edits (ApplyTagged), and read it back; the checked restore tags
// each with its input line. Tags are no part of the kernel's state: a
// loaded or added object has tag 0, an edit by Apply keeps the tag, Clone
// copies them.

// ServiceTag is the tag of the service with key k, 0 if it has none.
func (t *Table) ServiceTag(k ServiceKey) int32 {
	if ts := t.byKey[kernelKey(k)]; ts != nil {
		return ts.tag
	}
	return 0
}

// DestinationTag is the tag of real server dk of the service with key k,
// 0 if it has none.
func (t *Table) DestinationTag(k ServiceKey, dk DestinationKey) int32 {
	ts := t.byKey[kernelKey(k)]
	if ts == nil {
		return 0
	}
	if i := ts.findDest(dk); i >= 0 {
		return ts.dests[i].tag
	}
	return 0
}

// listed returns the real servers in the kernel's order, newest first;
// nil for none.
func (ts *tableService) listed() []Destination {
	if len(ts.dests) == 0 {
		return nil
	}
	out := make([]Destination, len(ts.dests))
	for i := range out {
		out[i] = DestList{ts}.At(i)
	}
	return out
}

// Len is the number of services.
func (t *Table) Len() int { return t.n }

// Timeouts returns the connection timeouts.
func (t *Table) Timeouts() Timeouts { return t.timeouts }

// Daemons returns the running sync daemons, master first.
func (t *Table) Daemons() []Daemon {
	var out []Daemon
	for _, d := range []*Daemon{t.master, t.backup} {
		if d != nil {
			out = append(out, *d)
		}
	}
	return out
}

// kernelKey is k as the kernel keeps it: a fwmark service is only its
// family and mark (the kernel ignores, and never reports, the rest).
func kernelKey(k ServiceKey) ServiceKey {
	if k.IsFWMark() {
		return ServiceKey{Family: k.Family, FWMark: k.FWMark}
	}
	return k
}

// Service hash table size (IP_VS_SVC_TAB_BITS = 8).
const svcBuckets = 256

// ServiceBucket is the bucket of the kernel's service hash table that
// holds a service with key k in a namespace with the given salt
// (ip_vs_svc_hashkey, ip_vs_svc_fwm_hashkey). Within a table the kernel
// lists buckets in order and a bucket newest first, all normal services
// before all fwmark services.
func ServiceBucket(k ServiceKey, salt uint8) uint8 {
	if k.IsFWMark() {
		return uint8(k.FWMark) ^ salt
	}
	var fold uint32
	if k.Family == IPv6 {
		b := k.Addr.As16()
		for i := 0; i < 16; i += 4 {
			fold ^= binary.BigEndian.Uint32(b[i:])
		}
	} else {
		b := k.Addr.As4()
		fold = binary.BigEndian.Uint32(b[:])
	}
	h := uint32(k.Protocol) ^ fold ^ uint32(salt) ^ uint32(k.Port>>8) ^ uint32(k.Port)
	return uint8(h)
}

// rankOf orders services as the kernel's dump walks them: normal table
// then fwmark table, each by bucket.
func (t *Table) rankOf(k ServiceKey) uint16 {
	r := uint16(ServiceBucket(k, t.Env.BucketSalt))
	if k.IsFWMark() {
		r += svcBuckets
	}
	return r
}

// insert adds a new service where the kernel's dump will find it: at the
// head of its bucket.
func (t *Table) insert(s Service) *tableService {
	ts := &tableService{rank: t.rankOf(s.ServiceKey)}
	ts.set(s)
	t.buckets[ts.rank] = append(t.buckets[ts.rank], ts)
	t.byKey[s.ServiceKey] = ts
	t.n++
	return ts
}

// remove unlinks a service and its real servers.
func (t *Table) remove(ts *tableService) {
	delete(t.byKey, ts.key)
	t.buckets[ts.rank] = slices.DeleteFunc(t.buckets[ts.rank], func(e *tableService) bool { return e == ts })
	t.n--
}

// clear removes every service.
func (t *Table) clearServices() {
	clear(t.byKey)
	t.buckets = [2 * svcBuckets][]*tableService{}
	t.n = 0
}

// indexFrom is the number of real servers from which a service finds
// them through a map: below it a scan is as fast, and a table of
// thousands of small services needs no maps.
const indexFrom = 32

// findDest is the index of the real server with key k in ts, or -1.
func (ts *tableService) findDest(k DestinationKey) int {
	ip := k.Addr.As16()
	if len(ts.dests) < indexFrom {
		for i := range ts.dests {
			if d := &ts.dests[i]; d.ip == ip && d.family == k.Family && d.port == k.Port {
				return i
			}
		}
		return -1
	}
	if ts.index == nil {
		ts.index = make(map[DestinationKey]int32, len(ts.dests))
		for i := range ts.dests {
			ts.index[ts.dests[i].key()] = int32(i)
		}
	}
	// The key as the index holds it, as the scan compares it.
	k.Addr = addrFrom16(k.Family, ip)
	if i, ok := ts.index[k]; ok {
		return int(i)
	}
	return -1
}

// exactUpTo is the number of real servers up to which a service's slice
// grows by one, not by doubling: as many bytes are copied on the way, and
// the thousands of small services of a big table end up without spare
// room.
const exactUpTo = 8

// appendDest adds d as the newest real server.
func (ts *tableService) appendDest(d tableDest) {
	if n := len(ts.dests); n == cap(ts.dests) && n < exactUpTo {
		ts.dests = append(make([]tableDest, 0, n+1), ts.dests...)
	}
	ts.dests = append(ts.dests, d)
	if ts.index != nil {
		ts.index[d.key()] = int32(len(ts.dests) - 1)
	}
}

// deleteDest removes the real server at index i.
func (ts *tableService) deleteDest(i int) {
	if ts.index != nil {
		delete(ts.index, ts.dests[i].key())
		for j := i + 1; j < len(ts.dests); j++ {
			ts.index[ts.dests[j].key()] = int32(j - 1)
		}
	}
	ts.dests = slices.Delete(ts.dests, i, i+1)
}

// mixedDests counts the real servers whose family differs from their
// service's (ipvs->mixed_address_family_dests).
func (t *Table) mixedDests() int {
	n := 0
	for ts := range t.listing {
		for i := range ts.dests {
			if ts.dests[i].family != ts.key.Family {
				n++
			}
		}
	}
	return n
}

// syncing reports whether a sync daemon runs (ipvs->sync_state).
func (t *Table) syncing() bool { return t.master != nil || t.backup != nil }
