package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// withBackend makes run use b (or fail to dial with err) for one test.
func withBackend(t testing.TB, b backend, err error) {
	t.Helper()
	old, oldModprobe := dialBackend, modprobePath
	dialBackend = func(int) (backend, error) { return b, err }
	modprobePath = "/nonexistent/modprobe"
	t.Cleanup(func() { dialBackend, modprobePath = old, oldModprobe })
}

func runArgs(args []string, stdin string) (stdout, stderr string, status int) {
	var out, errb bytes.Buffer
	status = run(append([]string{"ipvsadm"}, args...), strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), status
}

// noIPVS is the dial error on a kernel without the IPVS family.
var noIPVS = &ipvs.Error{Op: ipvs.OpDial, Err: ipvs.ErrNotAvailable}

func TestHelpWithoutKernel(t *testing.T) {
	withBackend(t, nil, noIPVS)
	out, errs, status := runArgs([]string{"-h"}, "")
	require.Equal(t, 0, status)
	require.Empty(t, errs)
	require.True(t, strings.HasPrefix(out, versionLine+"Usage:\n  ipvsadm -A|E virtual-service"), out)
	require.Len(t, out, 4645, "the help text is ipvsadm's, byte for byte")

	out, errs, status = runArgs([]string{"--version", "--bogus"}, "")
	require.Equal(t, 0, status)
	require.Empty(t, errs)
	require.Equal(t, versionLine, out)
}

func TestInitFailure(t *testing.T) {
	withBackend(t, nil, noIPVS)
	for _, args := range [][]string{nil, {"-Ln"}, {"-A", "-t", "10.0.0.1:80"}, {"--bogus"}, {"-L", "-n", "-n"}} {
		out, errs, status := runArgs(args, "")
		require.Equal(t, 2, status, "%q", args)
		require.Empty(t, out)
		// modprobe's own complaint, if any, may come first.
		require.True(t, strings.HasSuffix(errs, "Can't initialize ipvs: Protocol not available\n"+
			"Are you sure that IP Virtual Server is built in the kernel or as module?\n"), errs)
	}
	withBackend(t, nil, &ipvs.Error{Op: ipvs.OpDial, Err: unix.EPERM})
	_, errs, status := runArgs([]string{"-Ln"}, "")
	require.Equal(t, 2, status)
	require.True(t, strings.HasSuffix(errs, "Can't initialize ipvs: Permission denied (you must be root)\n"+
		"Are you sure that IP Virtual Server is built in the kernel or as module?\n"), errs)
}

func TestSchedFlagsComma(t *testing.T) {
	// ipvsadm 1.31 crashes on these; we read them as no flags.
	for _, flags := range []string{",", ",,"} {
		f := newModelBackend()
		withBackend(t, f, nil)
		out, errs, status := runArgs([]string{"-A", "-t", "10.0.0.1:80", "-s", "sh", "-b", flags}, "")
		require.Equal(t, 0, status, errs)
		require.Empty(t, out+errs)
		require.Equal(t, 1, f.table.Len())
		require.Zero(t, f.table.Services()[0].Flags)
		require.True(t, f.closed)
	}
	f := newModelBackend()
	withBackend(t, f, nil)
	_, errs, status := runArgs([]string{"-R"}, "-A -t 10.0.0.1:80 -s sh -b ,\n-A -t 10.0.0.2:80\n")
	require.Equal(t, 0, status, errs)
	require.Equal(t, 2, f.table.Len())
}

// notifyingBackend reports every service it adds.
type notifyingBackend struct {
	*modelBackend
	added chan rules.ServiceKey
}

func (n *notifyingBackend) AddService(s rules.Service) error {
	err := n.modelBackend.AddService(s)
	n.added <- s.ServiceKey
	return err
}

// TestRestoreAppliesLinesAsWritten checks that restore input read ahead in
// chunks still takes effect line by line when the producer is slow: a
// line is applied before the next one is written.
func TestRestoreAppliesLinesAsWritten(t *testing.T) {
	f := &notifyingBackend{modelBackend: newModelBackend(), added: make(chan rules.ServiceKey)}
	withBackend(t, f, nil)
	pr, pw := io.Pipe()
	done := make(chan int)
	go func() { done <- run([]string{"ipvsadm", "-R"}, pr, io.Discard, io.Discard) }()
	for _, vip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
		_, err := io.WriteString(pw, "-A -t "+vip+":80\n")
		require.NoError(t, err)
		select {
		case k := <-f.added:
			require.Equal(t, vip, k.Addr.String())
		case <-time.After(10 * time.Second):
			t.Fatalf("%s not added while the input stays open", vip)
		}
	}
	require.NoError(t, pw.Close())
	require.Equal(t, 0, <-done)
}

// TestRestoreLeavesInputAfterStop checks that a restore stopped by a line
// leaves a seekable input just after that line, as ipvsadm does, so that
// the rest can be read by the next program.
func TestRestoreLeavesInputAfterStop(t *testing.T) {
	input := "-A -t 10.0.0.1:80\n\n-A -t 10.0.0.2:80 -w x\n-A -t 10.0.0.3:80\nrest\n"
	path := filepath.Join(t.TempDir(), "rules")
	require.NoError(t, os.WriteFile(path, []byte(input), 0o644))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()

	fb := newModelBackend()
	withBackend(t, fb, nil)
	var errb bytes.Buffer
	status := run([]string{"ipvsadm", "-R"}, f, io.Discard, &errb)
	require.NotZero(t, status, errb.String())
	require.Equal(t, 1, fb.table.Len())
	rest, err := io.ReadAll(f)
	require.NoError(t, err)
	require.Equal(t, "-A -t 10.0.0.3:80\nrest\n", string(rest))
}

// TestRestoreReadError checks that unreadable restore input is an error
// with a message (ipvsadm 1.31 exits 0 having restored nothing).
func TestRestoreReadError(t *testing.T) {
	d, err := os.Open(t.TempDir())
	require.NoError(t, err)
	defer d.Close()
	withBackend(t, newModelBackend(), nil)
	var errb bytes.Buffer
	status := run([]string{"ipvsadm", "-R"}, d, io.Discard, &errb)
	require.Equal(t, 1, status)
	require.Equal(t, "ipvsadm: cannot read the rules from standard input: Is a directory\n", errb.String())
}

// TestInitWithoutPrivilege checks that a caller without CAP_NET_ADMIN fails
// at init, once, as with ipvsadm: the family lookup needs no privilege, the
// info request does.
func TestInitWithoutPrivilege(t *testing.T) {
	for _, args := range [][]string{{"-Ln"}, {"-L", "--timeout"}, {"--daemon", "-L"}, {"-A", "-t", "10.0.0.1:80"}, {"-R"}} {
		m := newModelBackend()
		withBackend(t, deniedBackend{m}, nil)
		out, errs, status := runArgs(args, strings.Repeat("-A -t 10.0.0.1:80\n", 100))
		require.Equal(t, 2, status, "%q", args)
		require.Empty(t, out)
		require.Equal(t, "Can't initialize ipvs: Permission denied (you must be root)\n"+
			"Are you sure that IP Virtual Server is built in the kernel or as module?\n", errs, "%q", args)
		require.Zero(t, m.table.Len())
		require.True(t, m.closed)
	}
}

// timingOutBackend stops answering after a number of changes.
type timingOutBackend struct {
	*modelBackend
	answers int
}

func (b *timingOutBackend) AddService(s rules.Service) error {
	if b.answers == 0 {
		return &ipvs.Error{Op: ipvs.OpAddService, Err: ipvs.ErrTimeout}
	}
	b.answers--
	return b.modelBackend.AddService(s)
}

// TestCommandWhenKernelStopsAnswering checks that a kernel that stops answering ends
// a command with one clear message, never a hang or a message per line.
func TestCommandWhenKernelStopsAnswering(t *testing.T) {
	b := &timingOutBackend{modelBackend: newModelBackend(), answers: 2}
	withBackend(t, b, nil)
	var in strings.Builder
	for i := 1; i <= 50; i++ {
		fmt.Fprintf(&in, "-A -t 10.0.0.%d:80\n", i)
	}
	out, errs, status := runArgs([]string{"-R"}, in.String())
	require.Equal(t, 255, status)
	require.Empty(t, out)
	require.Equal(t, "No reply from the kernel in time: the outcome is unknown (check with ipvsadm -L)\n", errs)
	require.Equal(t, 2, b.table.Len())

	b = &timingOutBackend{modelBackend: newModelBackend()}
	withBackend(t, b, nil)
	_, errs, status = runArgs([]string{"-A", "-t", "10.0.0.1:80"}, "")
	require.Equal(t, 255, status)
	require.Equal(t, "No reply from the kernel in time: the outcome is unknown (check with ipvsadm -L)\n", errs)
}

// TestScriptArguments: the ipvsadm-save and ipvsadm-restore personalities
// take --netns out of their arguments, and ipvsadm-restore picks its
// restore extensions; anything else is left as the scripts treat it.
func TestScriptArguments(t *testing.T) {
	for _, tc := range []struct {
		args        []string
		rest, netns []string
		ext         []string
	}{
		{args: nil},
		{args: []string{"-n"}, rest: []string{"-n"}},
		{args: []string{"--netns", "a", "-n"}, rest: []string{"-n"}, netns: []string{"--netns", "a"}},
		{args: []string{"--netns=/run/netns/a"}, netns: []string{"--netns=/run/netns/a"}},
		{args: []string{"-x", "--netns"}, rest: []string{"-x"}, netns: []string{"--netns"}},
		{args: []string{"--replace", "--netns", "b"}, netns: []string{"--netns", "b"}, rest: []string{"--replace"}, ext: []string{}},
		{args: []string{"--json", "--atomic"}, rest: []string{"--json", "--atomic"}, ext: []string{"--json", "--atomic"}},
		{args: []string{"--scope", "10.0.0.1", "junk"}, rest: []string{"--scope", "10.0.0.1", "junk"}, ext: []string{"--scope", "10.0.0.1"}},
	} {
		rest, netns := scriptNetNS(tc.args)
		require.Equal(t, tc.rest, rest, "%q: rest", tc.args)
		require.Equal(t, tc.netns, netns, "%q: netns", tc.args)
		require.Equal(t, tc.ext, restoreScriptExtensions(rest), "%q: restore extensions", tc.args)
	}
}
