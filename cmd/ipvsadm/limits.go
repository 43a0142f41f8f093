package main

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// minOpenFiles is how many file descriptors a run may need at once: the
// three standard streams, the Go runtime's poller (an epoll descriptor
// and an eventfd), two netlink sockets and one /proc file. With fewer, the
// runtime would die with a fatal error instead of a message.
const minOpenFiles = 8

// checkOpenFiles makes sure the process may open minOpenFiles descriptors,
// raising its soft limit toward the hard one if needed. ipvsadm 1.31,
// single-threaded C, gets by with four; see COMPATIBILITY.md.
func checkOpenFiles() error {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil || lim.Cur >= minOpenFiles {
		return nil
	}
	if lim.Max >= minOpenFiles {
		lim.Cur = minOpenFiles
		if unix.Setrlimit(unix.RLIMIT_NOFILE, &lim) == nil {
			return nil
		}
	}
	return fmt.Errorf("the limit on open files is %d, and this ipvsadm needs %d (raise it with ulimit -n)", lim.Cur, minOpenFiles)
}

// runProcess is the whole process: its limits checked, then run on its
// arguments and standard streams.
func runProcess() int {
	if err := checkOpenFiles(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(os.Args[0]), err)
		return 2
	}
	return run(os.Args, os.Stdin, os.Stdout, os.Stderr)
}
