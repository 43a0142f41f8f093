package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// prepare links each tool as DIR/ipvsadm (so that busybox time can run it
// under the name "ipvsadm") and calibrates busybox time's %M.
func (b *runner) prepare() error {
	tools := b.tools[:]
	if b.moby != nil {
		tools = append(tools, *b.moby)
	}
	for _, t := range tools {
		if fi, err := os.Stat(t.path); err != nil || fi.Mode()&0o111 == 0 {
			return fmt.Errorf("%s: %s is not an executable file (%v)", t.name, t.path, err)
		}
		if err := os.MkdirAll(t.dir, 0o755); err != nil {
			return err
		}
		os.Remove(filepath.Join(t.dir, "ipvsadm"))
		if err := os.Symlink(t.path, filepath.Join(t.dir, "ipvsadm")); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	const mib = 96
	argv := []string{"ipvsadm-bench", "-alloc-mib", strconv.Itoa(mib)}
	cal := tool{"calibration", self, filepath.Dir(self)}
	d, err := b.run(-1, cal, false, "", "", argv)
	if err != nil {
		return err
	}
	bb, err := b.run(-1, cal, true, "", "", argv)
	if err != nil {
		return fmt.Errorf("busybox time (%s time) does not work: %w", busybox, err)
	}
	if d.maxRSS < mib<<10 {
		return fmt.Errorf("calibration: a child touching %d MiB reported ru_maxrss %d KiB", mib, d.maxRSS)
	}
	switch q := float64(bb.maxRSS) / float64(d.maxRSS); {
	case q > 0.9 && q < 1.1:
		b.rssFactor = 1
	case q > 3.6 && q < 4.4:
		b.rssFactor = 4
	default:
		return fmt.Errorf("calibration: busybox time %%M %d vs ru_maxrss %d KiB: unknown unit", bb.maxRSS, d.maxRSS)
	}
	b.note("maxRSS via busybox time (its %%M is ru_maxrss x %d; calibrated with a %d MiB child: %d KiB direct, %d via busybox)",
		b.rssFactor, mib, d.maxRSS, bb.maxRSS)
	return nil
}

// newNS makes a new network namespace and returns its descriptor.
func (b *runner) newNS() (int, error) {
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return -1, fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
	}
	fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		// lo up, as in the initial namespace: without 127.0.0.1 there is
		// no local routing table and IPVS refuses every real server
		// ("address not unicast").
		if err = loUp(); err != nil {
			unix.Close(fd)
		}
	}
	if serr := unix.Setns(b.initNS, unix.CLONE_NEWNET); serr != nil {
		// The thread stays locked (and dies with its goroutine).
		return -1, fmt.Errorf("setns back to the initial namespace: %w", serr)
	}
	runtime.UnlockOSThread()
	if err != nil {
		return -1, fmt.Errorf("new namespace: %w", err)
	}
	return fd, nil
}

// loUp sets lo up in the calling thread's network namespace.
func loUp() error {
	sock, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(sock)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(sock, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(sock, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS lo: %w", err)
	}
	return nil
}

// exec runs tool t with args (as "ipvsadm") in namespace ns (-1: the
// driver's), stdin from the file stdin ("" for /dev/null), stdout to the
// file stdout ("" for /dev/null).
func (b *runner) exec(ns int, t tool, stdin, stdout string, args ...string) (sample, error) {
	return b.run(ns, t, false, stdin, stdout, append([]string{"ipvsadm"}, args...))
}

// run runs argv (argv[0] the name the program sees) in namespace ns (-1:
// the driver's); with viaTime, under busybox time, and the sample has only
// maxRSS (in busybox's unit while b.rssFactor is 0, i.e. in calibration).
// It fails when the program exits non-zero or writes to stderr.
func (b *runner) run(ns int, t tool, viaTime bool, stdin, stdout string, argv []string) (sample, error) {
	var s sample
	in, err := os.Open(orDefault(stdin, os.DevNull))
	if err != nil {
		return s, err
	}
	defer in.Close()
	var outf *os.File
	if stdout == "" {
		outf, err = os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	} else {
		outf, err = os.Create(stdout)
	}
	if err != nil {
		return s, err
	}
	defer outf.Close()
	errPath := filepath.Join(b.work, "stderr")
	errf, err := os.Create(errPath)
	if err != nil {
		return s, err
	}
	defer errf.Close()
	// Files, not pipes: no copying goroutine competes with the child for
	// the single vCPU.
	cmd := &exec.Cmd{Path: t.path, Args: argv, Stdin: in, Stdout: outf, Stderr: errf}
	rssPath := filepath.Join(b.work, "maxrss")
	if viaTime {
		os.Remove(rssPath)
		cmd.Path = busybox
		cmd.Args = append([]string{"busybox", "time", "-o", rssPath, "-f", "%M"}, argv...)
		cmd.Env = append(os.Environ(), "PATH="+t.dir+":"+os.Getenv("PATH"))
	}
	what := fmt.Sprintf("%s (%s) %s", t.name, t.path, strings.Join(argv[1:], " "))
	if viaTime {
		what = "busybox time " + what
	}
	if stdin != "" {
		what += " < " + stdin
	}
	// The child is cloned from this thread: it starts in the thread's
	// namespace.
	if ns >= 0 {
		runtime.LockOSThread()
		if err := unix.Setns(ns, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			return s, fmt.Errorf("%s: setns: %w", what, err)
		}
	}
	start := time.Now()
	err = cmd.Start()
	if ns >= 0 {
		if serr := unix.Setns(b.initNS, unix.CLONE_NEWNET); serr != nil {
			if err == nil {
				cmd.Wait()
			}
			return s, fmt.Errorf("setns back to the initial namespace: %w", serr)
		}
		runtime.UnlockOSThread()
	}
	if err == nil {
		err = cmd.Wait()
	}
	s.wall = time.Since(start)
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			s.user = time.Duration(ru.Utime.Nano())
			s.sys = time.Duration(ru.Stime.Nano())
			s.maxRSS = ru.Maxrss
		}
	}
	errOut, _ := os.ReadFile(errPath)
	if err != nil || len(errOut) > 0 {
		if err == nil {
			err = errors.New("exit status 0")
		}
		return s, fmt.Errorf("%s: %v; stderr: %q", what, err, truncate(errOut, 500))
	}
	if viaTime {
		out, err := os.ReadFile(rssPath)
		if err != nil {
			return s, fmt.Errorf("%s: %w", what, err)
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil || v <= 0 {
			return s, fmt.Errorf("%s: busybox time wrote %q, not a %%M", what, out)
		}
		if b.rssFactor > 0 {
			v /= b.rssFactor
		}
		s = sample{maxRSS: v}
	}
	return s, nil
}

func orDefault(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
