package ipvs

import (
	"math"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

func Test_windowFor(t *testing.T) {
	for size, want := range map[int]int{
		0:               minWindow, // getsockopt failed
		64 * ackCost:    minWindow,
		100 * ackCost:   100,
		100*ackCost + 1: 100,
		wantReadBuffer:  maxWindow, // what root gets: 8 MiB / 2 KiB
		1 << 30:         maxWindow,
	} {
		require.Equal(t, want, windowFor(size), "receive buffer of %d bytes", size)
	}
}

// destN is the n-th real server of tcp4.
func destN(n int) rules.Destination {
	return rules.Destination{Addr: netip.AddrFrom4([4]byte{172, 16, byte(n >> 8), byte(n)}), Port: 8080, Weight: 1}
}

// failing is a fake kernel that fails the real-server additions whose
// index (in the order they arrive) is in fail, with a capped error
// acknowledgement, and acknowledges what asks for it.
func failing(t *testing.T, fail map[int]unix.Errno) *fakeKernel {
	n := 0
	return newFakeKernel(t, func(_ genetlink.Message, nreq netlink.Message) []netlink.Message {
		n++
		if errno := fail[n-1]; errno != 0 {
			return []netlink.Message{cappedAck(t, nreq, errno)}
		}
		if nreq.Header.Flags&netlink.Acknowledge != 0 {
			return []netlink.Message{cappedAck(t, nreq, 0)}
		}
		return nil
	})
}

// TestBatchWindows checks what a restore's speed rests on: requests go out
// a window at a time, only each window's last request asks for an
// acknowledgement, the next window waits for it, and every failure is
// mapped back to its request by sequence number.
func TestBatchWindows(t *testing.T) {
	f := failing(t, map[int]unix.Errno{1: unix.EEXIST, 4: unix.ESRCH, 5: unix.EEXIST, 9: unix.ENOENT})
	c := f.client()
	c.window = 4
	b := c.NewBatch()
	// 11 requests; the local failure (index 6) is not sent, and index 7
	// closes the second window in its place.
	for i := range 6 {
		b.AddDestination(tcp4, destN(i))
	}
	b.AddService(rules.Service{ServiceKey: tcp4, Scheduler: "abcdefghijklmnopq"})
	b.DeleteService(udp6)
	b.ZeroAll()
	b.Flush()
	b.StopDaemon(rules.Backup)
	require.Equal(t, 11, b.Len())

	results, err := b.Send()
	require.NoError(t, err)
	require.Zero(t, b.Len(), "Send empties the batch")
	require.Len(t, results, 11)

	// Sent request k is queued request sent[k].
	sent := []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 10}
	wantErr := map[int]struct {
		op    Op
		errno unix.Errno
	}{1: {OpAddDestination, unix.EEXIST}, 4: {OpAddDestination, unix.ESRCH}, 5: {OpAddDestination, unix.EEXIST},
		10: {OpStopDaemon, unix.ENOENT}}
	for i, r := range results {
		switch {
		case i == 6:
			require.ErrorIs(t, r, errNameTooLong)
			var e *Error
			require.ErrorAs(t, r, &e)
			require.Equal(t, OpAddService, e.Op)
		case wantErr[i].errno != 0:
			var e *Error
			require.ErrorAs(t, r, &e, "result %d", i)
			require.Equal(t, wantErr[i].op, e.Op, "result %d", i)
			require.Equal(t, wantErr[i].errno, e.Err, "result %d", i)
		default:
			require.NoError(t, r, "result %d", i)
		}
	}

	// Windows of four queued requests: 0-3, 4-7 (6 not sent), 8-10.
	require.Len(t, f.requests, len(sent))
	acked := map[int]bool{3: true, 7: true, 10: true}
	for k, req := range f.requests {
		want := netlink.Request
		if acked[sent[k]] {
			want |= netlink.Acknowledge
		}
		require.Equal(t, want, req.Header.Flags, "request %d", sent[k])
		if k > 0 {
			require.Equal(t, f.requests[k-1].Header.Sequence+1, req.Header.Sequence, "consecutive sequence numbers")
		}
	}
	// One write per window, each after every earlier answer was read.
	require.Len(t, f.writes, 1+3) // the family lookup, then the windows
	for _, w := range f.writes {
		require.Zero(t, w.unread)
	}
	require.Equal(t, []int{4, 3, 3}, []int{f.writes[1].requests, f.writes[2].requests, f.writes[3].requests})

	// The batch is reusable.
	b.ZeroAll()
	results, err = b.Send()
	require.NoError(t, err)
	require.Equal(t, []error{nil}, results)
}

// TestBatchOnlyLocalFailures: a window of nothing but requests that failed
// to encode sends nothing.
func TestBatchOnlyLocalFailures(t *testing.T) {
	f := failing(t, nil)
	c := f.client()
	b := c.NewBatch()
	b.StartDaemon(rules.Daemon{State: rules.Master, Interface: "abcdefghijklmnopq"})
	b.UpdateService(rules.Service{ServiceKey: rules.ServiceKey{FWMark: 1}})
	results, err := b.Send()
	require.NoError(t, err)
	require.ErrorIs(t, results[0], errNameTooLong)
	require.ErrorIs(t, results[1], errBadFamily)
	require.Empty(t, f.requests)
}

// TestBatchQueueAll checks each Batch method's request against the
// single-request method's, which the client tests pin down.
func TestBatchQueueAll(t *testing.T) {
	svc := rules.Service{ServiceKey: tcp4, Scheduler: "wlc", Netmask: 0xffffffff}
	d := destN(1)
	calls := []struct {
		batch  func(b *Batch)
		single func(c *Client) error
	}{
		{func(b *Batch) { b.AddService(svc) }, func(c *Client) error { return c.AddService(svc) }},
		{func(b *Batch) { b.UpdateService(svc) }, func(c *Client) error { return c.UpdateService(svc) }},
		{func(b *Batch) { b.DeleteService(tcp4) }, func(c *Client) error { return c.DeleteService(tcp4) }},
		{func(b *Batch) { b.AddDestination(tcp4, d) }, func(c *Client) error { return c.AddDestination(tcp4, d) }},
		{func(b *Batch) { k := tcp4; b.AddDestinationRef(&k, &d) }, func(c *Client) error { return c.AddDestination(tcp4, d) }},
		{func(b *Batch) { b.UpdateDestination(tcp4, d) }, func(c *Client) error { return c.UpdateDestination(tcp4, d) }},
		{func(b *Batch) { b.DeleteDestination(tcp4, d) }, func(c *Client) error { return c.DeleteDestination(tcp4, d) }},
		{func(b *Batch) { b.ZeroAll() }, func(c *Client) error { return c.ZeroAll() }},
		{func(b *Batch) { b.ZeroService(tcp4) }, func(c *Client) error { return c.ZeroService(tcp4) }},
		{func(b *Batch) { b.Flush() }, func(c *Client) error { return c.Flush() }},
		{func(b *Batch) { b.SetTimeouts(rules.Timeouts{TCP: 5}) }, func(c *Client) error { return c.SetTimeouts(rules.Timeouts{TCP: 5}) }},
		{func(b *Batch) { b.StartDaemon(rules.Daemon{State: rules.Master, Interface: "eth0"}) },
			func(c *Client) error { return c.StartDaemon(rules.Daemon{State: rules.Master, Interface: "eth0"}) }},
		{func(b *Batch) { b.StopDaemon(rules.Master) }, func(c *Client) error { return c.StopDaemon(rules.Master) }},
	}
	bf := failing(t, nil)
	b := bf.client().NewBatch()
	sf := failing(t, nil)
	c := sf.client()
	for _, call := range calls {
		call.batch(b)
		require.NoError(t, call.single(c))
	}
	results, err := b.Send()
	require.NoError(t, err)
	require.Equal(t, make([]error, len(calls)), results)
	require.Len(t, bf.requests, len(calls))
	for i := range calls {
		require.Equal(t, sf.requests[i].Data, bf.requests[i].Data, "request %d", i)
		require.Equal(t, sf.requests[i].Header.Type, bf.requests[i].Header.Type, "request %d", i)
	}
}

// TestBatchSequenceWrap: a window never wraps the sequence number, whose
// offsets map failures back; it restarts at 1 instead (0 is never used).
func TestBatchSequenceWrap(t *testing.T) {
	f := failing(t, map[int]unix.Errno{0: unix.EEXIST, 4: unix.EEXIST})
	c := f.client()
	c.window = 4
	c.s.seq = math.MaxUint32 - 2
	b := c.NewBatch()
	for i := range 6 {
		b.AddDestination(tcp4, destN(i))
	}
	results, err := b.Send()
	require.NoError(t, err)
	var seqs []uint32
	for _, r := range f.requests {
		seqs = append(seqs, r.Header.Sequence)
	}
	require.Equal(t, []uint32{1, 2, 3, 4, 5, 6}, seqs)
	for i, r := range results {
		if i == 0 || i == 4 {
			require.ErrorIs(t, r, ErrDestinationExists, "result %d", i)
		} else {
			require.NoError(t, r, "result %d", i)
		}
	}

	// A single request's sequence number skips 0 when it wraps.
	c.s.seq = math.MaxUint32
	require.NoError(t, c.ZeroAll())
	require.Equal(t, uint32(1), f.requests[len(f.requests)-1].Header.Sequence)
}

// TestBatchLargeWindow: a window larger than one write goes out in several
// writes of at most sendChunk bytes, still with one acknowledgement.
func TestBatchLargeWindow(t *testing.T) {
	f := failing(t, map[int]unix.Errno{maxWindow - 1: unix.EEXIST})
	c := f.client()
	c.window = maxWindow
	b := c.NewBatch()
	for i := range maxWindow + 10 {
		b.AddDestination(tcp4, destN(i))
	}
	results, err := b.Send()
	require.NoError(t, err)
	require.ErrorIs(t, results[maxWindow-1], ErrDestinationExists)
	acks := 0
	for _, r := range f.requests {
		if r.Header.Flags&netlink.Acknowledge != 0 {
			acks++
		}
	}
	require.Equal(t, 2, acks)
	require.Greater(t, len(f.writes), 3)
	total := 0
	for _, w := range f.writes[1:] {
		require.LessOrEqual(t, w.size, sendChunk)
		total += w.requests
	}
	require.Equal(t, maxWindow+10, total)
}

// TestBatchAnswers covers the acknowledgement stream's odd cases: answers
// packed into one datagram, out of order, interleaved with stale and
// foreign messages, and malformed.
func TestBatchAnswers(t *testing.T) {
	f := newFakeKernel(t, nil)
	var pending []netlink.Message
	f.serve = func(_ genetlink.Message, nreq netlink.Message) []netlink.Message {
		pending = append(pending, nreq)
		if nreq.Header.Flags&netlink.Acknowledge == 0 {
			return nil
		}
		// The whole window's answers come with the last request.
		reqs := pending
		pending = nil
		stale := cappedAck(t, reqs[0], unix.EINVAL)
		stale.Header.Sequence = reqs[0].Header.Sequence - 1
		notErr := netlink.Message{Header: netlink.Header{Type: netlink.Noop, Sequence: reqs[2].Header.Sequence}}
		bad := netlink.Message{Header: netlink.Header{Type: netlink.Error, Sequence: reqs[3].Header.Sequence}, Data: []byte{1}}
		return []netlink.Message{
			stale, notErr,
			cappedAck(t, reqs[2], unix.ENOENT), bad, cappedAck(t, reqs[1], unix.EEXIST),
			cappedAck(t, reqs[4], 0),
		}
	}
	f.datagram = 1 << 16
	c := f.client()
	b := c.NewBatch()
	for i := range 5 {
		b.DeleteDestination(tcp4, destN(i))
	}
	results, err := b.Send()
	require.NoError(t, err)
	require.NoError(t, results[0])
	require.ErrorIs(t, results[1], unix.EEXIST)
	require.ErrorIs(t, results[2], ErrNoDestination)
	require.ErrorIs(t, results[3], errMalformed)
	require.NoError(t, results[4])
}

// TestBatchBroken: when the exchange itself fails, Send says so and every
// result not known is that failure; earlier windows keep theirs.
func TestBatchBroken(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fakeKernel)
		is    []error
	}{
		{"read fails", func(f *fakeKernel) { f.errAt, f.readErr = 4, unix.ENOBUFS }, []error{unix.ENOBUFS}},
		{"write fails", func(f *fakeKernel) { f.writeErrAt, f.writeErr = 3, unix.ECONNREFUSED }, []error{unix.ECONNREFUSED}},
		{"ack lost", func(f *fakeKernel) { f.drop = 4 }, []error{ErrTimeout, os.ErrDeadlineExceeded}},
		{"truncated frame", func(f *fakeKernel) { f.cut = 4 }, []error{errMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := failing(t, map[int]unix.Errno{0: unix.EEXIST})
			c := f.client()
			c.s.timeout = 20 * time.Millisecond
			c.window = 2
			tt.setup(f)
			b := c.NewBatch()
			for i := range 5 {
				b.AddDestination(tcp4, destN(i))
			}
			results, err := b.Send()
			for _, target := range tt.is {
				require.ErrorIs(t, err, target)
			}
			require.ErrorIs(t, results[0], ErrDestinationExists, "first window")
			require.NoError(t, results[1], "first window")
			for i := 2; i < 5; i++ {
				var e *Error
				require.ErrorAs(t, results[i], &e)
				require.Equal(t, OpAddDestination, e.Op)
				for _, target := range tt.is {
					require.ErrorIs(t, results[i], target)
				}
			}
		})
	}
}

// TestBatchDestinationsServiceCopied checks the batch's copy of the last
// service's attribute: real-server requests of the same service, of
// others, of a refused one in between, each as the client sends it.
func TestBatchDestinationsServiceCopied(t *testing.T) {
	other := rules.ServiceKey{Family: rules.IPv4, Protocol: rules.UDP, Addr: netip.AddrFrom4([4]byte{10, 0, 0, 9}), Port: 53}
	fwm := rules.ServiceKey{Family: rules.IPv6, FWMark: 7}
	bad := rules.ServiceKey{Family: rules.IPv6, Protocol: rules.TCP, Addr: netip.AddrFrom4([4]byte{10, 0, 0, 1}), Port: 80}
	v6 := rules.Destination{Addr: netip.MustParseAddr("2001:db8::5"), Port: 80, Weight: 2, Forward: rules.Tunnel}
	type call struct {
		k   rules.ServiceKey
		d   rules.Destination
		op  int // 0 add, 1 edit, 2 delete
		bad bool
	}
	calls := []call{
		{k: tcp4, d: destN(1)}, {k: tcp4, d: destN(2)}, {k: tcp4, d: destN(3), op: 1},
		{k: tcp4, d: v6, bad: true}, {k: tcp4, d: destN(4), op: 2},
		{k: bad, d: destN(5), bad: true}, {k: tcp4, d: destN(6)},
		{k: other, d: destN(7)}, {k: other, d: destN(8)}, {k: tcp4, d: destN(9)},
		{k: fwm, d: v6}, {k: fwm, d: v6, op: 2}, {k: fwm, d: destN(10), bad: true}, {k: fwm, d: v6, op: 1},
	}
	bf := failing(t, nil)
	b := bf.client().NewBatch()
	sf := failing(t, nil)
	c := sf.client()
	for _, call := range calls {
		var err error
		switch call.op {
		case 0:
			b.AddDestination(call.k, call.d)
			err = c.AddDestination(call.k, call.d)
		case 1:
			b.UpdateDestination(call.k, call.d)
			err = c.UpdateDestination(call.k, call.d)
		case 2:
			b.DeleteDestination(call.k, call.d)
			err = c.DeleteDestination(call.k, call.d)
		}
		require.Equal(t, call.bad, err != nil, "%+v: %v", call, err)
	}
	results, err := b.Send()
	require.NoError(t, err)
	require.Len(t, results, len(calls))
	require.Len(t, bf.requests, len(sf.requests))
	for i := range sf.requests {
		require.Equal(t, sf.requests[i].Data, bf.requests[i].Data, "request %d", i)
		require.Equal(t, sf.requests[i].Header.Type, bf.requests[i].Header.Type, "request %d", i)
	}
	for i, call := range calls {
		require.Equal(t, call.bad, results[i] != nil, "%+v: %v", call, results[i])
	}
}
