package ipvs

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// A walker walks netlink attributes in place, without copying: replies are
// decoded straight from the receive buffer (a large listing decodes
// hundreds of thousands of attributes). Every length is checked; a
// malformed attribute stops the walk with an error.
type walker struct {
	b   []byte
	typ uint16 // type of the current attribute, flags masked off
	val []byte // payload of the current attribute
	err error
}

// nlaTypeMask strips NLA_F_NESTED and NLA_F_NET_BYTEORDER.
const nlaTypeMask = 0x3fff

// next moves to the next attribute. It is small enough to inline, which
// a listing with counters needs (some thirty attributes per real server;
// in the test VM the calls took a third of the decoding's time): an error
// empties b (see stop), so that only b's length is checked, and a
// truncated attribute is one fixed error.
func (a *walker) next() bool {
	b := a.b
	if len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		if l >= 4 && l <= len(b) {
			a.typ = binary.NativeEndian.Uint16(b[2:]) & nlaTypeMask
			a.val = b[4:l]
			a.b = b[min((l+3)&^3, len(b)):]
			return true
		}
	}
	if len(b) != 0 {
		// The first error: a walk that failed has an empty b.
		a.err, a.b = errTruncatedAttr, nil
	}
	return false
}

// errTruncatedAttr is an attribute whose header or payload is cut off.
var errTruncatedAttr = fmt.Errorf("%w: truncated attribute", errMalformed)

// stop ends the walk with err unless it failed already: next then
// reports no more attributes.
func (a *walker) stop(err error) {
	if a.err == nil {
		a.err = err
	}
	a.b = nil
}

// fail records a malformed current attribute.
func (a *walker) fail(what string) {
	if a.err == nil {
		a.stop(fmt.Errorf("%w: %s of %d bytes in attribute %d", errMalformed, what, len(a.val), a.typ))
	}
}

func (a *walker) u8() uint8 {
	if len(a.val) != 1 {
		a.fail("u8")
		return 0
	}
	return a.val[0]
}

func (a *walker) u16() uint16 {
	if len(a.val) != 2 {
		a.fail("u16")
		return 0
	}
	return binary.NativeEndian.Uint16(a.val)
}

// be16 reads a big-endian (network order) u16: the ports.
func (a *walker) be16() uint16 {
	if len(a.val) != 2 {
		a.fail("port")
		return 0
	}
	return binary.BigEndian.Uint16(a.val)
}

func (a *walker) u32() uint32 {
	if len(a.val) != 4 {
		a.fail("u32")
		return 0
	}
	return binary.NativeEndian.Uint32(a.val)
}

// counter reads a u32 or u64: the stats nests use both for the same ids.
func (a *walker) counter() uint64 {
	switch len(a.val) {
	case 4:
		return uint64(binary.NativeEndian.Uint32(a.val))
	case 8:
		return binary.NativeEndian.Uint64(a.val)
	}
	a.fail("counter")
	return 0
}

// str reads a NUL-terminated string.
func (a *walker) str() string { return string(a.cstr()) }

// cstr is the payload up to its first NUL.
func (a *walker) cstr() []byte {
	if i := bytes.IndexByte(a.val, 0); i >= 0 {
		return a.val[:i]
	}
	return a.val
}

// name is str for scheduler and persistence-engine names: the kernel's own
// names come back as constants, so a listing of thousands of services does
// not allocate one string each.
func (a *walker) name() string {
	v := a.cstr()
	switch string(v) { // no allocation: the compiler compares in place
	case "rr":
		return "rr"
	case "wrr":
		return "wrr"
	case "lc":
		return "lc"
	case "wlc":
		return "wlc"
	case "lblc":
		return "lblc"
	case "lblcr":
		return "lblcr"
	case "dh":
		return "dh"
	case "sh":
		return "sh"
	case "sed":
		return "sed"
	case "nq":
		return "nq"
	case "fo":
		return "fo"
	case "ovf":
		return "ovf"
	case "mh":
		return "mh"
	case "sip":
		return "sip"
	}
	return string(v)
}

// nested returns a walker over the current attribute's payload; a value,
// so that walking a nest allocates nothing.
func (a *walker) nested() walker { return walker{b: a.val} }
