package ipvs

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// A Config tunes how a Client is opened. The zero value is the calling
// thread's network namespace.
type Config struct {
	// NetNS is an open file descriptor of a network namespace (for
	// example of /run/netns/NAME or /proc/PID/ns/net). The client's socket
	// is created there and so works on that namespace's IPVS tables for
	// its whole life. Zero means the namespace of the calling thread.
	NetNS int
}

// A Client talks to the kernel's IPVS over its generic-netlink socket,
// with a second one opened only for the large dump of every service (see
// Client.sockFor) and, on a machine of several CPUs, more for listings'
// real-server dumps (see Client.dumpDestinations). The family is resolved once. A Client is safe for
// concurrent use; requests are serialised.
type Client struct {
	mu     sync.Mutex // serialises exchanges on the sockets
	s      *sock
	family uint16
	// big is a second socket for the services dump, read in large
	// chunks (see sockFor); nil until needed. openBig opens another
	// transport in the client's namespace, for it and for extra; nil if
	// there is none to open.
	big     *sock
	openBig func() (transport, error)
	ns      nsID // the socket's network namespace, if known
	netns   int  // Config.NetNS: the namespace descriptor, 0 for the caller's
	// window is how many requests a batch may have in flight: as many
	// failure replies as the receive buffer holds with a wide margin.
	window int
	// dumpSockets is how many sockets a listing may dump real servers on
	// at once (see dumpDestinations): 1 unless the machine has several
	// CPUs. extra are the sockets besides s, opened on first use.
	dumpSockets int
	extra       []*sock
	// openProc replaces openProcTable in tests.
	openProc func() io.ReadCloser
}

// Dial opens a client. The error matches ErrNotAvailable when the kernel
// has no IPVS family and ErrPermission when the caller may not use it.
func Dial(cfg *Config) (*Client, error) {
	netns := 0
	if cfg != nil {
		netns = cfg.NetNS
	}
	t, err := openNetlink(netns)
	if err != nil {
		op := OpDial
		var se *os.SyscallError
		if errors.As(err, &se) && se.Syscall == "setns" {
			op = OpEnterNetNS
		}
		return nil, newError(op, err)
	}
	c := newClient(t, smallReadSize())
	c.window = windowFor(t.readBuffer())
	c.ns = socketNamespace(t.rc)
	c.netns = netns
	c.openBig = func() (transport, error) { return openNetlink(netns) }
	// NumCPU counts the CPUs this process may run on (sched_getaffinity).
	c.dumpSockets = min(runtime.NumCPU(), maxDumpSockets)
	if err := c.resolveFamily(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// newClient makes a client on t, its family not yet resolved.
func newClient(t transport, readSize int) *Client {
	return &Client{s: newSock(t, readSize), window: minWindow, dumpSockets: 1}
}

// Read sizes. The kernel sizes every later dump chunk of a socket to the
// largest read it has seen (up to 32 KiB), and allocating 32 KiB for each
// of thousands of small real-server dumps costs more kernel time than it
// saves. So the client's socket reads a page at a time, as libnl does, and
// the one dump that profits from large chunks, of all services (the kernel
// walks its whole table again for every chunk), has a socket of its own.
const (
	largeReadSize = 64 << 10
	pageReadSize  = 4096
)

// smallReadSize is the page size: the largest chunk the kernel makes for a
// reader that never asked for more.
func smallReadSize() int { return max(os.Getpagesize(), pageReadSize) }

// sockFor returns the socket for a request: with large set, the socket
// for large dumps, opened on first use in the client's namespace, unless
// it cannot be opened; otherwise, and then, the client's socket. c.mu
// must be held.
func (c *Client) sockFor(large bool) *sock {
	if !large || c.big == nil && c.openBig == nil {
		return c.s
	}
	if c.big == nil {
		t, err := c.openBig()
		if err != nil {
			return c.s
		}
		c.big = newSock(t, largeReadSize)
	}
	return c.big
}

// Generic-netlink controller attributes (linux/genetlink.h).
const (
	ctrlAttrFamilyID   = 1
	ctrlAttrFamilyName = 2
)

// resolveFamily looks the IPVS family's id up with the generic-netlink
// controller, on the client's own socket.
func (c *Client) resolveFamily() error {
	name := func(ae *attrEncoder) error {
		ae.str(ctrlAttrFamilyName, familyName)
		return nil
	}
	var id uint16
	err := c.s.exchange(unix.GENL_ID_CTRL, OpDial, unix.CTRL_CMD_GETFAMILY, 0, name, func(cmd uint8, b []byte) error {
		if cmd != unix.CTRL_CMD_NEWFAMILY {
			return nil
		}
		a := walker{b: b}
		for a.next() {
			if a.typ == ctrlAttrFamilyID {
				id = a.u16()
			}
		}
		return a.err
	})
	var e *Error
	if errors.As(err, &e) && e.Err == unix.ENOENT {
		return &Error{Op: OpDial, Err: errFamilyMissing}
	}
	if err != nil {
		return err
	}
	if id == 0 {
		return &Error{Op: OpDial, Err: fmt.Errorf("%w: no family id", errMalformed)}
	}
	c.family = id
	return nil
}

// Close releases the client's sockets.
func (c *Client) Close() error {
	if c.big != nil {
		c.big.t.close()
	}
	for _, s := range c.extra {
		s.t.close()
	}
	return c.s.t.close()
}

// An encoder writes a request's attributes.
type encoder func(*attrEncoder) error

// A replyFunc receives each reply message: its generic-netlink command
// and its attributes, valid only during the call.
type replyFunc func(cmd uint8, attrs []byte) error

// execute is the one place where requests meet the kernel: it frames the
// request, sends it, hands each reply to each, and turns failures into
// *Error. flags is 0 for a request answered by one message, nlmFAck for
// a change, nlmFDump for a list.
func (c *Client) execute(op Op, cmd uint8, flags uint16, enc encoder, each replyFunc) error {
	return c.executeOn(false, op, cmd, flags, enc, each)
}

// executeOn is execute on the socket for large dumps when large is set.
func (c *Client) executeOn(large bool, op Op, cmd uint8, flags uint16, enc encoder, each replyFunc) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sockFor(large).exchange(c.family, op, cmd, flags, enc, each)
}

// exchange sends one request of family, its attributes written by enc
// straight into the send buffer, and reads its replies.
func (s *sock) exchange(family uint16, op Op, cmd uint8, flags uint16, enc encoder, each replyFunc) error {
	seq := s.nextSeq()
	// NLM_F_REQUEST must be set: the kernel silently skips a message
	// without it.
	var err error
	if s.wbuf, err = frameRequest(&s.ae, s.wbuf[:0], family, nlmFRequest|flags, seq, cmd, enc); err != nil {
		return &Error{Op: op, Err: err}
	}
	if err := s.write(s.wbuf); err != nil {
		return newError(op, err)
	}
	dump := flags&nlmFDump != 0
	var replyErr error // a reply each refused; the dump is still drained
	for {
		b, err := s.read()
		if err != nil {
			return newError(op, err)
		}
		for len(b) > 0 {
			var m nlmsg
			if m, b, err = nextMessage(b); err != nil {
				return &Error{Op: op, Err: err}
			}
			if m.seq != seq {
				continue // a stale reply to an earlier, abandoned request
			}
			switch m.typ {
			case nlmsgNoop:
				continue
			case nlmsgOverrun:
				return &Error{Op: op, Err: errOverrun}
			case nlmsgError, nlmsgDone:
				ke, err := parseError(m)
				if err != nil {
					return &Error{Op: op, Err: err}
				}
				if ke.errno != 0 {
					return &Error{Op: op, Err: ke.errno, Message: ke.message}
				}
				if replyErr != nil {
					return &Error{Op: op, Err: replyErr}
				}
				return nil
			}
			if len(m.data) < genlHdrLen {
				return &Error{Op: op, Err: fmt.Errorf("%w: %d-byte generic netlink message", errMalformed, len(m.data))}
			}
			if replyErr == nil {
				replyErr = each(m.data[0], m.data[genlHdrLen:])
			}
			if !dump && flags&nlmFAck == 0 {
				if replyErr != nil {
					return &Error{Op: op, Err: replyErr}
				}
				return nil
			}
		}
	}
}

// set runs a command that changes state and answers only with an ack.
func (c *Client) set(op Op, cmd uint8, enc encoder) error {
	return c.execute(op, cmd, nlmFAck, enc, func(uint8, []byte) error { return nil })
}

// get runs a command that answers with exactly one message of type reply,
// which decode receives.
func (c *Client) get(op Op, cmd, reply uint8, enc encoder, decode func([]byte) error) error {
	n := 0
	err := c.execute(op, cmd, 0, enc, func(rc uint8, b []byte) error {
		if rc != reply {
			return nil
		}
		n++
		return decode(b)
	})
	if err != nil {
		return err
	}
	if n != 1 {
		return &Error{Op: op, Err: fmt.Errorf("%w: %d replies, want 1", errMalformed, n)}
	}
	return nil
}

// dump runs a dump command; decode receives each message of type reply.
func (c *Client) dump(op Op, cmd, reply uint8, enc encoder, decode func([]byte) error) error {
	return c.execute(op, cmd, nlmFDump, enc, func(rc uint8, b []byte) error {
		if rc != reply {
			return nil
		}
		return decode(b)
	})
}

// newError wraps a failure of the exchange, keeping the bare errno as the
// cause.
func newError(op Op, err error) *Error {
	e := &Error{Op: op, Err: err}
	var errno unix.Errno
	if errors.As(err, &errno) {
		e.Err = errno
	}
	return e
}

// Info returns the IPVS version and the connection table size.
func (c *Client) Info() (rules.Info, error) {
	var info rules.Info
	err := c.get(OpInfo, cmdGetInfo, cmdSetInfo, nil, func(b []byte) (err error) {
		info, err = decodeInfo(b)
		return err
	})
	return info, err
}

// Services lists every virtual service, in the kernel's (hash) order.
//
// The kernel resumes a dump by position, counting the services of every
// namespace, so a change anywhere between two chunks can repeat an entry;
// repeats are dropped (IPVS never sets NLM_F_DUMP_INTR to say so).
func (c *Client) Services() ([]rules.Service, error) {
	entries, err := c.serviceEntries(0, true)
	if err != nil || entries == nil {
		return nil, err
	}
	svcs := make([]rules.Service, len(entries))
	for i := range entries {
		svcs[i] = entries[i].Service
	}
	return svcs, nil
}

// serviceEntries is Services as entries without real servers, with room
// made for hint services, the size of an earlier dump: a table of
// thousands of services is not grown step by step. Each service is
// decoded in place, its statistics only with counters.
func (c *Client) serviceEntries(hint int, counters bool) ([]rules.ServiceEntry, error) {
	var entries []rules.ServiceEntry // nil when there are none
	if hint > 0 {
		entries = make([]rules.ServiceEntry, 0, hint)
	}
	err := c.executeOn(true, OpServices, cmdGetService, nlmFDump, nil, func(rc uint8, b []byte) error {
		if rc != cmdNewService {
			return nil
		}
		entries = append(entries, rules.ServiceEntry{})
		last := len(entries) - 1
		if err := decodeServiceMessageInto(&entries[last].Service, b, counters); err != nil {
			entries = entries[:last]
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return dropRepeats(entries), nil
}

// serviceKeys dumps the services' /proc keys only, in the kernel's order,
// repeats included (a caller comparing it with a deduplicated dump sees
// them as a difference).
func (c *Client) serviceKeys(hint int) ([]procKey, error) {
	keys := make([]procKey, 0, hint)
	err := c.executeOn(true, OpServices, cmdGetService, nlmFDump, nil, func(rc uint8, b []byte) error {
		if rc != cmdNewService {
			return nil
		}
		k, err := decodeServiceProcKey(b)
		keys = append(keys, k)
		return err
	})
	return keys, err
}

// Service returns one virtual service; the error matches ErrNoService if
// it does not exist.
func (c *Client) Service(key rules.ServiceKey) (rules.Service, error) {
	var s rules.Service
	err := c.get(OpService, cmdGetService, cmdNewService, encodeServiceKeyAttr(key), func(b []byte) (err error) {
		s, err = decodeServiceMessage(b)
		return err
	})
	return s, err
}

// AddService creates a virtual service.
func (c *Client) AddService(s rules.Service) error {
	return c.set(OpAddService, cmdNewService, encodeServiceAttr(s))
}

// UpdateService replaces the options of an existing service. Every option
// is sent: an empty PE removes the persistence engine, zero flags clear
// them.
func (c *Client) UpdateService(s rules.Service) error {
	return c.set(OpUpdateService, cmdSetService, encodeServiceAttr(s))
}

// DeleteService removes a virtual service and its real servers.
func (c *Client) DeleteService(key rules.ServiceKey) error {
	return c.set(OpDeleteService, cmdDelService, encodeServiceKeyAttr(key))
}

// Destinations lists the real servers of a service, newest first as the
// kernel keeps them. The kernel answers an unknown service with an empty
// list, not an error. Repeats from an interrupted dump are dropped, as
// for Services.
func (c *Client) Destinations(key rules.ServiceKey) ([]rules.Destination, error) {
	// One service may have tens of thousands of real servers: read it in
	// large chunks (see largeDestDump).
	return c.destinations(key, true)
}

// largeDestDump is the number of real servers from which a service's dump
// goes through the socket for large dumps. The kernel resumes a real-server
// dump by walking the service's list from its start for every chunk, so
// page-sized chunks make a long list quadratic (20,000 real servers took
// three times as long as ipvsadm 1.31, which reads 16 KiB at a time); for
// short lists the small chunks are cheaper.
const largeDestDump = 64

// destinations dumps a service's real servers, through the socket for
// large dumps when large is set.
func (c *Client) destinations(key rules.ServiceKey, large bool) ([]rules.Destination, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sockFor(large)
	var set destSet
	if err := s.destinations(c.family, key, &set); err != nil {
		return nil, err
	}
	return set.dests, nil
}

// destinations dumps the real servers of the service key into set, each
// decoded in place at the end of set.dests.
func (s *sock) destinations(family uint16, key rules.ServiceKey, set *destSet) error {
	enc := func(ae *attrEncoder) error { return encodeServiceKeyNested(ae, &key) }
	return s.exchange(family, OpDestinations, cmdGetDest, nlmFDump, enc, func(rc uint8, b []byte) error {
		if rc != cmdNewDest {
			return nil
		}
		return set.decode(b, key.Family)
	})
}

// A destSet collects a dump's real servers, dropping repeats of one
// identity. A short list is searched; from indexFrom entries on, an index
// keeps the check constant-time, so a service of tens of thousands of real
// servers lists in linear time.
type destSet struct {
	dests []rules.Destination
	index map[destKey]struct{} // set once dests has indexFrom entries
}

// A destKey is a real server's identity within its service.
type destKey struct {
	family rules.Family
	addr   netip.Addr
	port   uint16
}

const indexFrom = 32

func keyOf(d *rules.Destination) destKey { return destKey{d.Family, d.Addr, d.Port} }

// decode decodes a NEW_DEST message b of a service of family f straight
// into a new last entry, which it keeps unless it repeats an earlier one.
func (s *destSet) decode(b []byte, f rules.Family) error {
	d := s.grow()
	last := len(s.dests) - 1
	if err := decodeDestinationInto(d, b, f); err != nil {
		*d = rules.Destination{}
		s.dests = s.dests[:last]
		return err
	}
	if s.seen(d, last) {
		*d = rules.Destination{}
		s.dests = s.dests[:last]
	}
	return nil
}

// grow extends dests by one zero entry and returns it. The room between
// dests' length and capacity is always zero (a slice grown by append is,
// and an entry given back is cleared, here and in destWorker.dump), so an
// entry that fits is not written twice: a listing with counters decodes
// tens of thousands of 240-byte real servers.
func (s *destSet) grow() *rules.Destination {
	if len(s.dests) < cap(s.dests) {
		s.dests = s.dests[:len(s.dests)+1]
	} else {
		s.dests = append(s.dests, rules.Destination{})
	}
	return &s.dests[len(s.dests)-1]
}

// add appends d unless a real server of its identity is there already.
func (s *destSet) add(d rules.Destination) {
	*s.grow() = d
	last := len(s.dests) - 1
	if s.seen(&s.dests[last], last) {
		s.dests[last] = rules.Destination{}
		s.dests = s.dests[:last]
	}
}

// seen reports whether d, the entry at n, repeats one of the n before it,
// and indexes it if not.
func (s *destSet) seen(d *rules.Destination, n int) bool {
	k := keyOf(d)
	if s.index == nil {
		for i := range s.dests[:n] {
			if keyOf(&s.dests[i]) == k {
				return true
			}
		}
		if n+1 == indexFrom {
			s.index = make(map[destKey]struct{}, 2*indexFrom)
			for i := range s.dests[:n+1] {
				s.index[keyOf(&s.dests[i])] = struct{}{}
			}
		}
		return false
	}
	if _, ok := s.index[k]; ok {
		return true
	}
	s.index[k] = struct{}{}
	return false
}

// AddDestination adds a real server to a service.
func (c *Client) AddDestination(key rules.ServiceKey, d rules.Destination) error {
	return c.set(OpAddDestination, cmdNewDest, encodeDestinationAttrs(key, d, true))
}

// UpdateDestination replaces a real server's options; tunnel settings not
// given are reset by the kernel.
func (c *Client) UpdateDestination(key rules.ServiceKey, d rules.Destination) error {
	return c.set(OpUpdateDestination, cmdSetDest, encodeDestinationAttrs(key, d, true))
}

// DeleteDestination removes a real server, identified by family, address
// and port.
func (c *Client) DeleteDestination(key rules.ServiceKey, d rules.Destination) error {
	return c.set(OpDeleteDestination, cmdDelDest, encodeDestinationAttrs(key, d, false))
}

// ZeroAll zeroes the counters of every service and real server.
func (c *Client) ZeroAll() error { return c.set(OpZero, cmdZero, nil) }

// ZeroService zeroes the counters of one service and its real servers.
func (c *Client) ZeroService(key rules.ServiceKey) error {
	return c.set(OpZero, cmdZero, encodeServiceKeyAttr(key))
}

// Flush removes every virtual service.
func (c *Client) Flush() error { return c.set(OpFlush, cmdFlush, nil) }

// Timeouts returns the TCP, TCP FIN and UDP timeouts.
func (c *Client) Timeouts() (rules.Timeouts, error) {
	var t rules.Timeouts
	err := c.get(OpTimeouts, cmdGetConfig, cmdSetConfig, nil, func(b []byte) (err error) {
		t, err = decodeTimeouts(b)
		return err
	})
	return t, err
}

// SetTimeouts sets the timeouts; a zero field keeps its current value.
func (c *Client) SetTimeouts(t rules.Timeouts) error {
	return c.set(OpSetTimeouts, cmdSetConfig, encodeTimeouts(t))
}

// Daemons lists the running sync daemons (master first).
func (c *Client) Daemons() ([]rules.Daemon, error) {
	var ds []rules.Daemon
	err := c.dump(OpDaemons, cmdGetDaemon, cmdNewDaemon, nil, func(b []byte) error {
		d, err := decodeDaemonMessage(b)
		if err != nil {
			return err
		}
		ds = append(ds, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ds, nil
}

// StartDaemon starts a sync daemon in d.State's role.
func (c *Client) StartDaemon(d rules.Daemon) error {
	return c.set(OpStartDaemon, cmdNewDaemon, encodeDaemonAttr(d))
}

// StopDaemon stops the sync daemon of the given role.
func (c *Client) StopDaemon(state rules.SyncState) error {
	return c.set(OpStopDaemon, cmdDelDaemon, encodeDaemonStopAttr(state))
}
