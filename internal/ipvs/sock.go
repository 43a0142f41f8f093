package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// sock is the client's I/O on one netlink socket: requests are framed
// into one reusable buffer and replies are parsed in place in another.
// The datagrams themselves go through a transport: the socket in
// production, a fake kernel in tests.
type sock struct {
	t    transport
	seq  uint32
	rbuf []byte
	wbuf []byte
	ae   attrEncoder // frames each request's attributes into wbuf
	sent []int       // a batch window's request indexes, by sequence offset
	// timeout bounds each wait for a reply, so that a lost reply fails
	// the exchange instead of blocking it forever. It is per read: a dump
	// that keeps delivering never times out.
	timeout time.Duration
}

// readTimeout is how long a client waits for the next reply: far longer
// than the kernel takes for any IPVS request, even a flush of a large
// table.
const readTimeout = 30 * time.Second

// newSock reads at most readSize bytes at a time.
func newSock(t transport, readSize int) *sock {
	return &sock{t: t, rbuf: make([]byte, readSize), timeout: readTimeout}
}

// Netlink message types and flags used here (linux/netlink.h).
const (
	nlmsgNoop    = 0x1
	nlmsgError   = 0x2
	nlmsgDone    = 0x3
	nlmsgOverrun = 0x4

	nlmFRequest  = 0x1
	nlmFMulti    = 0x2
	nlmFAck      = 0x4
	nlmFDumpIntr = 0x10
	nlmFDump     = 0x300
	nlmFCapped   = 0x100 // in an error: the request was not echoed
	nlmFAckTLVs  = 0x200 // in an error: extended-ack attributes follow

	nlmsgHdrLen     = 16
	nlmsgerrAttrMsg = 1
	genlHdrLen      = 4
	nlmsgAlignTo    = 4
	requestOverhead = nlmsgHdrLen + genlHdrLen
)

func (s *sock) nextSeq() uint32 {
	s.seq++
	if s.seq == 0 {
		s.seq = 1
	}
	return s.seq
}

// appendRequest frames one generic-netlink request onto dst. The port id
// is left 0: the kernel knows the sender.
func appendRequest(dst []byte, family, flags uint16, seq uint32, cmd uint8, attrs []byte) []byte {
	l := requestOverhead + len(attrs)
	dst = binary.NativeEndian.AppendUint32(dst, uint32(l))
	dst = binary.NativeEndian.AppendUint16(dst, family)
	dst = binary.NativeEndian.AppendUint16(dst, flags)
	dst = binary.NativeEndian.AppendUint32(dst, seq)
	dst = binary.NativeEndian.AppendUint32(dst, 0)
	dst = append(dst, cmd, familyVersion, 0, 0)
	dst = append(dst, attrs...)
	for len(dst)%nlmsgAlignTo != 0 {
		dst = append(dst, 0)
	}
	return dst
}

// frameRequest frames one request onto dst, its attributes written in
// place by enc (nil: none) through ae: no attribute block is built and
// copied. ae is the caller's, so that a listing's thousands of requests
// do not allocate one each.
func frameRequest(ae *attrEncoder, dst []byte, family, flags uint16, seq uint32, cmd uint8, enc encoder) ([]byte, error) {
	start := len(dst)
	dst = appendRequest(dst, family, flags, seq, cmd, nil)
	if enc == nil {
		return dst, nil
	}
	ae.b = dst
	err := enc(ae)
	b := ae.b
	ae.b = nil
	if err != nil {
		return dst[:start], err
	}
	// Attributes are padded to 4 bytes: the message needs no more.
	binary.NativeEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b, nil
}

// write sends b, one or more framed requests, in one datagram.
func (s *sock) write(b []byte) error { return s.t.write(b) }

// read receives one datagram into the receive buffer; the result is valid
// until the next read.
func (s *sock) read() ([]byte, error) {
	n, truncated, err := s.t.read(s.rbuf, s.timeout)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, timeoutError{s.timeout}
	}
	if err != nil {
		return nil, err
	}
	if truncated {
		return nil, fmt.Errorf("%w: datagram larger than %d bytes", errMalformed, len(s.rbuf))
	}
	return s.rbuf[:n], nil
}

// An nlmsg is one netlink message of a received datagram, in place.
type nlmsg struct {
	typ   uint16
	flags uint16
	seq   uint32
	data  []byte
}

// nextMessage splits the first message off b.
func nextMessage(b []byte) (m nlmsg, rest []byte, err error) {
	if len(b) < nlmsgHdrLen {
		return m, nil, fmt.Errorf("%w: %d-byte message header", errMalformed, len(b))
	}
	l := int(binary.NativeEndian.Uint32(b))
	if l < nlmsgHdrLen || l > len(b) {
		return m, nil, fmt.Errorf("%w: message length %d of %d bytes", errMalformed, l, len(b))
	}
	m = nlmsg{
		typ:   binary.NativeEndian.Uint16(b[4:]),
		flags: binary.NativeEndian.Uint16(b[6:]),
		seq:   binary.NativeEndian.Uint32(b[8:]),
		data:  b[nlmsgHdrLen:l],
	}
	return m, b[min((l+nlmsgAlignTo-1)&^(nlmsgAlignTo-1), len(b)):], nil
}

// A kernelError is an error acknowledgement: the errno and, with extended
// acks, the kernel's text.
type kernelError struct {
	errno   unix.Errno
	message string
}

// parseError decodes the payload of an NLMSG_ERROR (or an NLMSG_DONE
// carrying an error); a zero errno is a success acknowledgement.
func parseError(m nlmsg) (kernelError, error) {
	if len(m.data) < 4 {
		return kernelError{}, fmt.Errorf("%w: %d-byte error message", errMalformed, len(m.data))
	}
	ke := kernelError{errno: unix.Errno(-int32(binary.NativeEndian.Uint32(m.data)))}
	if ke.errno == 0 || m.typ != nlmsgError || m.flags&nlmFAckTLVs == 0 {
		return ke, nil
	}
	// The echoed request (only its header when capped) precedes the
	// extended-ack attributes.
	off := 4 + nlmsgHdrLen
	if m.flags&nlmFCapped == 0 && len(m.data) >= off {
		off = 4 + int(binary.NativeEndian.Uint32(m.data[4:]))
	}
	if off > len(m.data) {
		return ke, nil
	}
	a := walker{b: m.data[off:]}
	for a.next() {
		if a.typ == nlmsgerrAttrMsg {
			ke.message = a.str()
		}
	}
	return ke, nil
}

// errOverrun reports an NLMSG_OVERRUN, which the kernel sends when
// replies were dropped.
var errOverrun = errors.New("netlink overrun: replies were lost")
