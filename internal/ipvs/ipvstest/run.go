package ipvstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A Command is a program to run inside a network namespace.
type Command struct {
	Argv []string // the program (found on PATH) and its arguments
	Env  []string // the environment; nil for the test's own
	// Stdin is the standard input. With SeekableStdin it is a file, and
	// Result.Rest is what the program left unread of it.
	Stdin         string
	SeekableStdin bool
	// MergeOutput sends standard error into the standard output file, as
	// "2>&1" does; Result.Stdout then holds both.
	MergeOutput bool
	// StdoutPath, when set, is a file opened for writing as standard
	// output instead of a pipe (such as /dev/full).
	StdoutPath string
	// Timeout ends the program; zero means DefaultTimeout.
	Timeout time.Duration
	// Started, if set, is called with the process id once the program
	// (nsenter, which runs it as a child in its own process group) runs.
	Started func(pid int)
}

// DefaultTimeout bounds a Command without a Timeout of its own.
const DefaultTimeout = 60 * time.Second

// ErrTimeout is returned, wrapped, when a Command ran out of time.
var ErrTimeout = errors.New("timed out")

// A Result is what a program did. Code is its exit status, or 128+N when
// signal N killed it, as a shell reports it.
type Result struct {
	Stdout, Stderr string
	Code           int
	Rest           string // with SeekableStdin: the input left unread
}

// RunIn runs c inside the network namespace whose descriptor is nsfd,
// through nsenter. Errors are the harness's own (nsenter missing, a
// timeout); the program's failure is in the Result.
func RunIn(nsfd int, c Command) (Result, error) {
	// A duplicate, because an *os.File closes its descriptor when done.
	fd, err := unix.Dup(nsfd)
	if err != nil {
		return Result{}, fmt.Errorf("dup namespace descriptor: %w", err)
	}
	nsFile := os.NewFile(uintptr(fd), "netns")
	defer nsFile.Close()
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// ExtraFiles[0] is descriptor 3 in the child.
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--net=/proc/self/fd/3"}, c.Argv...)...)
	cmd.Env = c.Env
	cmd.ExtraFiles = []*os.File{nsFile}
	cmd.Stdin = strings.NewReader(c.Stdin)
	var in, merged *os.File
	if c.SeekableStdin {
		if in, err = fileWith(c.Stdin); err != nil {
			return Result{}, err
		}
		defer in.Close()
		cmd.Stdin = in
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if c.MergeOutput {
		if merged, err = fileWith(""); err != nil {
			return Result{}, err
		}
		defer merged.Close()
		cmd.Stdout, cmd.Stderr = merged, merged
	}
	if c.StdoutPath != "" {
		f, err := os.OpenFile(c.StdoutPath, os.O_WRONLY, 0)
		if err != nil {
			return Result{}, err
		}
		defer f.Close()
		cmd.Stdout = f
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err = cmd.Start(); err == nil {
		if c.Started != nil {
			c.Started(cmd.Process.Pid)
		}
		err = cmd.Wait()
	}
	res := Result{Stdout: out.String(), Stderr: errb.String()}
	if merged != nil {
		b, rerr := io.ReadAll(io.NewSectionReader(merged, 0, 1<<40))
		if rerr != nil {
			return res, rerr
		}
		res.Stdout = string(b)
	}
	if in != nil {
		// The program shared the file's offset: read on from where it left.
		rest, rerr := io.ReadAll(in)
		if rerr != nil {
			return res, rerr
		}
		res.Rest = string(rest)
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("%q: %w after %v", c.Argv, ErrTimeout, timeout)
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Code = 128 + int(ws.Signal())
		} else {
			res.Code = ee.ExitCode()
		}
	case err != nil:
		return res, fmt.Errorf("run %q: %w", c.Argv, err)
	}
	return res, nil
}

// fileWith returns an unlinked temporary file holding text, open for
// reading and writing at offset 0.
func fileWith(text string) (*os.File, error) {
	f, err := os.CreateTemp("", "ipvstest-")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
