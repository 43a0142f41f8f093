package testbed

import (
	"bytes"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A Process is a program running in a node's namespace in the
// background.
type Process struct {
	cmd  *exec.Cmd
	out  output // standard output and error
	done chan struct{}
	err  error
}

// Start starts a program (found on PATH) in the node's namespace; it is
// killed, with its process group, when the test ends.
func (n *Node) Start(argv ...string) *Process {
	t := n.bed.t
	t.Helper()
	fd, err := unix.Dup(n.NS.FD())
	if err != nil {
		t.Fatalf("testbed: dup namespace descriptor: %v", err)
	}
	nsFile := os.NewFile(uintptr(fd), "netns")
	defer nsFile.Close()
	p := &Process{done: make(chan struct{})}
	// ExtraFiles[0] is descriptor 3 in nsenter.
	p.cmd = exec.Command("nsenter", append([]string{"--net=/proc/self/fd/3"}, argv...)...)
	p.cmd.ExtraFiles = []*os.File{nsFile}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("testbed: start %q in %s: %v", argv, n.Name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.Stop)
	return p
}

// Stop kills the process group and waits for it (at most 5 s).
func (p *Process) Stop() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

// Exited reports whether the process has ended, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Output is what the process wrote to its standard output and error so
// far.
func (p *Process) Output() string { return p.out.String() }

// output is a buffer written by a process and read by the test.
type output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
