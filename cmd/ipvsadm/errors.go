package main

import (
	"errors"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
)

// ipvsadm's wording for kernel errors (libipvs' ipvs_strerror): first the
// rows specific to an operation, then the generic ones, then the C
// library's strerror text.

type opErrno struct {
	op    ipvs.Op
	errno unix.Errno
}

var opMessages = map[opErrno]string{
	{ipvs.OpAddService, unix.EEXIST}:        "Service already exists",
	{ipvs.OpAddService, unix.ENOENT}:        "Scheduler or persistence engine not found",
	{ipvs.OpUpdateService, unix.ESRCH}:      "No such service",
	{ipvs.OpUpdateService, unix.ENOENT}:     "Scheduler or persistence engine not found",
	{ipvs.OpDeleteService, unix.ESRCH}:      "No such service",
	{ipvs.OpZero, unix.ESRCH}:               "No such service",
	{ipvs.OpAddDestination, unix.ESRCH}:     "Service not defined",
	{ipvs.OpAddDestination, unix.EEXIST}:    "Destination already exists",
	{ipvs.OpUpdateDestination, unix.ESRCH}:  "Service not defined",
	{ipvs.OpUpdateDestination, unix.ENOENT}: "No such destination",
	{ipvs.OpDeleteDestination, unix.ESRCH}:  "Service not defined",
	{ipvs.OpDeleteDestination, unix.ENOENT}: "No such destination",
	{ipvs.OpStartDaemon, unix.EEXIST}:       "Daemon has already run",
	{ipvs.OpStopDaemon, unix.ESRCH}:         "No daemon is running",
	{ipvs.OpServices, unix.ESRCH}:           "No such service",
	{ipvs.OpDestinations, unix.ESRCH}:       "No such service",
	{ipvs.OpService, unix.ESRCH}:            "No such service",
}

var genericMessages = map[unix.Errno]string{
	unix.EPERM:        "Permission denied (you must be root)",
	unix.EINVAL:       "Invalid operation.  Possibly wrong module version, address not unicast, ...",
	unix.ENOPROTOOPT:  "Protocol not available",
	unix.ENOMEM:       "Memory allocation problem",
	unix.EOPNOTSUPP:   "Operation not supported with IPv6",
	unix.EAFNOSUPPORT: "Operation not supported with specified address family",
	unix.EMSGSIZE:     "Module is wrong version",
}

// errorMessage is ipvsadm's text for a failed kernel operation.
func errorMessage(err error) string {
	var op ipvs.Op
	var ie *ipvs.Error
	if errors.As(err, &ie) {
		op = ie.Op
	}
	if errors.Is(err, ipvs.ErrNotAvailable) {
		// ipvsadm falls back to the old socket-option interface, which
		// answers ENOPROTOOPT on a kernel without IPVS.
		return genericMessages[unix.ENOPROTOOPT]
	}
	if errors.Is(err, ipvs.ErrInconsistent) {
		// ipvsadm 1.31 would print what it got; see COMPATIBILITY.md.
		return "The table changed while it was being read; nothing was listed (try again)"
	}
	if errors.Is(err, ipvs.ErrTimeout) {
		// ipvsadm 1.31 would wait forever; see COMPATIBILITY.md.
		return "No reply from the kernel in time: the outcome is unknown (check with ipvsadm -L)"
	}
	errno := ipvs.Errno(err)
	if errno == 0 {
		// A failure without a kernel errno (a broken reply, a refused
		// request) is reported by ipvsadm as EINVAL.
		errno = unix.EINVAL
	}
	if m, ok := opMessages[opErrno{op, errno}]; ok {
		return m
	}
	if m, ok := genericMessages[errno]; ok {
		return m
	}
	return strerror(errno)
}

// strerror renders errno as the C library does: Go's texts are glibc's
// with a lower-case first letter.
func strerror(errno unix.Errno) string {
	s := errno.Error()
	if strings.HasPrefix(s, "errno ") {
		return "Unknown error " + strconv.Itoa(int(errno))
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// ioErrorText is the C library's text for a failed read or write: the
// errno's strerror, or Go's text for an error without one.
func ioErrorText(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return strerror(errno)
	}
	return err.Error()
}
