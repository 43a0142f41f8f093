package ipvs

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// An Op names a client operation; it travels with errors because the same
// errno means different things for different operations (ENOENT is "no such
// scheduler" when adding a service but "no such destination" when editing a
// real server).
type Op string

// Operations of the client.
const (
	OpDial              Op = "dial"
	OpInfo              Op = "get info"
	OpServices          Op = "list services"
	OpService           Op = "get service"
	OpAddService        Op = "add service"
	OpUpdateService     Op = "update service"
	OpDeleteService     Op = "delete service"
	OpDestinations      Op = "list destinations"
	OpAddDestination    Op = "add destination"
	OpUpdateDestination Op = "update destination"
	OpDeleteDestination Op = "delete destination"
	OpZero              Op = "zero"
	OpFlush             Op = "flush"
	OpTimeouts          Op = "get timeouts"
	OpSetTimeouts       Op = "set timeouts"
	OpDaemons           Op = "list daemons"
	OpStartDaemon       Op = "start daemon"
	OpStopDaemon        Op = "stop daemon"
	OpConnections       Op = "open connections"
	OpSysctls           Op = "read sysctls"
	// OpEnterNetNS: entering Config.NetNS to open the socket failed
	// (setns needs CAP_SYS_ADMIN).
	OpEnterNetNS Op = "enter network namespace"
)

// Sentinels for the outcomes ipvsadm names. Match them with errors.Is; the
// underlying errno stays reachable too (errors.Is(err, unix.ESRCH)).
var (
	// ErrNotAvailable: the kernel has no IPVS family (module missing and
	// not loadable).
	ErrNotAvailable = errors.New("ipvs: IPVS is not available in this kernel")
	// ErrPermission: the caller lacks CAP_NET_ADMIN in the initial user
	// namespace. os.ErrPermission matches too.
	ErrPermission = errors.New("ipvs: permission denied")

	ErrServiceExists     = errors.New("ipvs: service already exists")
	ErrNoService         = errors.New("ipvs: no such service")
	ErrDestinationExists = errors.New("ipvs: destination already exists")
	ErrNoDestination     = errors.New("ipvs: no such destination")
	// ErrSchedulerNotFound: the scheduler or persistence engine named in a
	// service is unknown to the kernel (the kernel does not say which).
	ErrSchedulerNotFound = errors.New("ipvs: scheduler or persistence engine not found")
	ErrDaemonRunning     = errors.New("ipvs: sync daemon already running")
	ErrNoDaemon          = errors.New("ipvs: no sync daemon running")
	// ErrTimeout: the kernel did not answer in time (a reply was lost);
	// os.ErrDeadlineExceeded matches too.
	ErrTimeout = errors.New("ipvs: no reply from the kernel")
	// ErrInconsistent: the services could not be read consistently, as
	// the table kept changing while it was read.
	ErrInconsistent = errors.New("ipvs: the table changed while it was being read")
)

// An Error is a failed client operation.
type Error struct {
	Op      Op
	Err     error  // a unix.Errno from the kernel, or a local error
	Message string // the kernel's extended-ack text, rarely set by IPVS
}

func (e *Error) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("ipvs: %s: %v: %s", e.Op, e.Err, e.Message)
	}
	return fmt.Sprintf("ipvs: %s: %v", e.Op, e.Err)
}

// Unwrap returns the cause, usually the kernel's errno.
func (e *Error) Unwrap() error { return e.Err }

// Is maps the (operation, errno) pair onto the package sentinels.
func (e *Error) Is(target error) bool {
	var errno unix.Errno
	if !errors.As(e.Err, &errno) {
		return target == ErrNotAvailable && errors.Is(e.Err, errFamilyMissing)
	}
	switch target {
	case ErrPermission, os.ErrPermission:
		return errno == unix.EPERM || errno == unix.EACCES
	case ErrNotAvailable:
		return e.Op == OpDial && (errno == unix.ENOENT || errno == unix.EPROTONOSUPPORT)
	case ErrServiceExists:
		return e.Op == OpAddService && errno == unix.EEXIST
	case ErrNoService:
		return errno == unix.ESRCH && e.Op != OpStopDaemon
	case ErrDestinationExists:
		return e.Op == OpAddDestination && errno == unix.EEXIST
	case ErrNoDestination:
		return (e.Op == OpUpdateDestination || e.Op == OpDeleteDestination) && errno == unix.ENOENT
	case ErrSchedulerNotFound:
		return (e.Op == OpAddService || e.Op == OpUpdateService) && errno == unix.ENOENT
	case ErrDaemonRunning:
		return e.Op == OpStartDaemon && errno == unix.EEXIST
	case ErrNoDaemon:
		return e.Op == OpStopDaemon && errno == unix.ESRCH
	}
	return false
}

// Errno returns the kernel errno behind err, or 0 if there is none.
func Errno(err error) unix.Errno {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return 0
}

// A timeoutError is a wait for a reply that ran out.
type timeoutError struct{ after time.Duration }

func (e timeoutError) Error() string { return fmt.Sprintf("no reply from the kernel in %v", e.after) }

func (e timeoutError) Is(target error) bool {
	return target == ErrTimeout || target == os.ErrDeadlineExceeded
}

// errFamilyMissing marks a failed family lookup.
var errFamilyMissing = errors.New("generic netlink family \"IPVS\" not found")

// errMalformed is returned for replies that do not decode.
var errMalformed = errors.New("malformed reply")
