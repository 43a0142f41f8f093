package ipvs

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Files of another network namespace: /proc/net and /proc/sys/net follow
// the namespace of the reading thread (/proc/net that of the thread-group
// leader), and a file is tied to its namespace once open. So a client on
// a namespace descriptor opens them from a thread that enters the
// namespace for the open and comes back.

// inNamespace runs fn on a thread in the network namespace of the
// descriptor netns, then returns the thread to its own namespace. fn must
// not start goroutines. A thread that cannot return stays locked and ends
// with the goroutine, so that no other goroutine runs in the wrong
// namespace.
func inNamespace(netns int, fn func() error) error {
	runtime.LockOSThread()
	home, err := unix.Open(threadNetNSPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return &os.PathError{Op: "open", Path: threadNetNSPath, Err: err}
	}
	defer unix.Close(home)
	if err := unix.Setns(netns, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return os.NewSyscallError("setns", err)
	}
	err = fn()
	if unix.Setns(home, unix.CLONE_NEWNET) == nil {
		runtime.UnlockOSThread()
	}
	return err
}

// openInNamespace opens path (a /proc/thread-self path) in the client's
// namespace.
func (c *Client) openInNamespace(path string) (*os.File, error) {
	var f *os.File
	err := inNamespace(c.netns, func() error {
		var err error
		f, err = os.Open(path)
		return err
	})
	return f, err
}

// threadConnectionsPath is the connection table of the calling thread's
// namespace.
const threadConnectionsPath = "/proc/thread-self/net/ip_vs_conn"

// sysctlDir holds the IPVS sysctls of the calling thread's namespace.
const sysctlDir = "/proc/sys/net/ipv4/vs"

// Sysctls reads the IPVS sysctls (net.ipv4.vs.*) of the client's network
// namespace: name to value, as the kernel prints it with runs of blanks
// made one space. Sysctls that cannot be read (write-only ones) are left
// out.
func (c *Client) Sysctls() (map[string]string, error) {
	values := map[string]string{}
	read := func() error {
		entries, err := os.ReadDir(sysctlDir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(sysctlDir, e.Name()))
			if err != nil {
				continue
			}
			values[e.Name()] = strings.Join(strings.Fields(string(b)), " ")
		}
		return nil
	}
	var err error
	if c.netns != 0 {
		err = inNamespace(c.netns, read)
	} else {
		runtime.LockOSThread()
		err = read()
		runtime.UnlockOSThread()
	}
	if err != nil {
		return nil, &Error{Op: OpSysctls, Err: err}
	}
	return values, nil
}
