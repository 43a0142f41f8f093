package ipvs

import (
	"errors"
	"fmt"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// A Batch queues changes and sends them to the kernel together: many
// requests per write on the client's socket, acknowledgements read in
// bulk, and a result for every request. The kernel applies each request
// on its own, in order; there is no transaction, so a failed request
// leaves the others applied.
//
// A Batch is not safe for concurrent use.
type Batch struct {
	c    *Client
	reqs []batchRequest
}

type batchRequest struct {
	op   Op
	cmd  uint8
	data []byte
	err  error // a local encoding failure: the request is not sent
}

// NewBatch returns an empty batch.
func (c *Client) NewBatch() *Batch { return &Batch{c: c} }

// Len is the number of queued requests.
func (b *Batch) Len() int { return len(b.reqs) }

func (b *Batch) queue(op Op, cmd uint8, enc encoder) {
	r := batchRequest{op: op, cmd: cmd}
	if enc != nil {
		ae := netlink.NewAttributeEncoder()
		if err := enc(ae); err != nil {
			r.err = &Error{Op: op, Err: err}
		} else if r.data, err = ae.Encode(); err != nil {
			r.err = &Error{Op: op, Err: err}
		}
	}
	b.reqs = append(b.reqs, r)
}

// AddService queues Client.AddService.
func (b *Batch) AddService(s rules.Service) {
	b.queue(OpAddService, cmdNewService, encodeServiceAttr(s))
}

// UpdateService queues Client.UpdateService.
func (b *Batch) UpdateService(s rules.Service) {
	b.queue(OpUpdateService, cmdSetService, encodeServiceAttr(s))
}

// DeleteService queues Client.DeleteService.
func (b *Batch) DeleteService(k rules.ServiceKey) {
	b.queue(OpDeleteService, cmdDelService, encodeServiceKeyAttr(k))
}

// AddDestination queues Client.AddDestination.
func (b *Batch) AddDestination(k rules.ServiceKey, d rules.Destination) {
	b.queue(OpAddDestination, cmdNewDest, encodeDestinationAttrs(k, d, true))
}

// UpdateDestination queues Client.UpdateDestination.
func (b *Batch) UpdateDestination(k rules.ServiceKey, d rules.Destination) {
	b.queue(OpUpdateDestination, cmdSetDest, encodeDestinationAttrs(k, d, true))
}

// DeleteDestination queues Client.DeleteDestination.
func (b *Batch) DeleteDestination(k rules.ServiceKey, d rules.Destination) {
	b.queue(OpDeleteDestination, cmdDelDest, encodeDestinationAttrs(k, d, false))
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
	reqs := b.reqs
	b.reqs = nil
	results := make([]error, len(reqs))
	var fatal error
	for start := 0; start < len(reqs); {
		n, err := b.c.sendWindow(reqs[start:], results[start:])
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
	// acknowledgement takes (its socket buffer's true size), so that a
	// full window of acknowledgements never overruns the buffer: an
	// overrun drops acknowledgements and loses their results.
	ackCost = 2048
	// sendChunk caps the bytes of one write, well under the kernel's
	// socket send buffer limit for a single netlink message batch.
	sendChunk = 64 << 10
	// wantReadBuffer is the receive buffer a client asks for.
	wantReadBuffer = 8 << 20
)

// windowFor sizes the window from the socket's receive buffer, raising the
// buffer first where the caller may (SO_RCVBUFFORCE needs CAP_NET_ADMIN,
// which IPVS requires anyway).
func windowFor(nl *netlink.Conn) int {
	rc, err := nl.SyscallConn()
	if err != nil {
		return minWindow
	}
	size := 0
	rc.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, wantReadBuffer) != nil {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, wantReadBuffer)
		}
		size, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	})
	w := size / ackCost
	return min(max(w, minWindow), maxWindow)
}

// sendWindow sends up to one window of reqs, reads their acknowledgements
// into results, and returns how many requests it handled.
func (c *Client) sendWindow(reqs []batchRequest, results []error) (int, error) {
	n := min(len(reqs), c.window)
	pending := make(map[uint32]int, n) // sequence → index
	var (
		msgs   []netlink.Message
		msgIdx []int // msgs[i] is request msgIdx[i]
		size   int
	)
	flush := func() error {
		if len(msgs) == 0 {
			return nil
		}
		sent, err := c.sendAll(msgs)
		if err != nil {
			return err
		}
		for i, m := range sent {
			pending[m.Header.Sequence] = msgIdx[i]
		}
		msgs, msgIdx, size = msgs[:0], msgIdx[:0], 0
		return nil
	}
	for i := 0; i < n; i++ {
		r := reqs[i]
		if r.err != nil {
			results[i] = r.err
			continue
		}
		m := netlink.Message{
			Header: netlink.Header{
				Type:  netlink.HeaderType(c.family),
				Flags: netlink.Request | netlink.Acknowledge,
			},
			Data: append([]byte{r.cmd, familyVersion, 0, 0}, r.data...),
		}
		if size+len(m.Data)+16 > sendChunk {
			if err := flush(); err != nil {
				return 0, err
			}
		}
		msgs = append(msgs, m)
		msgIdx = append(msgIdx, i)
		size += len(m.Data) + 16
	}
	if err := flush(); err != nil {
		return 0, err
	}
	for len(pending) > 0 {
		_, raw, err := c.conn.Receive()
		if err != nil {
			var oe *netlink.OpError
			if errors.As(err, &oe) {
				if i, ok := pending[oe.Sequence]; ok && oe.Sequence != 0 {
					results[i] = newError(reqs[i].op, err)
					delete(pending, oe.Sequence)
					continue
				}
			}
			return 0, fmt.Errorf("reading acknowledgements: %w", err)
		}
		for _, m := range raw {
			if m.Header.Type != netlink.Error {
				continue
			}
			if i, ok := pending[m.Header.Sequence]; ok {
				results[i] = nil
				delete(pending, m.Header.Sequence)
			}
		}
	}
	return n, nil
}

// sendAll writes msgs in one system call where the socket allows it.
func (c *Client) sendAll(msgs []netlink.Message) ([]netlink.Message, error) {
	if c.nl != nil {
		return c.nl.SendMessages(msgs)
	}
	sent := make([]netlink.Message, len(msgs))
	for i, m := range msgs {
		gm := genetlink.Message{
			Header: genetlink.Header{Command: m.Data[0], Version: m.Data[1]},
			Data:   m.Data[4:],
		}
		s, err := c.conn.Send(gm, c.family, m.Header.Flags)
		if err != nil {
			return nil, err
		}
		sent[i] = s
	}
	return sent, nil
}
