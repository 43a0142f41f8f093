package ipvs

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"runtime"
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

// openProcTable opens /proc's IPVS table of the client's namespace, or
// returns nil if it cannot.
func (c *Client) openProcTable() *os.File {
	if c.netns == 0 {
		return openProcIPVS(c.ns)
	}
	f, err := c.openInNamespace(threadIPVSPath)
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

// A procTable is the real servers of every service in /proc/net/ip_vs, in
// brief. They are stored in fixed-size blocks, a service's real servers
// together: one slice grown to tens of thousands of entries would be
// copied, and its old copies left to the collector, at every growth.
type procTable struct {
	keys  []procKey                  // every service, in the kernel's order
	spans [][]rules.BriefDestination // each service's real servers, by position in keys
	marks map[uint32]int32           // how often each fwmark shows; nil if none does
	index map[procKey]int32          // into keys, -1 for a repeated key; built by lookup
	block []rules.BriefDestination   // the block being filled
	from  int                        // where the current service starts in block
}

// procBlock is the number of real servers in a block.
const procBlock = 4096

// startService adds the service k, without real servers yet.
func (t *procTable) startService(k procKey) {
	t.endService()
	if k.fwmark != 0 {
		if t.marks == nil {
			t.marks = make(map[uint32]int32)
		}
		t.marks[k.fwmark]++
	}
	if len(t.keys) == cap(t.keys) {
		// Doubled, not grown by a quarter as append does with large
		// slices: a table of ten thousand services is copied less.
		n := max(2*cap(t.keys), 256)
		t.keys = append(make([]procKey, 0, n), t.keys...)
		t.spans = append(make([][]rules.BriefDestination, 0, n), t.spans...)
	}
	t.keys = append(t.keys, k)
	t.spans = append(t.spans, nil)
	t.from = len(t.block)
}

// endService sets the span of the last service, if it has real servers.
func (t *procTable) endService() {
	if len(t.spans) > 0 && len(t.block) > t.from {
		t.spans[len(t.spans)-1] = t.block[t.from:len(t.block):len(t.block)]
	}
}

// addDest adds a real server to the last service.
func (t *procTable) addDest(d *rules.BriefDestination) {
	*t.nextDest() = *d
	t.block = t.block[:len(t.block)+1]
}

// nextDest returns where the next real server goes, for addDest, or for
// a parser to fill in place before it extends block over it.
func (t *procTable) nextDest() *rules.BriefDestination {
	if len(t.block) == cap(t.block) {
		// Move the service's real servers so far into a new block.
		n := len(t.block) - t.from
		nb := make([]rules.BriefDestination, n, n+procBlock)
		copy(nb, t.block[t.from:])
		t.block, t.from = nb, 0
	}
	return &t.block[:len(t.block)+1][len(t.block)]
}

// at returns the real servers of the service at position i of keys; ok
// is false when /proc does not show them unambiguously: the fwmark
// services of one mark in both families look alike there.
func (t *procTable) at(i int) (dests []rules.BriefDestination, ok bool) {
	if k := t.keys[i]; k.fwmark != 0 && t.marks[k.fwmark] > 1 {
		return nil, false
	}
	return t.spans[i], true
}

// lookup returns the real servers of the service k; ok is false when /proc
// does not show it, or not unambiguously (a key shown more than once, as
// fwmark services of both families are).
func (t *procTable) lookup(k procKey) (dests []rules.BriefDestination, ok bool) {
	if t.index == nil {
		t.index = make(map[procKey]int32, len(t.keys))
		for i, k := range t.keys {
			if _, dup := t.index[k]; dup {
				t.index[k] = -1
			} else {
				t.index[k] = int32(i)
			}
		}
	}
	i, ok := t.index[k]
	if !ok || i < 0 {
		return nil, false
	}
	return t.spans[i], true
}

// procBufSize is the read buffer for /proc/net/ip_vs, and so the longest
// line it takes. The kernel fills at most a page per read (and walks its
// table from the start again for each), so a larger read would not save
// system calls; lines are parsed in place in the buffer.
const procBufSize = 32 << 10

// parseProcIPVS reads the real servers of every service from the text of
// /proc/net/ip_vs, line by line, without allocating per line.
func parseProcIPVS(r io.Reader) (*procTable, error) {
	p := procParser{t: &procTable{}}
	buf := make([]byte, procBufSize)
	start, end := 0, 0
	for eof := false; ; {
		for {
			if p.n >= 3 && len(p.t.keys) > 0 {
				// Most lines: an IPv4 real server, parsed in place, or
				// an IPv4 service.
				if n := parseIPv4DestLine(p.t.nextDest(), buf[start:end]); n > 0 {
					p.n++
					p.t.block = p.t.block[:len(p.t.block)+1]
					start += n
					continue
				}
				if k, n := parseIPv4ServiceLine(buf[start:end]); n > 0 {
					p.n++
					p.t.startService(k)
					start += n
					continue
				}
			}
			i := bytes.IndexByte(buf[start:end], '\n')
			if i < 0 {
				break
			}
			if err := p.line(buf[start : start+i]); err != nil {
				return nil, err
			}
			start += i + 1
		}
		if eof {
			break
		}
		end = copy(buf, buf[start:end])
		start = 0
		if end == len(buf) {
			return nil, errProcFormat // a line longer than the buffer
		}
		n, err := r.Read(buf[end:])
		end += n
		if errors.Is(err, io.EOF) {
			eof = true
		} else if err != nil {
			return nil, err
		}
	}
	if start < end {
		if err := p.line(buf[start:end]); err != nil {
			return nil, err
		}
	}
	if p.n == 0 {
		return nil, errProcFormat
	}
	p.t.endService()
	return p.t, nil
}

// A procParser parses /proc/net/ip_vs a line at a time.
type procParser struct {
	t *procTable
	n int // lines so far
}

// line parses one line, without its newline.
func (p *procParser) line(line []byte) error {
	p.n++
	switch {
	case p.n == 1:
		if !bytes.HasPrefix(line, []byte("IP Virtual Server version ")) {
			return errProcFormat
		}
		return nil
	case p.n <= 3 || len(line) == 0:
		return nil
	}
	first, rest := nextField(line)
	if string(first) == "->" {
		if len(p.t.keys) == 0 {
			return errProcFormat
		}
		var d rules.BriefDestination
		if err := parseProcDest(&d, rest); err != nil {
			return err
		}
		p.t.addDest(&d)
		return nil
	}
	addr, rest := nextField(rest)
	if sched, _ := nextField(rest); sched == nil {
		return errProcFormat
	}
	k, err := parseProcService(first, addr)
	if err != nil {
		return err
	}
	p.t.startService(k)
	return nil
}

// nextField returns the first blank-separated field of b, nil if there is
// none, and what follows it.
func nextField(b []byte) (field, rest []byte) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	j := i
	for j < len(b) && b[j] != ' ' && b[j] != '\t' {
		j++
	}
	if i == j {
		return nil, nil
	}
	return b[i:j], b[j:]
}

func parseProcService(proto, addr []byte) (procKey, error) {
	if string(proto) == "FWM" {
		v, ok := parseHex(addr, 32)
		if !ok {
			return procKey{}, errProcFormat
		}
		return procKey{fwmark: uint32(v)}, nil
	}
	var k procKey
	var ok bool
	if k.proto, ok = procProtocol(proto); !ok {
		return procKey{}, errProcFormat
	}
	a, port, err := parseProcAddrPort(addr)
	if err != nil {
		return procKey{}, err
	}
	k.addr, k.port = a, port
	return k, nil
}

// procProtocol is the protocol of a service line's first field.
func procProtocol(name []byte) (rules.Protocol, bool) {
	switch string(name) {
	case "TCP":
		return rules.TCP, true
	case "UDP":
		return rules.UDP, true
	case "SCTP":
		return rules.SCTP, true
	}
	return 0, false
}

// procForward is the forwarding method of a real server's Forward field.
func procForward(name []byte) (rules.ForwardMethod, bool) {
	switch string(name) {
	case "Masq":
		return rules.Masquerade, true
	case "Local":
		return rules.Local, true
	case "Tunnel":
		return rules.Tunnel, true
	case "Route":
		return rules.Route, true
	}
	return 0, false
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

// hexDigits maps a byte to its value as a hexadecimal digit, 0xff for
// one that is not.
var hexDigits = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
		t[c-'a'+'A'] = byte(c-'a') + 10
	}
	return t
}()

// parseHex parses a non-empty hexadecimal number of at most bits bits.
func parseHex(b []byte, bits int) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		d := hexDigits[c]
		if d == 0xff {
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

// parseProcDest parses the fields of a real-server line after its "->":
// address and port, forwarding method, weight and connection counts, and
// nothing more.
func parseProcDest(d *rules.BriefDestination, line []byte) error {
	addr, line := nextField(line)
	method, line := nextField(line)
	weight, line := nextField(line)
	active, line := nextField(line)
	inactive, line := nextField(line)
	if extra, _ := nextField(line); inactive == nil || extra != nil {
		return errProcFormat
	}
	a, port, err := parseProcAddrPort(addr)
	if err != nil {
		return err
	}
	d.Family, d.Port = rules.FamilyOf(a), port
	if a.Is4() {
		*(*[4]byte)(d.IP[:4]) = a.As4()
	} else {
		d.IP = a.As16()
	}
	fwd, ok := procForward(method)
	if !ok {
		return errProcFormat
	}
	d.Forward = fwd
	w, ok1 := parseDec(weight, true, 32)
	act, ok2 := parseDec(active, false, 32)
	inact, ok3 := parseDec(inactive, false, 32)
	if !ok1 || !ok2 || !ok3 {
		return errProcFormat
	}
	d.Weight, d.ActiveConns, d.InactiveConns = int32(w), uint32(act), uint32(inact)
	return nil
}
