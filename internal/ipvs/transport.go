package ipvs

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A transport carries a sock's datagrams. In production it is a
// generic-netlink socket (netlinkTransport); tests put a fake kernel
// behind it that decodes the requests and answers with netlink frames.
type transport interface {
	// write sends b, one or more framed requests, as one datagram.
	write(b []byte) error
	// read receives one datagram into b, waiting at most timeout for it
	// (then the error matches os.ErrDeadlineExceeded). truncated reports
	// a datagram larger than b, of which only b's length arrived.
	read(b []byte, timeout time.Duration) (n int, truncated bool, err error)
	close() error
}

// netlinkTransport is a generic-netlink socket, read and written through
// the runtime poller directly. (The netlink library starts a goroutine for
// every read and write to watch for context cancellation; on a listing of
// thousands of services that doubled the command's run time. It also
// panics on a malformed NLDEBUG variable, so it is not used at all.)
type netlinkTransport struct {
	file *os.File // the socket, pollable, for deadlines and closing
	rc   syscall.RawConn
	// The poller callbacks, bound once: a closure made per call would be
	// allocated per call. buf and the results pass through the fields.
	readFn, tryReadFn, writeFn func(fd uintptr) bool
	buf                        []byte
	n                          int
	err                        error
	to                         unix.RawSockaddrNetlink // the kernel
}

// openNetlink opens a generic-netlink socket in the namespace of the
// descriptor netns (0: the calling thread's).
func openNetlink(netns int) (*netlinkTransport, error) {
	fd, err := socketIn(netns)
	if err != nil {
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	// Extended acks add the kernel's reason to policy failures. Older
	// kernels lack the option; the client works without it.
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	// Error acknowledgements without a copy of the request keep batches'
	// acknowledgements small.
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	// A non-blocking descriptor makes a pollable file, with deadlines.
	file := os.NewFile(uintptr(fd), "netlink")
	rc, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return nil, err
	}
	t := &netlinkTransport{file: file, rc: rc, to: unix.RawSockaddrNetlink{Family: unix.AF_NETLINK}}
	t.readFn, t.tryReadFn, t.writeFn = t.recv, t.tryRecv, t.send
	return t, nil
}

// socketIn creates a non-blocking generic-netlink socket in the namespace
// of the descriptor netns (0: the calling thread's). A socket belongs to
// the namespace it was created in, so the thread enters netns for the
// call and goes back.
func socketIn(netns int) (int, error) {
	open := func() (int, error) {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_GENERIC)
		return fd, os.NewSyscallError("socket", err)
	}
	if netns == 0 {
		return open()
	}
	runtime.LockOSThread()
	home, err := unix.Open(threadNetNSPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return -1, &os.PathError{Op: "open", Path: threadNetNSPath, Err: err}
	}
	defer unix.Close(home)
	if err := unix.Setns(netns, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return -1, os.NewSyscallError("setns", err)
	}
	fd, err := open()
	if unix.Setns(home, unix.CLONE_NEWNET) == nil {
		// Only a thread back home may serve other goroutines; otherwise
		// it stays locked and ends with this goroutine.
		runtime.UnlockOSThread()
	}
	return fd, err
}

func (t *netlinkTransport) write(b []byte) error {
	t.buf = b
	err := t.rc.Write(t.writeFn)
	t.buf = nil
	if err != nil {
		return err
	}
	if t.err != nil {
		return fmt.Errorf("sendto: %w", t.err)
	}
	return nil
}

// send is sendto(2), made as a raw system call: the socket is
// non-blocking, so the call never waits, and a raw call does not hand the
// thread's processor to another thread as a blocking one may (under
// emulation a netlink call takes long enough for the runtime to do that
// for most of them, and the scheduling cost a tenth of the command's CPU
// time on a listing of thousands of dumps).
func (t *netlinkTransport) send(fd uintptr) bool {
	_, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&t.buf[0])), uintptr(len(t.buf)),
		0, uintptr(unsafe.Pointer(&t.to)), unix.SizeofSockaddrNetlink)
	t.err = nil
	if errno != 0 {
		t.err = errno
	}
	return errno != unix.EAGAIN && errno != unix.EINTR
}

func (t *netlinkTransport) read(b []byte, timeout time.Duration) (int, bool, error) {
	// A reply is nearly always queued when it is read: the kernel answers
	// a request while it is sent, and makes a dump's next part while the
	// part before is read. So the datagram is first taken without a
	// deadline, which costs a clock read per read (two per service in a
	// listing with counters), and the deadline is set only to wait, then
	// every time. (An expired deadline left from an earlier wait fails
	// this attempt before the call; the wait sets a new one.)
	t.buf = b
	err := t.rc.Read(t.tryReadFn)
	if err != nil || t.err == unix.EAGAIN || t.err == unix.EINTR {
		if err := t.file.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			t.buf = nil
			return 0, false, err
		}
		err = t.rc.Read(t.readFn)
	}
	t.buf = nil
	if err != nil {
		return 0, false, err
	}
	if t.err != nil {
		return 0, false, fmt.Errorf("recvfrom: %w", t.err)
	}
	return min(t.n, len(b)), t.n > len(b), nil
}

// tryRecv is recv that never asks the poller to wait.
func (t *netlinkTransport) tryRecv(fd uintptr) bool {
	t.recv(fd)
	return true
}

// recv is recvfrom(2) with MSG_TRUNC, which returns a datagram's full
// length even when it did not fit. The call is made directly (the x/sys
// wrappers allocate the sender's address on every read) and raw, as in
// send: the socket is non-blocking.
func (t *netlinkTransport) recv(fd uintptr) bool {
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&t.buf[0])), uintptr(len(t.buf)),
		unix.MSG_TRUNC, 0, 0)
	t.n, t.err = int(n), nil
	if errno != 0 {
		t.err = errno
	}
	return errno != unix.EAGAIN && errno != unix.EINTR
}

func (t *netlinkTransport) close() error { return t.file.Close() }

// readBuffer raises the socket's receive buffer where the caller may
// (SO_RCVBUFFORCE needs CAP_NET_ADMIN, which IPVS requires anyway) and
// returns its size.
func (t *netlinkTransport) readBuffer() int {
	size := 0
	t.rc.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, wantReadBuffer) != nil {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, wantReadBuffer)
		}
		size, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	})
	return size
}
