package ipvs

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nlenc"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// clientMethods is every Client method with the Op its errors carry.
var clientMethods = []struct {
	name string
	op   Op
	call func(c *Client) error
}{
	{"Info", OpInfo, func(c *Client) error { _, err := c.Info(); return err }},
	{"Services", OpServices, func(c *Client) error { _, err := c.Services(); return err }},
	{"Service", OpService, func(c *Client) error { _, err := c.Service(tcp4); return err }},
	{"AddService", OpAddService, func(c *Client) error {
		return c.AddService(rules.Service{ServiceKey: tcp4, Scheduler: "wlc", Netmask: 0xffffffff})
	}},
	{"UpdateService", OpUpdateService, func(c *Client) error {
		return c.UpdateService(rules.Service{ServiceKey: fwm6, Scheduler: "rr", Netmask: 128})
	}},
	{"DeleteService", OpDeleteService, func(c *Client) error { return c.DeleteService(udp6) }},
	{"Destinations", OpDestinations, func(c *Client) error { _, err := c.Destinations(tcp4); return err }},
	{"AddDestination", OpAddDestination, func(c *Client) error {
		return c.AddDestination(tcp4, rules.Destination{Addr: tcp4.Addr, Port: 8080, Weight: 1})
	}},
	{"UpdateDestination", OpUpdateDestination, func(c *Client) error {
		return c.UpdateDestination(tcp4, rules.Destination{Addr: tcp4.Addr, Port: 8080, Weight: -1})
	}},
	{"DeleteDestination", OpDeleteDestination, func(c *Client) error {
		return c.DeleteDestination(tcp4, rules.Destination{Addr: tcp4.Addr, Port: 8080})
	}},
	{"ZeroAll", OpZero, func(c *Client) error { return c.ZeroAll() }},
	{"ZeroService", OpZero, func(c *Client) error { return c.ZeroService(sctp4) }},
	{"Flush", OpFlush, func(c *Client) error { return c.Flush() }},
	{"Timeouts", OpTimeouts, func(c *Client) error { _, err := c.Timeouts(); return err }},
	{"SetTimeouts", OpSetTimeouts, func(c *Client) error { return c.SetTimeouts(rules.Timeouts{TCP: 1}) }},
	{"Daemons", OpDaemons, func(c *Client) error { _, err := c.Daemons(); return err }},
	{"StartDaemon", OpStartDaemon, func(c *Client) error {
		return c.StartDaemon(rules.Daemon{State: rules.Master, Interface: "eth0"})
	}},
	{"StopDaemon", OpStopDaemon, func(c *Client) error { return c.StopDaemon(rules.Master) }},
}

// sentinels are all the package's sentinels, plus os.ErrPermission which
// ErrPermission promises to match as well.
var sentinels = []struct {
	name string
	err  error
}{
	{"ErrNotAvailable", ErrNotAvailable},
	{"ErrPermission", ErrPermission},
	{"os.ErrPermission", os.ErrPermission},
	{"ErrServiceExists", ErrServiceExists},
	{"ErrNoService", ErrNoService},
	{"ErrDestinationExists", ErrDestinationExists},
	{"ErrNoDestination", ErrNoDestination},
	{"ErrSchedulerNotFound", ErrSchedulerNotFound},
	{"ErrDaemonRunning", ErrDaemonRunning},
	{"ErrNoDaemon", ErrNoDaemon},
	{"ErrTimeout", ErrTimeout},
}

// TestClientErrors is the cross product of methods and errnos. The same
// errno means different things for different commands (ENOENT is a
// missing scheduler on NEW_SERVICE but a missing real server on SET_DEST,
// kernel-ipvs-reference.md §3.2), so each cell states which sentinels match.
func TestClientErrors(t *testing.T) {
	const anyOp Op = "*" // the default row of an errno
	want := map[unix.Errno]map[Op][]error{
		unix.EPERM: {anyOp: {ErrPermission, os.ErrPermission}},
		unix.ESRCH: {anyOp: {ErrNoService}, OpStopDaemon: {ErrNoDaemon}},
		unix.EEXIST: {
			OpAddService:     {ErrServiceExists},
			OpAddDestination: {ErrDestinationExists},
			OpStartDaemon:    {ErrDaemonRunning},
		},
		unix.ENOENT: {
			OpAddService:        {ErrSchedulerNotFound},
			OpUpdateService:     {ErrSchedulerNotFound},
			OpUpdateDestination: {ErrNoDestination},
			OpDeleteDestination: {ErrNoDestination},
		},
		// EINVAL, ERANGE, ENODEV and EOPNOTSUPP have no sentinel: the
		// CLI words them from the errno.
	}
	errnos := []unix.Errno{unix.EPERM, unix.ESRCH, unix.EEXIST, unix.ENOENT,
		unix.EINVAL, unix.ERANGE, unix.ENODEV, unix.EOPNOTSUPP}

	for _, m := range clientMethods {
		for _, errno := range errnos {
			t.Run(fmt.Sprintf("%s/%s", m.name, unix.ErrnoName(errno)), func(t *testing.T) {
				c := dialRaw(t, func(_ genetlink.Message, nreq netlink.Message) []netlink.Message {
					return []netlink.Message{nlAck(t, nreq, errno)}
				})
				err := m.call(c)

				require.ErrorIs(t, err, errno, "the errno stays reachable")
				require.Equal(t, errno, Errno(err))
				var e *Error
				require.ErrorAs(t, err, &e)
				require.Equal(t, m.op, e.Op)
				require.Equal(t, errno, e.Err, "the cause is the bare errno")
				require.Contains(t, err.Error(), string(m.op))

				matches, ok := want[errno][m.op]
				if !ok {
					matches = want[errno][anyOp]
				}
				for _, s := range sentinels {
					require.Equal(t, containsErr(matches, s.err), errors.Is(err, s.err), "errors.Is(err, %s)", s.name)
				}
			})
		}
	}
}

func containsErr(errs []error, target error) bool {
	for _, e := range errs {
		if e == target {
			return true
		}
	}
	return false
}

// TestClientDialErrors covers the family lookup: a kernel without IPVS
// answers CTRL_CMD_GETFAMILY with ENOENT.
func TestClientDialErrors(t *testing.T) {
	tests := []struct {
		errno unix.Errno
		is    []error
		isNot []error
	}{
		{unix.ENOENT, []error{ErrNotAvailable}, []error{ErrPermission, ErrNoService, ErrSchedulerNotFound}},
		{unix.EPERM, []error{ErrPermission, os.ErrPermission, unix.EPERM}, []error{ErrNotAvailable}},
		{unix.EINVAL, []error{unix.EINVAL}, []error{ErrNotAvailable, ErrPermission}},
	}
	for _, tt := range tests {
		t.Run(unix.ErrnoName(tt.errno), func(t *testing.T) {
			f := newFakeKernel(t, nil)
			f.familyErr = tt.errno
			c := newClient(f, pageReadSize)
			err := c.resolveFamily()
			require.Zero(t, c.family)
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, OpDial, e.Op)
			for _, target := range tt.is {
				require.ErrorIs(t, err, target)
			}
			for _, target := range tt.isNot {
				require.NotErrorIs(t, err, target)
			}
		})
	}
}

// Test_errorIs checks Error.Is on values no fake kernel produces.
func Test_errorIs(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		is   []error
		not  []error
	}{
		{"dial EPROTONOSUPPORT", &Error{Op: OpDial, Err: unix.EPROTONOSUPPORT}, []error{ErrNotAvailable}, nil},
		{"dial ENOENT", &Error{Op: OpDial, Err: unix.ENOENT}, []error{ErrNotAvailable}, nil},
		{"EACCES is permission", &Error{Op: OpFlush, Err: unix.EACCES}, []error{ErrPermission, os.ErrPermission}, nil},
		// Only a failed dial means IPVS is missing.
		{"ENOENT elsewhere", &Error{Op: OpService, Err: unix.ENOENT}, nil, []error{ErrNotAvailable}},
		{"EPROTONOSUPPORT elsewhere", &Error{Op: OpInfo, Err: unix.EPROTONOSUPPORT}, nil, []error{ErrNotAvailable}},
		{"local error", &Error{Op: OpAddService, Err: errNameTooLong},
			[]error{errNameTooLong}, []error{ErrNotAvailable, ErrPermission, ErrSchedulerNotFound}},
		{"wrapped errno", &Error{Op: OpAddService, Err: fmt.Errorf("x: %w", unix.EEXIST)},
			[]error{ErrServiceExists, unix.EEXIST}, []error{ErrDestinationExists}},
		{"missing family", &Error{Op: OpDial, Err: errFamilyMissing}, []error{ErrNotAvailable}, []error{ErrPermission}},
		{"timeout", &Error{Op: OpFlush, Err: timeoutError{time.Second}},
			[]error{ErrTimeout, os.ErrDeadlineExceeded}, []error{ErrNotAvailable, ErrPermission}},
		{"wrapped timeout", &Error{Op: OpAddService, Err: fmt.Errorf("x: %w", timeoutError{time.Second})},
			[]error{ErrTimeout}, []error{ErrServiceExists}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, target := range tt.is {
				require.ErrorIs(t, tt.err, target)
			}
			for _, target := range tt.not {
				require.NotErrorIs(t, tt.err, target)
			}
		})
	}
}

// TestClientFamilyWithoutID: a controller answer without the family id is
// malformed.
func TestClientFamilyWithoutID(t *testing.T) {
	f := newFakeKernel(t, nil)
	c := newClient(f, pageReadSize)
	c.s.timeout = 50 * time.Millisecond
	f.familyErr = 0
	f.noFamilyID = true
	err := c.resolveFamily()
	require.ErrorIs(t, err, errMalformed)
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, OpDial, e.Op)
}

func Test_errorString(t *testing.T) {
	require.Equal(t, "ipvs: add service: file exists",
		(&Error{Op: OpAddService, Err: unix.EEXIST}).Error())
	require.Equal(t, "ipvs: start daemon: invalid argument: bad group",
		(&Error{Op: OpStartDaemon, Err: unix.EINVAL, Message: "bad group"}).Error())
	require.Equal(t, "ipvs: flush: no reply from the kernel in 30s",
		(&Error{Op: OpFlush, Err: timeoutError{readTimeout}}).Error())
}

func TestErrno(t *testing.T) {
	require.Zero(t, Errno(nil))
	require.Zero(t, Errno(errors.New("x")))
	require.Equal(t, unix.ESRCH, Errno(&Error{Op: OpService, Err: unix.ESRCH}))
	require.Equal(t, unix.ENOENT, Errno(fmt.Errorf("wrapped: %w", &Error{Op: OpService, Err: unix.ENOENT})))
}

// TestClientExtendedAck checks that the kernel's extended-ack text, which
// IPVS sets for top-level policy failures, reaches Error.Message.
func TestClientExtendedAck(t *testing.T) {
	const text = "Attribute failed policy validation"
	c := dialRaw(t, func(_ genetlink.Message, nreq netlink.Message) []netlink.Message {
		// struct nlmsgerr: -errno, the whole request (not capped), then
		// the NLMSGERR_ATTR_* TLVs.
		data := append(nlenc.Int32Bytes(-int32(unix.EINVAL)), frame(nreq)...)
		data = append(data, attrs(t, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NLMSGERR_ATTR_MSG, text)
		})...)
		return []netlink.Message{{
			Header: netlink.Header{Type: netlink.Error, Flags: netlink.AcknowledgeTLVs},
			Data:   data,
		}}
	})
	err := c.SetTimeouts(rules.Timeouts{TCP: 1 << 31})
	require.ErrorIs(t, err, unix.EINVAL)
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, OpSetTimeouts, e.Op)
	require.Equal(t, text, e.Message)
	require.Equal(t, "ipvs: set timeouts: invalid argument: "+text, err.Error())
}
