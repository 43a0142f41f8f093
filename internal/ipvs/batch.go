package ipvs

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// A Batch queues changes and sends them to the kernel together: many
// requests per write on the client's socket, the kernel answering only the
// failures and the last request of each window, and a result for every
// request. The kernel applies each request
// on its own, in order; there is no transaction, so a failed request
// leaves the others applied.
//
// A Batch is not safe for concurrent use.
type Batch struct {
	c    *Client
	reqs []batchRequest
	buf  []byte // every request's attributes, back to back
	// enc appends to buf; a field, not a local, so that handing it to an
	// encoder does not allocate.
	enc attrEncoder
	// svcKey is the service of the last real-server request and svcAttr
	// its encoded service attribute (nil: none yet): a restore names one
	// service on many lines in a row.
	svcKey  rules.ServiceKey
	svcAttr []byte
}

type batchRequest struct {
	op       Op
	cmd      uint8
	from, to int   // the attributes, in buf
	err      error // a local encoding failure: the request is not sent
}

// NewBatch returns an empty batch.
func (c *Client) NewBatch() *Batch { return &Batch{c: c} }

// Len is the number of queued requests.
func (b *Batch) Len() int { return len(b.reqs) }

// Buffer sizes of a bulk batch (a restore), reserved once it has
// bulkRequests requests: growing in steps would copy, and clear, the
// buffer over and over.
const (
	bulkRequests = 64
	bulkBuffer   = 1 << 20
)

// start prepares the queueing of a request, whose attributes the caller
// then appends with b.enc, and returns where they start in buf.
func (b *Batch) start() int {
	if len(b.reqs) == bulkRequests && cap(b.buf) < bulkBuffer {
		b.buf = slices.Grow(b.buf, bulkBuffer-len(b.buf))
		b.reqs = slices.Grow(b.reqs, maxWindow)
	}
	b.enc.b = b.buf
	return len(b.buf)
}

// add queues the request whose attributes b.enc holds from from on;
// err is an encoding failure, which drops them.
func (b *Batch) add(op Op, cmd uint8, from int, err error) {
	r := batchRequest{op: op, cmd: cmd, from: from}
	if err != nil {
		r.err = &Error{Op: op, Err: err}
	} else {
		b.buf = b.enc.b
	}
	b.enc.b = nil
	r.to = len(b.buf)
	b.reqs = append(b.reqs, r)
}

// queue queues a request whose attributes enc writes (nil: none).
func (b *Batch) queue(op Op, cmd uint8, enc encoder) {
	from := b.start()
	var err error
	if enc != nil {
		err = enc(&b.enc)
	}
	b.add(op, cmd, from, err)
}

// The methods of a restore's bulk, services and real servers, encode
// directly rather than through an encoder closure.

// AddService queues Client.AddService.
func (b *Batch) AddService(s rules.Service) {
	from := b.start()
	b.add(OpAddService, cmdNewService, from, encodeService(&b.enc, &s))
}

// UpdateService queues Client.UpdateService.
func (b *Batch) UpdateService(s rules.Service) {
	from := b.start()
	b.add(OpUpdateService, cmdSetService, from, encodeService(&b.enc, &s))
}

// DeleteService queues Client.DeleteService.
func (b *Batch) DeleteService(k rules.ServiceKey) {
	b.queue(OpDeleteService, cmdDelService, encodeServiceKeyAttr(k))
}

// AddDestination queues Client.AddDestination.
func (b *Batch) AddDestination(k rules.ServiceKey, d rules.Destination) {
	b.queueDestination(OpAddDestination, cmdNewDest, &k, &d, true)
}

// AddDestinationRef is AddDestination with its arguments by reference,
// which b does not keep: a restore queues tens of thousands of real
// servers, and copying each into the call was a part of its work.
func (b *Batch) AddDestinationRef(k *rules.ServiceKey, d *rules.Destination) {
	b.queueDestination(OpAddDestination, cmdNewDest, k, d, true)
}

// UpdateDestination queues Client.UpdateDestination.
func (b *Batch) UpdateDestination(k rules.ServiceKey, d rules.Destination) {
	b.queueDestination(OpUpdateDestination, cmdSetDest, &k, &d, true)
}

// DeleteDestination queues Client.DeleteDestination.
func (b *Batch) DeleteDestination(k rules.ServiceKey, d rules.Destination) {
	b.queueDestination(OpDeleteDestination, cmdDelDest, &k, &d, false)
}

// queueDestination queues a real-server request as encodeDestination
// writes it, with the service attribute copied when the service is the
// last one's.
func (b *Batch) queueDestination(op Op, cmd uint8, k *rules.ServiceKey, d *rules.Destination, full bool) {
	from := b.start()
	if b.svcAttr == nil || *k != b.svcKey {
		err := encodeDestination(&b.enc, k, d, full)
		if err == nil {
			// The service attribute comes first: keep it.
			n := binary.NativeEndian.Uint16(b.enc.b[from:])
			b.svcKey, b.svcAttr = *k, append(b.svcAttr[:0], b.enc.b[from:from+int(n)]...)
		}
		b.add(op, cmd, from, err)
		return
	}
	err := checkDestAddr(k, d)
	if err == nil {
		b.enc.b = append(b.enc.b, b.svcAttr...)
		err = encodeDestinationAttr(&b.enc, k, d, full)
	}
	b.add(op, cmd, from, err)
}

// ZeroAll queues Client.ZeroAll.
func (b *Batch) ZeroAll() { b.queue(OpZero, cmdZero, nil) }

// ZeroService queues Client.ZeroService.
func (b *Batch) ZeroService(k rules.ServiceKey) {
	b.queue(OpZero, cmdZero, encodeServiceKeyAttr(k))
}

// Flush queues Client.Flush.
func (b *Batch) Flush() { b.queue(OpFlush, cmdFlush, nil) }

// SetTimeouts queues Client.SetTimeouts.
func (b *Batch) SetTimeouts(t rules.Timeouts) {
	b.queue(OpSetTimeouts, cmdSetConfig, encodeTimeouts(t))
}

// StartDaemon queues Client.StartDaemon.
func (b *Batch) StartDaemon(d rules.Daemon) {
	b.queue(OpStartDaemon, cmdNewDaemon, encodeDaemonAttr(d))
}

// StopDaemon queues Client.StopDaemon.
func (b *Batch) StopDaemon(s rules.SyncState) {
	b.queue(OpStopDaemon, cmdDelDaemon, encodeDaemonStopAttr(s))
}

// Send sends every queued request and empties the batch. It returns one
// result per request, in queue order: nil, or an *Error like the one the
// single-request method would have returned. The second result is set
// when the exchange itself broke (the socket failed, or acknowledgements
// went missing); results not known then are set to that error too.
func (b *Batch) Send() ([]error, error) {
	reqs, buf := b.reqs, b.buf
	// The batch keeps its buffers for the next round: a restore sends
	// thousands of lines through one batch.
	defer func() { b.reqs, b.buf = reqs[:0], buf[:0] }()
	results := make([]error, len(reqs))
	var fatal error
	for start := 0; start < len(reqs); {
		n, err := b.c.sendWindow(reqs[start:], buf, results[start:])
		if err != nil {
			fatal = err
			for i := start; i < len(reqs); i++ {
				if results[i] == nil {
					results[i] = &Error{Op: reqs[i].op, Err: err}
				}
			}
			break
		}
		start += n
	}
	return results, fatal
}

// Limits of a batch's window of requests in flight.
const (
	minWindow = 64
	maxWindow = 4096
	// ackCost is a generous estimate of the receive-buffer memory one
	// reply takes (its socket buffer's true size), so that a window whose
	// every request fails never overruns the buffer: an overrun drops
	// replies and loses their results.
	ackCost = 2048
	// sendChunk caps the bytes of one write, well under the kernel's
	// socket send buffer limit for a single netlink message batch.
	sendChunk = 64 << 10
	// wantReadBuffer is the receive buffer a client asks for.
	wantReadBuffer = 8 << 20
)

// windowFor sizes the window to a receive buffer of size bytes.
func windowFor(size int) int {
	return min(max(size/ackCost, minWindow), maxWindow)
}

// sendWindow sends up to one window of reqs (attributes in buf), gathers
// their results, and returns how many requests it handled.
//
// Only the window's last request asks for an acknowledgement: the kernel
// answers the others only when they fail, and handles a socket's requests
// in order, so the last one's answer closes the window. This spares a
// reply, and reading it, for every request that succeeds.
func (c *Client) sendWindow(reqs []batchRequest, buf []byte, results []error) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := min(len(reqs), c.window)
	last := -1
	for i := n - 1; i >= 0; i-- {
		if reqs[i].err == nil {
			last = i
			break
		}
	}
	for i := 0; i < n; i++ {
		if reqs[i].err != nil {
			results[i] = reqs[i].err
		}
	}
	if last < 0 {
		return n, nil
	}
	s := c.s
	// The window's requests get consecutive sequence numbers from first;
	// sent maps seq-first back to the request, for failures.
	if s.seq > math.MaxUint32-uint32(n) {
		s.seq = 0
	}
	first := s.seq + 1
	sent := s.sent[:0]
	if cap(s.wbuf) < sendChunk {
		s.wbuf = make([]byte, 0, sendChunk)
	}
	s.wbuf = s.wbuf[:0]
	var barrier uint32
	for i := 0; i <= last; i++ {
		r := reqs[i]
		if r.err != nil {
			continue
		}
		data := buf[r.from:r.to]
		if len(s.wbuf)+requestOverhead+len(data) > sendChunk && len(s.wbuf) > 0 {
			if err := s.write(s.wbuf); err != nil {
				return 0, err
			}
			s.wbuf = s.wbuf[:0]
		}
		seq := s.nextSeq()
		sent = append(sent, i)
		flags := uint16(nlmFRequest)
		if i == last {
			flags |= nlmFAck
			barrier = seq
		}
		s.wbuf = appendRequest(s.wbuf, c.family, flags, seq, r.cmd, data)
	}
	s.sent = sent
	if err := s.write(s.wbuf); err != nil {
		return 0, err
	}
	for {
		b, err := s.read()
		if err != nil {
			return 0, fmt.Errorf("reading acknowledgements: %w", err)
		}
		for len(b) > 0 {
			var m nlmsg
			if m, b, err = nextMessage(b); err != nil {
				return 0, err
			}
			off := m.seq - first
			if off >= uint32(len(sent)) || m.typ != nlmsgError {
				continue
			}
			i := sent[off]
			ke, err := parseError(m)
			switch {
			case err != nil:
				results[i] = &Error{Op: reqs[i].op, Err: err}
			case ke.errno != 0:
				results[i] = &Error{Op: reqs[i].op, Err: ke.errno, Message: ke.message}
			}
			if m.seq == barrier {
				return n, nil
			}
		}
	}
}
