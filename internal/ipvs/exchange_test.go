package ipvs

import (
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nlenc"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// The request loop's handling of what the kernel may send besides a plain
// answer, through the fake kernel.

// dumpedSvc is a dumped service of address 10.0.0.n.
func dumpedSvc(t testing.TB, n byte) genetlink.Message {
	k := tcp4
	k.Addr = netipv4(10, 0, 0, n)
	return reply(t, cmdNewService, func(ae *netlink.AttributeEncoder) {
		nest(ae, cmdAttrService, func(ae *netlink.AttributeEncoder) {
			keyAttrs(k)(ae)
			ae.Bytes(svcAttrSchedName, []byte("rr\x00"))
			ae.Bytes(svcAttrFlags, svcFlags(0))
			ae.Bytes(svcAttrTimeout, nlenc.Uint32Bytes(0))
			ae.Bytes(svcAttrNetmask, mask4("255.255.255.255"))
		})
	})
}

func TestClientDumpAcrossDatagrams(t *testing.T) {
	var msgs []genetlink.Message
	for i := range 100 {
		msgs = append(msgs, dumpedSvc(t, byte(i)))
	}
	f := newFakeKernel(t, func(_ genetlink.Message, nreq netlink.Message) []netlink.Message {
		return multipart(t, msgs)
	})
	c := f.client()
	svcs, err := c.Services()
	require.NoError(t, err)
	require.Len(t, svcs, 100)
	require.Equal(t, netipv4(10, 0, 0, 99), svcs[99].Addr)
	require.Greater(t, f.reads, 10, "many datagrams")
	require.NotNil(t, c.big, "the services dump has a socket of its own")
	big := c.big
	_, err = c.Services()
	require.NoError(t, err)
	require.Same(t, big, c.big, "opened once")
	require.NoError(t, c.Close())
	require.Equal(t, 2, f.closed, "Close closes both sockets")
}

func netipv4(a, b, c, d byte) netip.Addr { return netip.AddrFrom4([4]byte{a, b, c, d}) }

// TestClientInterruptedDump: NLM_F_DUMP_INTR says the table changed while
// it was dumped; IPVS never sets it, and the client keeps what it got,
// dropping the repeats an interrupted dump may bring.
func TestClientInterruptedDump(t *testing.T) {
	f := newFakeKernel(t, func(_ genetlink.Message, nreq netlink.Message) []netlink.Message {
		out := multipart(t, []genetlink.Message{dumpedSvc(t, 1), dumpedSvc(t, 2), dumpedSvc(t, 2), dumpedSvc(t, 3)})
		for i := range out {
			out[i].Header.Flags |= netlink.DumpInterrupted
		}
		return out
	})
	svcs, err := f.client().Services()
	require.NoError(t, err)
	require.Len(t, svcs, 3)
}

// TestClientExchangeFailures covers a broken exchange for a single
// request: every one is an *Error of the operation.
func TestClientExchangeFailures(t *testing.T) {
	dumpOf := func(msgs ...netlink.Message) func(*testing.T, netlink.Message) []netlink.Message {
		return func(t *testing.T, nreq netlink.Message) []netlink.Message {
			return append(multipart(t, []genetlink.Message{dumpedSvc(t, 1)})[:1], msgs...)
		}
	}
	tests := []struct {
		name  string
		setup func(f *fakeKernel)
		serve func(t *testing.T, nreq netlink.Message) []netlink.Message
		is    []error
		errno unix.Errno
		msg   string
	}{
		{
			// The receive buffer overflowed: the kernel dropped part of
			// the dump and says so on the next read.
			name:  "ENOBUFS in a dump",
			setup: func(f *fakeKernel) { f.errAt, f.readErr, f.datagram = 3, unix.ENOBUFS, 100 },
			serve: func(t *testing.T, nreq netlink.Message) []netlink.Message {
				return multipart(t, []genetlink.Message{dumpedSvc(t, 1), dumpedSvc(t, 2), dumpedSvc(t, 3)})
			},
			errno: unix.ENOBUFS,
		},
		{
			name:  "dump ends with an error",
			serve: dumpOf(netlink.Message{Header: netlink.Header{Type: netlink.Done, Flags: netlink.Multi}, Data: nlenc.Int32Bytes(-int32(unix.EBUSY))}),
			errno: unix.EBUSY,
		},
		{
			name:  "overrun",
			serve: dumpOf(netlink.Message{Header: netlink.Header{Type: netlink.Overrun}}),
			is:    []error{errOverrun},
		},
		{
			name:  "short error message",
			serve: dumpOf(netlink.Message{Header: netlink.Header{Type: netlink.Done}, Data: []byte{0, 0}}),
			is:    []error{errMalformed},
		},
		{
			name: "short generic header",
			serve: func(t *testing.T, nreq netlink.Message) []netlink.Message {
				return []netlink.Message{{Header: netlink.Header{Type: netlink.HeaderType(testFamily.ID)}, Data: []byte{1, 2}}}
			},
			is: []error{errMalformed},
		},
		{
			name:  "partial frame",
			setup: func(f *fakeKernel) { f.cut = 1 },
			serve: dumpOf(),
			is:    []error{errMalformed},
		},
		{
			// A datagram larger than the read buffer arrives cut.
			name:  "truncated datagram",
			setup: func(f *fakeKernel) { f.datagram = 1 << 20 },
			serve: func(t *testing.T, nreq netlink.Message) []netlink.Message {
				var msgs []genetlink.Message
				for i := range 2000 {
					msgs = append(msgs, dumpedSvc(t, byte(i)))
				}
				return multipart(t, msgs)
			},
			is: []error{errMalformed},
		},
		{
			name:  "write fails",
			setup: func(f *fakeKernel) { f.writeErrAt, f.writeErr = 2, unix.ECONNREFUSED },
			errno: unix.ECONNREFUSED,
		},
		{
			// The kernel's answer is lost: the client stops waiting.
			name:  "no answer",
			serve: func(*testing.T, netlink.Message) []netlink.Message { return nil },
			is:    []error{ErrTimeout, os.ErrDeadlineExceeded},
			msg:   "ipvs: list services: no reply from the kernel in 30ms",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKernel(t, func(_ genetlink.Message, nreq netlink.Message) []netlink.Message {
				return tt.serve(t, nreq)
			})
			c := f.client()
			c.openBig = nil // the dump on the client's socket
			c.s.timeout = 30 * time.Millisecond
			if tt.setup != nil {
				tt.setup(f)
			}
			start := time.Now()
			_, err := c.Services()
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, OpServices, e.Op)
			require.Equal(t, tt.errno, Errno(err))
			if tt.errno != 0 {
				require.Equal(t, tt.errno, e.Err, "the cause is the bare errno")
			}
			for _, target := range tt.is {
				require.ErrorIs(t, err, target)
			}
			if tt.msg != "" {
				require.Equal(t, tt.msg, err.Error())
				require.GreaterOrEqual(t, time.Since(start), c.s.timeout)
			}
		})
	}
}

// TestClientDefaultTimeout: a client waits generously by default.
func TestClientDefaultTimeout(t *testing.T) {
	c := newClient(newFakeKernel(t, nil), pageReadSize)
	require.Equal(t, 30*time.Second, c.s.timeout)
}

// TestClientStaleReplies: answers to an earlier request (a get's surplus
// reply, an abandoned dump) and no-op messages are skipped.
func TestClientStaleReplies(t *testing.T) {
	info := reply(t, cmdSetInfo, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(infoAttrVersion, nlenc.Uint32Bytes(0x010201))
	})
	f := newFakeKernel(t, func(_ genetlink.Message, nreq netlink.Message) []netlink.Message {
		noop := netlink.Message{Header: netlink.Header{Type: netlink.Noop}}
		return append([]netlink.Message{noop}, plain(t, []genetlink.Message{info, info})...)
	})
	c := f.client()
	for range 3 {
		got, err := c.Info()
		require.NoError(t, err)
		require.Equal(t, rules.Info{Version: 0x010201}, got)
	}
}

// TestClientCappedExtendedAck: with NETLINK_CAP_ACK only the request's
// header is echoed before the extended-ack attributes.
func TestClientCappedExtendedAck(t *testing.T) {
	const text = "Attribute failed policy validation"
	c := dialRaw(t, func(_ genetlink.Message, nreq netlink.Message) []netlink.Message {
		m := cappedAck(t, nreq, unix.EINVAL)
		m.Header.Flags |= netlink.AcknowledgeTLVs
		m.Data = append(m.Data, attrs(t, func(ae *netlink.AttributeEncoder) {
			ae.Uint32(unix.NLMSGERR_ATTR_OFFS, 20)
			ae.String(unix.NLMSGERR_ATTR_MSG, text)
		})...)
		return []netlink.Message{m}
	})
	err := c.AddService(rules.Service{ServiceKey: tcp4, Scheduler: "rr"})
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, &Error{Op: OpAddService, Err: unix.EINVAL, Message: text}, e)
}

// TestClientBigSocketUnavailable: when the socket for large dumps cannot be
// opened, the services dump uses the client's socket.
func TestClientBigSocketUnavailable(t *testing.T) {
	f := newFakeKernel(t, func(_ genetlink.Message, nreq netlink.Message) []netlink.Message {
		return multipart(t, []genetlink.Message{dumpedSvc(t, 1)})
	})
	c := f.client()
	c.openBig = func() (transport, error) { return nil, unix.EMFILE }
	svcs, err := c.Services()
	require.NoError(t, err)
	require.Len(t, svcs, 1)
	require.Nil(t, c.big)
}

// TestClientTable: services and each one's real servers, through full
// dumps (the fake has no /proc to read).
func TestClientTable(t *testing.T) {
	f := newFakeKernel(t, func(greq genetlink.Message, nreq netlink.Message) []netlink.Message {
		if greq.Header.Command == cmdGetService {
			return multipart(t, []genetlink.Message{dumpedSvc(t, 1), dumpedSvc(t, 2)})
		}
		require.Equal(t, uint8(cmdGetDest), greq.Header.Command)
		return multipart(t, []genetlink.Message{reply(t, cmdNewDest, func(ae *netlink.AttributeEncoder) {
			nest(ae, cmdAttrDest, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(destAttrAddrFamily, nlenc.Uint16Bytes(2))
				ae.Bytes(destAttrAddr, inetAddr("192.168.1.10"))
				ae.Bytes(destAttrPort, nbo16(8080))
			})
		})})
	})
	c := f.client()
	for _, brief := range []bool{false, true} {
		entries, err := c.Table(brief)
		require.NoError(t, err)
		require.Len(t, entries, 2)
		require.Equal(t, netipv4(10, 0, 0, 2), entries[1].Service.Addr)
		require.Len(t, entries[1].Dests, 1)
		require.Equal(t, uint16(8080), entries[1].Dests[0].Port)
	}

	// A failing dump fails the table.
	f.serve = func(_ genetlink.Message, nreq netlink.Message) []netlink.Message {
		return []netlink.Message{nlAck(t, nreq, unix.EPERM)}
	}
	_, err := c.Table(false)
	require.ErrorIs(t, err, ErrPermission)
}

// TestClientDestinationsLarge: a service of 20,000 real servers, dumped with
// repeats as an interrupted dump brings them, lists each once, in the
// kernel's order, and in linear time (the check once compared each real
// server with every earlier one: 28 s for this listing).
func TestClientDestinationsLarge(t *testing.T) {
	const n = 20000
	addr := func(i int) []byte {
		return inetAddr(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String())
	}
	msg := func(i int) genetlink.Message {
		return reply(t, cmdNewDest, func(ae *netlink.AttributeEncoder) {
			nest(ae, cmdAttrDest, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(destAttrAddrFamily, nlenc.Uint16Bytes(2))
				ae.Bytes(destAttrAddr, addr(i))
				ae.Bytes(destAttrPort, nbo16(80))
			})
		})
	}
	var msgs []genetlink.Message
	for i := range n {
		msgs = append(msgs, msg(i))
		if i%1000 == 999 { // a chunk resumed one position early
			msgs = append(msgs, msg(i))
		}
	}
	for i := range 50 { // and a run of early ones again
		msgs = append(msgs, msg(i))
	}
	f := newFakeKernel(t, func(genetlink.Message, netlink.Message) []netlink.Message { return multipart(t, msgs) })
	f.datagram = pageReadSize
	c := f.client()
	start := time.Now()
	dests, err := c.Destinations(tcp4)
	require.NoError(t, err)
	require.Less(t, time.Since(start), 20*time.Second, "a generous bound: the quadratic check took longer")
	require.Len(t, dests, n)
	for i, d := range dests {
		if d.Addr != netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) {
			t.Fatalf("real server %d is %v", i, d.Addr)
		}
	}
}

// Test_destSet: below indexFrom real servers the list is searched; from
// there on every real server is in the index, so no add scans the list.
func Test_destSet(t *testing.T) {
	var s destSet
	d := func(i int, f rules.Family, port uint16) rules.Destination {
		a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		if f == rules.IPv6 {
			a = netip.AddrFrom16(a.As16())
		}
		return rules.Destination{Family: f, Addr: a, Port: port, Weight: int32(i)}
	}
	for i := range 5000 {
		s.add(d(i, rules.IPv4, 80))
		s.add(d(i, rules.IPv4, 80)) // a repeat
		if i < indexFrom-1 {
			require.Nil(t, s.index)
		} else {
			require.Len(t, s.index, len(s.dests))
		}
	}
	require.Len(t, s.dests, 5000)
	// Another port or family is another real server.
	s.add(d(7, rules.IPv4, 81))
	s.add(d(7, rules.IPv6, 80))
	require.Len(t, s.dests, 5002)
	// The first of a repeat is kept.
	require.Equal(t, int32(7), s.dests[7].Weight)
}

// TestClientTableInconsistentDumps: services dumps that skipped services
// (another namespace changed the shared table during them) are read again
// until two reads are the whole of what was seen, and a table that never
// reads the same twice is an error, not a silently partial listing.
func TestClientTableInconsistentDumps(t *testing.T) {
	dumps := 0
	var sets [][]int
	f := newFakeKernel(t, func(greq genetlink.Message, nreq netlink.Message) []netlink.Message {
		if greq.Header.Command == cmdGetDest {
			return multipart(t, nil)
		}
		set := sets[min(dumps, len(sets)-1)]
		dumps++
		var msgs []genetlink.Message
		for _, i := range set {
			msgs = append(msgs, dumpedSvc(t, byte(i)))
		}
		return multipart(t, msgs)
	})
	c := f.client()
	// The fake kernel has no /proc: a dump of keys precedes the first
	// full dump and confirms it, or when it does not, full dumps follow.

	// The keys skipped a service; the next two full dumps are the whole.
	sets, dumps = [][]int{{1, 3}, {1, 2, 3}, {1, 2, 3}}, 0
	entries, err := c.Table(false)
	require.NoError(t, err)
	require.Len(t, entries, 3)
	require.Equal(t, 3, dumps)

	// The first full dump skipped a service; the next two are the whole.
	sets, dumps = [][]int{{1, 2, 3}, {1, 3}, {1, 2, 3}, {1, 2, 3}}, 0
	entries, err = c.Table(false)
	require.NoError(t, err)
	require.Len(t, entries, 3)
	require.Equal(t, 4, dumps)

	// The keys confirm the first dump.
	sets, dumps = [][]int{{1, 2, 3}}, 0
	entries, err = c.Table(false)
	require.NoError(t, err)
	require.Len(t, entries, 3)
	require.Equal(t, 2, dumps)

	// Skips come and go; two dumps are the whole union by the fourth.
	sets, dumps = [][]int{{1, 2}, {2, 3}, {1, 2, 3}, {1, 3}, {1, 2, 3}}, 0
	entries, err = c.Table(false)
	require.NoError(t, err)
	require.Len(t, entries, 3)
	require.Equal(t, 5, dumps)

	// Every dump shows something new: never two agree.
	sets, dumps = nil, 0
	for i := 1; i <= tableAttempts+1; i++ {
		sets = append(sets, []int{i})
	}
	_, err = c.Table(true)
	require.ErrorIs(t, err, ErrInconsistent)
	require.Equal(t, tableAttempts+1, dumps)
}

// Test_destSetRoomStaysZero: decode fills entries past dests' length
// without clearing them first, so an entry it gives back (a repeat, a
// malformed message) must be left zero for the next one.
func Test_destSetRoomStaysZero(t *testing.T) {
	msg := func(last byte, port uint16, weight uint32) []byte {
		return destMsg(t, func(ae *netlink.AttributeEncoder) {
			ae.Bytes(destAttrAddr, inetAddr(netip.AddrFrom4([4]byte{10, 0, 0, last}).String()))
			ae.Bytes(destAttrPort, nbo16(port))
			ae.Bytes(destAttrWeight, nlenc.Uint32Bytes(weight))
			nest(ae, destAttrStats64, stats64(rules.Stats{Conns: 5, InBytes: 1 << 40}))
		})
	}
	s := destSet{dests: make([]rules.Destination, 0, 4)}
	require.NoError(t, s.decode(msg(1, 80, 3), rules.IPv4))
	require.NoError(t, s.decode(msg(1, 80, 9), rules.IPv4)) // a repeat
	// Malformed after the weight was decoded into the entry.
	bad := destMsg(t, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(destAttrWeight, nlenc.Uint32Bytes(1))
		ae.Bytes(destAttrPort, []byte{0, 80, 0})
	})
	require.Error(t, s.decode(bad, rules.IPv4))
	require.Len(t, s.dests, 1)
	require.Equal(t, int32(3), s.dests[0].Weight)
	for i, d := range s.dests[1:cap(s.dests)] {
		require.Zero(t, d, "room entry %d", i+1)
	}
	// The next real server decodes into that room as into a fresh entry.
	require.NoError(t, s.decode(msg(2, 81, 7), rules.IPv4))
	want, err := decodeDestinationMessage(msg(2, 81, 7), rules.IPv4)
	require.NoError(t, err)
	require.Equal(t, want, s.dests[1])
}
