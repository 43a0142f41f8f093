package ipvs

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// Reading a whole table through netlink takes one dump request per
// service: the IPVS family has no request for every real server at once,
// and the kernel's work per request dominates a listing. /proc/net/ip_vs,
// however, lists every service's real servers in one sequential read,
// with what a plain listing or a save needs of most of them: address,
// port, forwarding method, weight and connection counts. Table uses it
// where it can and falls back to netlink for the rest.

// Paths of the calling thread's network namespace and its IPVS table.
// (/proc/net follows the thread-group leader, which need not share the
// namespace of the thread or of the client's socket.)
const (
	threadNetNSPath = "/proc/thread-self/ns/net"
	threadIPVSPath  = "/proc/thread-self/net/ip_vs"
)

// An nsID identifies a network namespace: its nsfs device and inode.
type nsID struct{ dev, ino uint64 }

// socketNamespace asks the kernel which namespace the socket lives in
// (SIOCGSKNS, Linux 4.9 and later); the zero nsID if it cannot tell.
func socketNamespace(rc syscall.RawConn) nsID {
	var id nsID
	rc.Control(func(fd uintptr) {
		nsfd, err := unix.IoctlRetInt(int(fd), unix.SIOCGSKNS)
		if err != nil {
			return
		}
		defer unix.Close(nsfd)
		var st unix.Stat_t
		if unix.Fstat(nsfd, &st) == nil {
			id = nsID{dev: st.Dev, ino: st.Ino}
		}
	})
	return id
}

// openProcIPVS opens the IPVS table of namespace ns in /proc, or returns
// nil if the calling thread is not in that namespace. The file is tied to
// the namespace once open.
func openProcIPVS(ns nsID) *os.File {
	if ns == (nsID{}) {
		return nil
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var st unix.Stat_t
	if unix.Stat(threadNetNSPath, &st) != nil || (nsID{dev: st.Dev, ino: st.Ino}) != ns {
		return nil
	}
	f, err := os.Open(threadIPVSPath)
	if err != nil {
		return nil
	}
	return f
}

// procKey identifies a service in /proc/net/ip_vs, which does not show
// a fwmark service's family.
type procKey struct {
	fwmark uint32
	proto  rules.Protocol
	addr   netip.Addr
	port   uint16
}

var errProcFormat = errors.New("unexpected /proc/net/ip_vs format")

// A procTable is the real servers of every service in /proc/net/ip_vs.
// They are stored in fixed-size blocks, a service's real servers together:
// one slice grown to tens of thousands of entries would be copied, and its
// old copies left to the collector, at every growth.
type procTable struct {
	index map[procKey]int32 // into spans; -1 for an ambiguous key
	keys  []procKey         // every service, in the kernel's order
	spans [][]rules.Destination
	block []rules.Destination // the block being filled
	from  int                 // where the current service starts in block
}

// procBlock is the number of real servers in a block.
const procBlock = 4096

// startService adds a service without real servers and returns its span.
func (t *procTable) startService() int32 {
	t.spans = append(t.spans, nil)
	t.from = len(t.block)
	return int32(len(t.spans) - 1)
}

// addDest adds a real server to the service of span i, the current one.
func (t *procTable) addDest(i int32, d rules.Destination) {
	if len(t.block) == cap(t.block) {
		// Move the service's real servers so far into a new block.
		n := len(t.block) - t.from
		nb := make([]rules.Destination, n, n+procBlock)
		copy(nb, t.block[t.from:])
		t.block, t.from = nb, 0
	}
	t.block = append(t.block, d)
	t.spans[i] = t.block[t.from:len(t.block):len(t.block)]
}

// lookup returns the real servers of the service k; ok is false when /proc
// does not show it, or not unambiguously (fwmark services of both
// families).
func (t *procTable) lookup(k procKey) (dests []rules.Destination, ok bool) {
	i, ok := t.index[k]
	if !ok || i < 0 {
		return nil, false
	}
	return t.spans[i], true
}

// procReadSize is the read size for /proc/net/ip_vs: the kernel restarts
// its walk of the table at every read, so reads are large.
const procReadSize = 1 << 20

// parseProcIPVS reads the real servers of every service from the text of
// /proc/net/ip_vs, line by line, without allocating per line.
func parseProcIPVS(r io.Reader) (*procTable, error) {
	br := bufio.NewReaderSize(r, procReadSize)
	t := &procTable{index: make(map[procKey]int32)}
	cur := int32(-2) // the current service's span; -1 ambiguous, -2 none
	var fields [7][]byte
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			if errors.Is(err, bufio.ErrBufferFull) {
				return nil, errProcFormat
			}
			return nil, err
		}
		if len(line) == 0 && err != nil {
			if n == 1 {
				return nil, errProcFormat
			}
			break
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		switch {
		case n == 1:
			if !bytes.HasPrefix(line, []byte("IP Virtual Server version ")) {
				return nil, errProcFormat
			}
			continue
		case n <= 3 || len(line) == 0:
			continue
		}
		f := splitFields(line, fields[:])
		if f > 0 && string(fields[0]) == "->" {
			if cur == -2 || f != 6 {
				return nil, errProcFormat
			}
			d, err := parseProcDest(fields[1:6])
			if err != nil {
				return nil, err
			}
			if cur >= 0 {
				t.addDest(cur, d)
			}
			continue
		}
		if f < 3 {
			return nil, errProcFormat
		}
		k, err := parseProcService(fields[0], fields[1])
		if err != nil {
			return nil, err
		}
		t.keys = append(t.keys, k)
		if i, dup := t.index[k]; dup {
			if i >= 0 {
				t.index[k] = -1
			}
			cur = -1
			continue
		}
		cur = t.startService()
		t.index[k] = cur
	}
	return t, nil
}

// splitFields stores the blank-separated fields of line in f, as many as
// fit, and returns how many there are.
func splitFields(line []byte, f [][]byte) int {
	n := 0
	for i := 0; i < len(line); {
		if line[i] == ' ' || line[i] == '\t' {
			i++
			continue
		}
		start := i
		for i < len(line) && line[i] != ' ' && line[i] != '\t' {
			i++
		}
		if n < len(f) {
			f[n] = line[start:i]
		}
		n++
	}
	return n
}

func parseProcService(proto, addr []byte) (procKey, error) {
	var k procKey
	switch string(proto) {
	case "FWM":
		v, ok := parseHex(addr, 32)
		if !ok {
			return procKey{}, errProcFormat
		}
		return procKey{fwmark: uint32(v)}, nil
	case "TCP":
		k.proto = rules.TCP
	case "UDP":
		k.proto = rules.UDP
	case "SCTP":
		k.proto = rules.SCTP
	default:
		return procKey{}, errProcFormat
	}
	a, port, err := parseProcAddrPort(addr)
	if err != nil {
		return procKey{}, err
	}
	k.addr, k.port = a, port
	return k, nil
}

// parseProcAddrPort parses "0A000001:0050" or "[2001:0db8:...:0001]:0050".
func parseProcAddrPort(s []byte) (netip.Addr, uint16, error) {
	i := bytes.LastIndexByte(s, ':')
	if i < 0 {
		return netip.Addr{}, 0, errProcFormat
	}
	port, ok := parseHex(s[i+1:], 16)
	if !ok {
		return netip.Addr{}, 0, errProcFormat
	}
	host := s[:i]
	if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
		a, err := netip.ParseAddr(string(host[1 : len(host)-1]))
		if err != nil || !a.Is6() {
			return netip.Addr{}, 0, errProcFormat
		}
		return a, uint16(port), nil
	}
	v, ok := parseHex(host, 32)
	if !ok || len(host) != 8 {
		return netip.Addr{}, 0, errProcFormat
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), uint16(port), nil
}

// parseHex parses a non-empty hexadecimal number of at most bits bits.
func parseHex(b []byte, bits int) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(d)
		if v>>bits != 0 {
			return 0, false
		}
	}
	return v, true
}

// parseDec parses a non-empty decimal number, with a '-' sign if signed,
// that fits in bits bits (signed or not).
func parseDec(b []byte, signed bool, bits int) (int64, bool) {
	neg := signed && len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	limit := uint64(1)<<bits - 1
	if signed {
		limit = uint64(1) << (bits - 1)
		if !neg {
			limit--
		}
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
		if v > limit {
			return 0, false
		}
	}
	if neg {
		return -int64(v), true
	}
	return int64(v), true
}

func parseProcDest(f [][]byte) (rules.Destination, error) {
	a, port, err := parseProcAddrPort(f[0])
	if err != nil {
		return rules.Destination{}, err
	}
	d := rules.Destination{Family: rules.FamilyOf(a), Addr: a, Port: port}
	switch string(f[1]) {
	case "Masq":
		d.Forward = rules.Masquerade
	case "Local":
		d.Forward = rules.Local
	case "Tunnel":
		d.Forward = rules.Tunnel
	case "Route":
		d.Forward = rules.Route
	default:
		return rules.Destination{}, errProcFormat
	}
	w, ok1 := parseDec(f[2], true, 32)
	act, ok2 := parseDec(f[3], false, 32)
	inact, ok3 := parseDec(f[4], false, 32)
	if !ok1 || !ok2 || !ok3 {
		return rules.Destination{}, errProcFormat
	}
	d.Weight, d.ActiveConns, d.InactiveConns = int32(w), uint32(act), uint32(inact)
	return d, nil
}

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
		if ok && brief {
			entries[i].Dests = dests
			continue
		}
		// /proc tells how many real servers to expect, where it was read.
		if entries[i].Dests, err = c.destinations(s.ServiceKey, len(dests) >= largeDestDump); err != nil {
			return nil, err
		}
	}
	return entries, nil
}

// tableAttempts bounds how often Table reads the services again when two
// views of them disagree.
const tableAttempts = 5

// consistentServices dumps the services and checks the dump against a
// second view: the kernel resumes a services dump by position in a table
// shared by every network namespace, so a change in any namespace during a
// dump can make it skip services of this one (repeats are dropped as they
// come). The second view is /proc/net/ip_vs, whose position counts only
// this namespace's services (read anyway for a brief table), or else a
// second dump. When the views disagree, both are read again; when they
// never agree, the error matches ErrInconsistent rather than a table that
// silently misses services.
//
// proc is the /proc table where it could be read (else empty): its real
// servers serve a brief table, and its counts choose the dump socket.
func (c *Client) consistentServices(brief bool) (svcs []rules.Service, proc *procTable, err error) {
	proc = &procTable{}
	for range tableAttempts {
		if svcs, err = c.Services(); err != nil {
			return nil, nil, err
		}
		var view *procTable
		if f := openProcIPVS(c.ns); f != nil {
			if t, perr := parseProcIPVS(f); perr == nil {
				view = t
			}
			f.Close()
		}
		if view != nil {
			if !view.sameServices(svcs) {
				// Changes in other namespaces move the dump's positions
				// but not /proc's: fetch what the dump skipped.
				var ok bool
				if svcs, ok = c.completeServices(svcs, view); !ok {
					continue
				}
			}
			return svcs, view, nil
		}
		again, err := c.Services()
		if err != nil {
			return nil, nil, err
		}
		if sameServiceKeys(svcs, again) {
			return svcs, proc, nil
		}
	}
	return nil, nil, &Error{Op: OpServices, Err: ErrInconsistent}
}

// procKeyOf is the /proc key of a service.
func procKeyOf(k rules.ServiceKey) procKey {
	if k.IsFWMark() {
		return procKey{fwmark: k.FWMark}
	}
	return procKey{proto: k.Protocol, addr: k.Addr, port: k.Port}
}

// completeServices adds to svcs, a dump, the services of view (/proc) that
// the dump skipped, fetched one by one (a single get is not positional),
// in view's order. ok is false when that cannot make the two agree: the
// dump has a service view lacks, or one is gone.
func (c *Client) completeServices(svcs []rules.Service, view *procTable) (_ []rules.Service, ok bool) {
	have := make(map[procKey]int, len(svcs))
	for _, s := range svcs {
		k := procKeyOf(s.ServiceKey)
		if _, in := view.index[k]; !in {
			return nil, false
		}
		have[k]++
	}
	for _, k := range view.keys {
		if have[k] > 0 {
			have[k]--
			continue
		}
		s, err := c.serviceAt(k, svcs)
		if err != nil {
			return nil, false
		}
		svcs = append(svcs, s)
	}
	if !view.sameServices(svcs) {
		return nil, false
	}
	// The kernel's order, as /proc shows it, for listings with --nosort.
	order := make(map[procKey]int, len(view.keys))
	for i, k := range view.keys {
		if _, seen := order[k]; !seen {
			order[k] = i
		}
	}
	slices.SortStableFunc(svcs, func(a, b rules.Service) int {
		return order[procKeyOf(a.ServiceKey)] - order[procKeyOf(b.ServiceKey)]
	})
	return svcs, true
}

// serviceAt gets the service of a /proc key, which lacks a fwmark
// service's family: the family that svcs does not have yet is asked for.
func (c *Client) serviceAt(k procKey, svcs []rules.Service) (rules.Service, error) {
	if k.fwmark == 0 {
		return c.Service(rules.ServiceKey{Family: rules.FamilyOf(k.addr), Protocol: k.proto, Addr: k.addr, Port: k.port})
	}
	for _, f := range []rules.Family{rules.IPv4, rules.IPv6} {
		key := rules.ServiceKey{Family: f, FWMark: k.fwmark}
		if slices.ContainsFunc(svcs, func(s rules.Service) bool { return s.ServiceKey == key }) {
			continue
		}
		if s, err := c.Service(key); err == nil {
			return s, nil
		}
	}
	return rules.Service{}, &Error{Op: OpService, Err: unix.ESRCH}
}

// sameServices reports whether t shows exactly the services svcs.
func (t *procTable) sameServices(svcs []rules.Service) bool {
	if len(t.keys) != len(svcs) {
		return false
	}
	for _, s := range svcs {
		if _, ok := t.index[procKeyOf(s.ServiceKey)]; !ok {
			return false
		}
	}
	return true
}

// sameServiceKeys reports whether a and b hold the same services, in any
// order (each dump holds a service once).
func sameServiceKeys(a, b []rules.Service) bool {
	if len(a) != len(b) {
		return false
	}
	keys := make(map[rules.ServiceKey]bool, len(a))
	for _, s := range a {
		keys[s.ServiceKey] = true
	}
	for _, s := range b {
		if !keys[s.ServiceKey] {
			return false
		}
	}
	return true
}
