package ipvs

import (
	"encoding/binary"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// A fakeKernel is a transport with a stand-in for the kernel behind it:
// it decodes every request written to it, answers family lookups itself
// and everything else through serve, and hands the answers out as
// datagrams. Tests run on one goroutine: the client calls it
// synchronously, so require may stop a test from inside serve.
type fakeKernel struct {
	t testing.TB
	// serve answers one IPVS request with whole netlink messages; a
	// message's sequence number, if zero, becomes the request's.
	serve func(greq genetlink.Message, nreq netlink.Message) []netlink.Message
	// familyErr, if set, is the controller's answer to the family lookup;
	// noFamilyID leaves the id out of it.
	familyErr  unix.Errno
	noFamilyID bool
	// datagram is the most bytes of answers to one request packed into
	// one datagram (a message never spans two); the kernel packs a dump's
	// messages up to the reader's buffer size.
	datagram int
	// readErr is returned by read number errAt (from 1) instead of a
	// datagram.
	readErr error
	errAt   int
	// writeErr fails write number writeErrAt (from 1).
	writeErr   error
	writeErrAt int
	// The answers to IPVS request number drop (from 1) are lost; those to
	// request number cut come with a first message longer than its
	// datagram.
	drop, cut int

	queue    [][]byte          // datagrams not yet read
	requests []netlink.Message // every IPVS request, in order
	writes   []fakeWrite
	reads    int
	closed   int
}

// A fakeWrite is one write: its size, its requests, and how many
// datagrams of earlier answers were still unread when it came.
type fakeWrite struct {
	size, requests, unread int
}

func newFakeKernel(t testing.TB, serve func(genetlink.Message, netlink.Message) []netlink.Message) *fakeKernel {
	return &fakeKernel{t: t, serve: serve, datagram: 512}
}

// client returns a client on f with the family resolved; its socket for
// large dumps is f as well.
func (f *fakeKernel) client() *Client {
	f.t.Helper()
	c := newClient(f, pageReadSize)
	c.s.timeout = 2 * time.Second // a test that waits in vain fails soon
	c.openBig = func() (transport, error) { return f, nil }
	require.NoError(f.t, c.resolveFamily())
	f.t.Cleanup(func() { c.Close() })
	return c
}

func (f *fakeKernel) write(b []byte) error {
	if len(f.writes)+1 == f.writeErrAt {
		f.writes = append(f.writes, fakeWrite{})
		return f.writeErr
	}
	w := fakeWrite{size: len(b), unread: len(f.queue)}
	b = slices.Clone(b) // the client reuses its buffer
	for len(b) > 0 {
		require.GreaterOrEqual(f.t, len(b), nlmsgHdrLen, "request header")
		l := min((int(binary.NativeEndian.Uint32(b))+3)&^3, len(b))
		var nreq netlink.Message
		require.NoError(f.t, nreq.UnmarshalBinary(b[:l]))
		b = b[l:]
		var greq genetlink.Message
		require.NoError(f.t, greq.UnmarshalBinary(nreq.Data))
		w.requests++

		var out []netlink.Message
		if nreq.Header.Type == unix.GENL_ID_CTRL {
			out = f.family(greq, nreq)
		} else {
			f.requests = append(f.requests, nreq)
			out = f.serve(greq, nreq)
			if len(f.requests) == f.drop {
				out = nil
			}
		}
		f.enqueue(nreq, out)
	}
	f.writes = append(f.writes, w)
	return nil
}

// family answers CTRL_CMD_GETFAMILY for "IPVS".
func (f *fakeKernel) family(greq genetlink.Message, nreq netlink.Message) []netlink.Message {
	require.Equal(f.t, uint8(unix.CTRL_CMD_GETFAMILY), greq.Header.Command)
	require.Equal(f.t, netlink.Request, nreq.Header.Flags)
	require.Equal(f.t, attrs(f.t, func(ae *netlink.AttributeEncoder) {
		ae.String(unix.CTRL_ATTR_FAMILY_NAME, "IPVS")
	}), greq.Data)
	if f.familyErr != 0 {
		return []netlink.Message{nlAck(f.t, nreq, f.familyErr)}
	}
	m := reply(f.t, unix.CTRL_CMD_NEWFAMILY, func(ae *netlink.AttributeEncoder) {
		ae.String(unix.CTRL_ATTR_FAMILY_NAME, "IPVS")
		if !f.noFamilyID {
			ae.Uint16(unix.CTRL_ATTR_FAMILY_ID, uint16(testFamily.ID))
		}
		ae.Uint32(unix.CTRL_ATTR_VERSION, 1)
	})
	b, err := m.MarshalBinary()
	require.NoError(f.t, err)
	return []netlink.Message{{Header: netlink.Header{Type: unix.GENL_ID_CTRL}, Data: b}}
}

// frame is m on the wire as the kernel writes it: the length without the
// padding that follows.
func frame(m netlink.Message) []byte {
	b := binary.NativeEndian.AppendUint32(nil, uint32(nlmsgHdrLen+len(m.Data)))
	b = binary.NativeEndian.AppendUint16(b, uint16(m.Header.Type))
	b = binary.NativeEndian.AppendUint16(b, uint16(m.Header.Flags))
	b = binary.NativeEndian.AppendUint32(b, m.Header.Sequence)
	b = binary.NativeEndian.AppendUint32(b, m.Header.PID)
	b = append(b, m.Data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// enqueue frames the answers to nreq into datagrams.
func (f *fakeKernel) enqueue(nreq netlink.Message, out []netlink.Message) {
	var dgram []byte
	for _, m := range out {
		if m.Header.Sequence == 0 {
			m.Header.Sequence = nreq.Header.Sequence
		}
		b := frame(m)
		if len(dgram) > 0 && len(dgram)+len(b) > f.datagram {
			f.queue = append(f.queue, dgram)
			dgram = nil
		}
		dgram = append(dgram, b...)
	}
	if len(dgram) > 0 {
		f.queue = append(f.queue, dgram)
	}
	if len(out) > 0 && nreq.Header.Type != unix.GENL_ID_CTRL && len(f.requests) == f.cut {
		d := f.queue[len(f.queue)-1]
		binary.NativeEndian.PutUint32(d, uint32(len(d)+4))
	}
}

// read hands out the next datagram. With none queued the client would wait
// for the kernel forever: the fake waits for the timeout.
func (f *fakeKernel) read(b []byte, timeout time.Duration) (int, bool, error) {
	f.reads++
	if f.reads == f.errAt {
		return 0, false, f.readErr
	}
	if len(f.queue) == 0 {
		time.Sleep(timeout)
		return 0, false, os.ErrDeadlineExceeded
	}
	d := f.queue[0]
	f.queue = f.queue[1:]
	return copy(b, d), len(d) > len(b), nil
}

func (f *fakeKernel) close() error {
	f.closed++
	return nil
}
