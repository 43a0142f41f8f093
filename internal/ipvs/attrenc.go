package ipvs

import (
	"encoding/binary"
	"errors"
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

func (e *attrEncoder) pad() {
	for len(e.b)%4 != 0 {
		e.b = append(e.b, 0)
	}
}

// bytes appends an attribute with payload v.
func (e *attrEncoder) bytes(typ uint16, v []byte) {
	e.header(typ, len(v))
	e.b = append(e.b, v...)
	e.pad()
}

func (e *attrEncoder) u8(typ uint16, v uint8) {
	e.header(typ, 1)
	e.b = append(e.b, v)
	e.pad()
}

func (e *attrEncoder) u16(typ uint16, v uint16) {
	e.header(typ, 2)
	e.b = binary.NativeEndian.AppendUint16(e.b, v)
	e.pad()
}

// be16 appends a u16 in network order: the ports.
func (e *attrEncoder) be16(typ uint16, v uint16) {
	e.header(typ, 2)
	e.b = binary.BigEndian.AppendUint16(e.b, v)
	e.pad()
}

func (e *attrEncoder) u32(typ uint16, v uint32) {
	e.header(typ, 4)
	e.b = binary.NativeEndian.AppendUint32(e.b, v)
	e.pad()
}

// be32 appends a u32 in network order: the IPv4 netmask.
func (e *attrEncoder) be32(typ uint16, v uint32) {
	e.header(typ, 4)
	e.b = binary.BigEndian.AppendUint32(e.b, v)
	e.pad()
}

// str appends a NUL-terminated string.
func (e *attrEncoder) str(typ uint16, s string) {
	e.header(typ, len(s)+1)
	e.b = append(e.b, s...)
	e.b = append(e.b, 0)
	e.pad()
}

// nested appends an attribute whose payload fn writes.
func (e *attrEncoder) nested(typ uint16, fn func(*attrEncoder) error) error {
	start := len(e.b)
	e.header(typ|nlaNested, 0)
	if err := fn(e); err != nil {
		return err
	}
	n := len(e.b) - start
	if n > 0xffff {
		return errAttrTooLong
	}
	binary.NativeEndian.PutUint16(e.b[start:], uint16(n))
	return nil
}
