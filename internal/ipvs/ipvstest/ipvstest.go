// Package ipvstest holds helpers for tests that need a real IPVS kernel:
// a fresh network namespace per test, the skip-or-fail policy, and running
// the reference ipvsadm inside a namespace.
//
// Outside the project's VM a test that lacks root, IPVS or the reference
// binary is skipped with the reason. Inside the VM (IPVSADM_VM set) the
// same condition fails the test: there, a kernel test that does not run is
// a broken test bed.
package ipvstest

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// InVM reports whether the tests run inside the project's IPVS VM.
func InVM() bool { return os.Getenv("IPVSADM_VM") != "" }

// SkipOrFail skips the test with reason outside the VM and fails it inside.
func SkipOrFail(t testing.TB, reason string) {
	t.Helper()
	if InVM() {
		t.Fatalf("in the IPVS VM, but: %s", reason)
	}
	t.Skip(reason)
}

// RequireRoot stops the test unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(t, "needs root (CAP_NET_ADMIN) for IPVS")
	}
}

// A NS is a network namespace created for one test.
type NS struct {
	handle netns.NsHandle
	links  *netlink.Handle
}

// NewNS creates a fresh network namespace with lo up and closes it when the
// test ends. The calling goroutine's thread is returned to its namespace
// before NewNS returns; sockets are bound to the new one by descriptor.
func NewNS(t testing.TB) *NS {
	t.Helper()
	RequireRoot(t)
	h, err := newNS()
	if err != nil {
		SkipOrFail(t, "cannot create a network namespace: "+err.Error())
	}
	links, err := netlink.NewHandleAt(h, unix.NETLINK_ROUTE)
	if err != nil {
		h.Close()
		t.Fatalf("netlink handle in namespace: %v", err)
	}
	ns := &NS{handle: h, links: links}
	t.Cleanup(func() {
		links.Close()
		h.Close()
	})
	// A fresh namespace starts with lo down, and IPVS refuses real
	// servers until it is up.
	lo, err := links.LinkByName("lo")
	if err != nil {
		t.Fatalf("lo: %v", err)
	}
	if err := links.LinkSetUp(lo); err != nil {
		t.Fatalf("set lo up: %v", err)
	}
	return ns
}

// newNS unshares a namespace on a locked thread and restores the thread.
func newNS() (netns.NsHandle, error) {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return 0, err
	}
	defer orig.Close()
	h, err := netns.New()
	if err != nil {
		runtime.UnlockOSThread()
		return 0, err
	}
	if err := netns.Set(orig); err != nil {
		// The thread is stuck in the new namespace: leave it locked so
		// that it dies with this goroutine instead of being reused.
		h.Close()
		return 0, errors.Join(errors.New("restore namespace"), err)
	}
	runtime.UnlockOSThread()
	return h, nil
}

// FD is the namespace's file descriptor, for ipvs.Config.NetNS.
func (ns *NS) FD() int { return int(ns.handle) }

// Links is a rtnetlink handle working in the namespace.
func (ns *NS) Links() *netlink.Handle { return ns.links }

// AddDummy creates an up dummy interface with the given addresses
// (CIDR notation) in the namespace.
func (ns *NS) AddDummy(t testing.TB, name string, cidrs ...string) {
	t.Helper()
	la := netlink.NewLinkAttrs()
	la.Name = name
	if err := ns.links.LinkAdd(&netlink.Dummy{LinkAttrs: la}); err != nil {
		t.Fatalf("add dummy %s: %v", name, err)
	}
	link, err := ns.links.LinkByName(name)
	if err != nil {
		t.Fatalf("dummy %s: %v", name, err)
	}
	for _, c := range cidrs {
		a, err := netlink.ParseAddr(c)
		if err != nil {
			t.Fatalf("address %s: %v", c, err)
		}
		if err := ns.links.AddrAdd(link, a); err != nil {
			t.Fatalf("add address %s to %s: %v", c, name, err)
		}
	}
	if err := ns.links.LinkSetUp(link); err != nil {
		t.Fatalf("set %s up: %v", name, err)
	}
}

// Run runs a program inside the namespace (through nsenter) with the given
// standard input, and returns its output and exit status.
func (ns *NS) Run(t testing.TB, stdin string, name string, args ...string) Result {
	t.Helper()
	res, err := RunIn(ns.FD(), Command{Argv: append([]string{name}, args...), Stdin: stdin})
	if err != nil {
		t.Fatalf("run %s in namespace: %v", name, err)
	}
	return res
}

// RequireReference stops the test unless the reference ipvsadm 1.31 is on
// PATH, and returns its path.
func RequireReference(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("ipvsadm")
	if err != nil {
		SkipOrFail(t, "reference ipvsadm not found on PATH")
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		SkipOrFail(t, "nsenter not found on PATH")
	}
	return p
}

// Ipvsadm runs the reference ipvsadm in the namespace and fails the test
// if it exits non-zero.
func (ns *NS) Ipvsadm(t testing.TB, args ...string) string {
	t.Helper()
	r := ns.Run(t, "", "ipvsadm", args...)
	if r.Code != 0 {
		t.Fatalf("ipvsadm %q: exit %d: %s%s", args, r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// NSOfFD wraps the descriptor of an existing network namespace (opened by
// the caller, who closes it) for RunIn and Run; its Links is nil.
func NSOfFD(fd int) *NS { return &NS{handle: netns.NsHandle(fd)} }
