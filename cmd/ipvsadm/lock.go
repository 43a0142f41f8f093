package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Writers that must not interleave (-R --atomic, -R --replace) take an
// exclusive flock on a file named after the network namespace, so that two
// of them on one namespace run one after the other. ipvsadm 1.31 and other
// tools do not take it: the lock orders our own writers only.

// lockDir holds the lock files; tests replace it.
var lockDir = "/run/ipvsadm"

// defaultLockWait is how long a writer waits for another one to finish.
const defaultLockWait = 30 * time.Second

// lockWait is the wait, which IPVSADM_LOCK_TIMEOUT (seconds) overrides.
func lockWait() time.Duration {
	if v, ok := lookupEnv("IPVSADM_LOCK_TIMEOUT"); ok {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return time.Duration(s * float64(time.Second))
		}
	}
	return defaultLockWait
}

// errLocked is returned when the lock stayed taken for the whole wait.
var errLocked = errors.New("another ipvsadm --atomic or --replace is changing this network namespace")

// lockPath is the lock file of the caller's network namespace, keyed by
// the namespace's inode number.
func lockPath() (string, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		if err := unix.Stat("/proc/self/ns/net", &st); err != nil {
			return "", fmt.Errorf("cannot find the network namespace: %w", err)
		}
	}
	return filepath.Join(lockDir, fmt.Sprintf("netns-%d.lock", st.Ino)), nil
}

// lockNamespace takes the namespace's writer lock, waiting up to wait;
// unlock releases it.
func lockNamespace(wait time.Duration) (unlock func(), err error) {
	path, err := lockPath()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(lockDir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", lockDir, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, err)
	}
	deadline := time.Now().Add(wait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("cannot lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%w (%s held for %s)", errLocked, path, wait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
