package rules

import (
	"encoding/binary"
	"iter"
	"maps"
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

// clearServices removes every service.
func (t *Table) clearServices() {
	clear(t.byKey)
	t.buckets = [2 * svcBuckets][]*tableService{}
	t.n = 0
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
