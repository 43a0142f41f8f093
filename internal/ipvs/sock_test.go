package ipvs

import (
	"encoding/binary"
	"testing"

	"github.com/mdlayher/netlink"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func Test_appendRequest(t *testing.T) {
	// Two requests framed back to back: each header, the genl header, the
	// attributes, and padding to four bytes.
	b := appendRequest(nil, 0x22, nlmFRequest|nlmFAck, 7, cmdFlush, nil)
	b = appendRequest(b, 0x22, nlmFRequest, 8, cmdGetInfo, []byte{5, 0, 1, 0, 9})
	require.Equal(t, []byte{
		20, 0, 0, 0, 0x22, 0, 5, 0, 7, 0, 0, 0, 0, 0, 0, 0, cmdFlush, familyVersion, 0, 0,
		25, 0, 0, 0, 0x22, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 0, cmdGetInfo, familyVersion, 0, 0,
		5, 0, 1, 0, 9, 0, 0, 0,
	}, b)

	// The library parses what we frame.
	var msgs []netlink.Message
	for len(b) > 0 {
		var m netlink.Message
		l := (binary.NativeEndian.Uint32(b) + 3) &^ 3
		require.NoError(t, m.UnmarshalBinary(b[:l]))
		msgs = append(msgs, m)
		b = b[l:]
	}
	require.Len(t, msgs, 2)
	require.Equal(t, uint32(8), msgs[1].Header.Sequence)
}

func Test_nextMessage(t *testing.T) {
	hdr := func(l uint32, typ, flags uint16, seq uint32) []byte {
		b := binary.NativeEndian.AppendUint32(nil, l)
		b = binary.NativeEndian.AppendUint16(b, typ)
		b = binary.NativeEndian.AppendUint16(b, flags)
		b = binary.NativeEndian.AppendUint32(b, seq)
		return binary.NativeEndian.AppendUint32(b, 0)
	}
	two := append(hdr(21, 0x22, 2, 5), 1, 2, 3, 4, 5, 0, 0, 0)
	two = append(two, hdr(16, nlmsgDone, 2, 5)...)
	m, rest, err := nextMessage(two)
	require.NoError(t, err)
	require.Equal(t, nlmsg{typ: 0x22, flags: 2, seq: 5, data: []byte{1, 2, 3, 4, 5}}, m)
	m, rest, err = nextMessage(rest)
	require.NoError(t, err)
	require.Equal(t, uint16(nlmsgDone), m.typ)
	require.Empty(t, rest)

	for name, b := range map[string][]byte{
		"short header":     {1, 2, 3},
		"length too small": hdr(8, 0, 0, 0),
		"length too large": hdr(40, 0, 0, 0),
	} {
		_, _, err := nextMessage(b)
		require.ErrorIs(t, err, errMalformed, name)
	}
}

func Test_parseError(t *testing.T) {
	errno := func(e int32) []byte { return binary.NativeEndian.AppendUint32(nil, uint32(e)) }
	echoed := make([]byte, nlmsgHdrLen) // a capped echo: the header only
	binary.NativeEndian.PutUint32(echoed, 40)

	ke, err := parseError(nlmsg{typ: nlmsgError, data: append(errno(0), echoed...)})
	require.NoError(t, err)
	require.Zero(t, ke.errno)

	ke, err = parseError(nlmsg{typ: nlmsgError, flags: nlmFCapped, data: append(errno(-int32(unix.ESRCH)), echoed...)})
	require.NoError(t, err)
	require.Equal(t, unix.ESRCH, ke.errno)

	// An extended ack after a capped echo carries the kernel's text.
	ae := netlink.NewAttributeEncoder()
	ae.String(nlmsgerrAttrMsg, "missing attribute")
	tlvs, err := ae.Encode()
	require.NoError(t, err)
	data := append(append(errno(-int32(unix.EINVAL)), echoed...), tlvs...)
	ke, err = parseError(nlmsg{typ: nlmsgError, flags: nlmFCapped | nlmFAckTLVs, data: data})
	require.NoError(t, err)
	require.Equal(t, kernelError{errno: unix.EINVAL, message: "missing attribute"}, ke)

	// A done message may carry an error too.
	ke, err = parseError(nlmsg{typ: nlmsgDone, data: errno(-int32(unix.EBUSY))})
	require.NoError(t, err)
	require.Equal(t, unix.EBUSY, ke.errno)

	_, err = parseError(nlmsg{typ: nlmsgError, data: []byte{1}})
	require.ErrorIs(t, err, errMalformed)
}

// FuzzWalker: the in-place attribute walker never panics and never hands
// out a payload beyond its input.
func FuzzWalker(f *testing.F) {
	f.Add([]byte{8, 0, 1, 0, 1, 2, 3, 4})
	f.Add([]byte{5, 0, 1, 0, 9, 0, 0, 0, 4, 0, 2, 0})
	f.Add([]byte{3, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		a := walker{b: b}
		total := 0
		for a.next() {
			total += len(a.val) + 4
			_ = a.u32()
			_ = a.counter()
			_ = a.str()
			n := a.nested()
			for n.next() {
			}
		}
		if total > len(b) {
			t.Fatalf("walked %d bytes of %d", total, len(b))
		}
	})
}
