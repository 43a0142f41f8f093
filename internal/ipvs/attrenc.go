package ipvs

import (
	"encoding/binary"
	"errors"
	"slices"
)

// An attrEncoder appends netlink attributes to a buffer. Requests are
// encoded straight into the buffer they are sent from, so a batch of
// thousands of requests allocates a few buffers, not thousands.
type attrEncoder struct {
	b []byte
}

// nlaNested marks an attribute whose payload is attributes (NLA_F_NESTED;
// IPVS accepts it with or without).
const nlaNested = 0x8000

var errAttrTooLong = errors.New("attribute longer than 65535 bytes")

func (e *attrEncoder) header(typ uint16, n int) {
	e.b = binary.NativeEndian.AppendUint16(e.b, uint16(4+n))
	e.b = binary.NativeEndian.AppendUint16(e.b, typ)
}

// put appends an attribute of an n-byte payload, padding included, and
// returns the payload for the caller to fill: one bounds check per
// attribute rather than one per byte.
func (e *attrEncoder) put(typ uint16, n int) []byte {
	size := 4 + n
	aligned := (size + 3) &^ 3
	start := len(e.b)
	e.b = slices.Grow(e.b, aligned)[:start+aligned]
	a := e.b[start : start+aligned]
	binary.NativeEndian.PutUint16(a, uint16(size))
	binary.NativeEndian.PutUint16(a[2:], typ)
	clear(a[size:]) // the buffer is reused: padding must be written
	return a[4:size]
}

// bytes appends an attribute with payload v.
func (e *attrEncoder) bytes(typ uint16, v []byte) { copy(e.put(typ, len(v)), v) }

// The fixed-size attributes, the most of a request, are appended in
// place rather than through put: each is small enough to inline, and a
// restore encodes hundreds of thousands of them. Each takes 8 bytes, its
// payload padded.

func (e *attrEncoder) u8(typ uint16, v uint8) {
	e.header(typ, 1)
	e.b = append(e.b, v, 0, 0, 0)
}

func (e *attrEncoder) u16(typ uint16, v uint16) {
	e.header(typ, 2)
	e.b = append(binary.NativeEndian.AppendUint16(e.b, v), 0, 0)
}

// be16 appends a u16 in network order: the ports.
func (e *attrEncoder) be16(typ uint16, v uint16) {
	e.header(typ, 2)
	e.b = append(binary.BigEndian.AppendUint16(e.b, v), 0, 0)
}

func (e *attrEncoder) u32(typ uint16, v uint32) {
	e.header(typ, 4)
	e.b = binary.NativeEndian.AppendUint32(e.b, v)
}

// be32 appends a u32 in network order: the IPv4 netmask.
func (e *attrEncoder) be32(typ uint16, v uint32) {
	e.header(typ, 4)
	e.b = binary.BigEndian.AppendUint32(e.b, v)
}

// str appends a NUL-terminated string.
func (e *attrEncoder) str(typ uint16, s string) {
	a := e.put(typ, len(s)+1)
	a[copy(a, s)] = 0
}

// nested appends an attribute whose payload fn writes.
func (e *attrEncoder) nested(typ uint16, fn func(*attrEncoder) error) error {
	start := e.begin(typ)
	if err := fn(e); err != nil {
		return err
	}
	return e.end(start)
}

// begin starts a nested attribute, whose payload the caller appends and
// end closes; it returns where the attribute starts. nested is the same
// with a function; begin and end spare a restore's tens of thousands of
// requests the closures.
func (e *attrEncoder) begin(typ uint16) int {
	start := len(e.b)
	e.header(typ|nlaNested, 0)
	return start
}

// end sets the length of the nested attribute that begin started at start.
func (e *attrEncoder) end(start int) error {
	n := len(e.b) - start
	if n > 0xffff {
		return errAttrTooLong
	}
	binary.NativeEndian.PutUint16(e.b[start:], uint16(n))
	return nil
}
