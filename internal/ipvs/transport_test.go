package ipvs

import (
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The production transport on a real generic-netlink socket of the host:
// any Linux has the controller family, IPVS or not.

// hostTransport opens a generic-netlink socket or skips the test.
func hostTransport(t *testing.T) *netlinkTransport {
	t.Helper()
	nt, err := openNetlink(0)
	if err != nil {
		t.Skipf("no generic netlink socket: %v", err)
	}
	t.Cleanup(func() { nt.close() })
	return nt
}

// ctrlRequest asks the controller for the family name.
func ctrlRequest(seq uint32, name string) []byte {
	var ae attrEncoder
	ae.str(ctrlAttrFamilyName, name)
	return appendRequest(nil, unix.GENL_ID_CTRL, nlmFRequest, seq, unix.CTRL_CMD_GETFAMILY, ae.b)
}

func TestNetlinkTransport(t *testing.T) {
	nt := hostTransport(t)
	const timeout = 5 * time.Second

	// A request and its answer, a datagram that fits.
	require.NoError(t, nt.write(ctrlRequest(7, "nlctrl")))
	b := make([]byte, pageReadSize)
	n, truncated, err := nt.read(b, timeout)
	require.NoError(t, err)
	require.False(t, truncated)
	m, _, err := nextMessage(b[:n])
	require.NoError(t, err)
	require.Equal(t, uint16(unix.GENL_ID_CTRL), m.typ)
	require.Equal(t, uint32(7), m.seq)
	require.Equal(t, uint8(unix.CTRL_CMD_NEWFAMILY), m.data[0])

	// A datagram larger than the buffer arrives cut, and says so.
	require.NoError(t, nt.write(ctrlRequest(8, "nlctrl")))
	small := make([]byte, 20)
	n, truncated, err = nt.read(small, timeout)
	require.NoError(t, err)
	require.True(t, truncated)
	require.Equal(t, 20, n)
	require.Equal(t, uint32(8), binary.NativeEndian.Uint32(small[8:]))

	// Nothing to read: the timeout ends the wait, each time in full
	// (the deadline the first wait left has expired by the second).
	for range 2 {
		start := time.Now()
		_, _, err = nt.read(b, 20*time.Millisecond)
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		require.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
	}
	// A queued reply is read despite that expired deadline.
	require.NoError(t, nt.write(ctrlRequest(10, "nlctrl")))
	n, _, err = nt.read(b, timeout)
	require.NoError(t, err)
	require.Equal(t, uint32(10), binary.NativeEndian.Uint32(b[8:n]))

	// The receive buffer: root may raise it to what the client wants.
	size := nt.readBuffer()
	require.Positive(t, size)
	if os.Geteuid() == 0 {
		require.GreaterOrEqual(t, size, wantReadBuffer)
	}

	// A closed socket fails both ways.
	require.NoError(t, nt.close())
	require.Error(t, nt.write(ctrlRequest(9, "nlctrl")))
	_, _, err = nt.read(b, timeout)
	require.Error(t, err)
}

// TestNetlinkTransportUnknownFamily: a request to a family the kernel
// lacks is answered with an ENOENT acknowledgement, unasked.
func TestNetlinkTransportUnknownFamily(t *testing.T) {
	nt := hostTransport(t)
	req := appendRequest(nil, 0x7ff0, nlmFRequest, 3, 1, nil)
	require.NoError(t, nt.write(req))
	b := make([]byte, pageReadSize)
	n, _, err := nt.read(b, 5*time.Second)
	require.NoError(t, err)
	m, _, err := nextMessage(b[:n])
	require.NoError(t, err)
	ke, err := parseError(m)
	require.NoError(t, err)
	require.Equal(t, unix.ENOENT, ke.errno, "no such family")
}

// TestDialHost: on a host without IPVS, Dial fails with ErrNotAvailable;
// with IPVS it resolves the family.
func TestDialHost(t *testing.T) {
	c, err := Dial(nil)
	if err != nil {
		require.ErrorIs(t, err, ErrNotAvailable)
		return
	}
	defer c.Close()
	require.NotZero(t, c.family)
	require.GreaterOrEqual(t, c.window, minWindow)
}
