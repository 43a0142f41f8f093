package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
)

// netnsDirs are where named network namespaces live (ip netns add), in
// the order they are searched.
var netnsDirs = []string{"/run/netns", "/var/run/netns"}

// selfNetNSPath is the caller's own network namespace.
const selfNetNSPath = "/proc/self/ns/net"

// A netnsError is a --netns value that cannot be used.
type netnsError struct {
	arg  string
	err  error
	hint string
}

func (e *netnsError) Error() string {
	return fmt.Sprintf("Cannot open network namespace \"%s\": %s", e.arg, ioErrorText(e.err))
}

func (e *netnsError) Unwrap() error { return e.err }

// openNetNS opens the network namespace of --netns: a value with a '/' is
// the path of a namespace file (/proc/PID/ns/net, a bind mount); any other
// is a name under /run/netns (or /var/run/netns), as `ip -n` takes it.
// There is no PID form: a namespace may be named 1234. It returns the
// descriptor and what the JSON output says of the namespace.
func openNetNS(arg string) (int, jsondoc.NetNS, error) {
	var ns jsondoc.NetNS
	path := arg
	if !strings.Contains(arg, "/") {
		if arg == "." || arg == ".." {
			return -1, ns, &netnsError{arg: arg, err: unix.EINVAL, hint: "a namespace name cannot be . or .."}
		}
		path = filepath.Join(netnsDirs[0], arg)
		for _, dir := range netnsDirs {
			if _, err := os.Stat(filepath.Join(dir, arg)); err == nil {
				path = filepath.Join(dir, arg)
				break
			}
		}
		ns.Name = &arg
	}
	ns.Path = path
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		e := &netnsError{arg: arg, err: err}
		switch {
		case errors.Is(err, unix.ENOENT) && ns.Name != nil:
			e.hint = fmt.Sprintf("no namespace of that name in %s (list them with ls %s; create one with ip netns add %s)", netnsDirs[0], netnsDirs[0], arg)
		case errors.Is(err, unix.ENOENT):
			e.hint = "no such file: give a namespace name or the path of a namespace file such as /proc/PID/ns/net"
		case errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM):
			e.hint = "opening another network namespace needs root (CAP_SYS_ADMIN)"
		}
		return -1, ns, e
	}
	// A namespace file answers NS_GET_NSTYPE (Linux 4.11); any other file
	// does not.
	if t, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE); err != nil || t != unix.CLONE_NEWNET {
		unix.Close(fd)
		return -1, ns, &netnsError{arg: arg, err: errors.New("not a network namespace"),
			hint: "give a network namespace file: /run/netns/NAME, /proc/PID/ns/net or a bind mount of one"}
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil {
		ns.Inode = st.Ino
	}
	return fd, ns, nil
}

// callerNetNS describes the caller's own network namespace.
func callerNetNS() jsondoc.NetNS {
	ns := jsondoc.NetNS{Path: selfNetNSPath}
	var st unix.Stat_t
	if unix.Stat(selfNetNSPath, &st) == nil {
		ns.Inode = st.Ino
	}
	return ns
}
