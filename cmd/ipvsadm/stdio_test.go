package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestAlignedWriterBlocks checks glibc's full buffering: a block goes out
// only when it is full and more text comes, and never part of one.
func TestAlignedWriterBlocks(t *testing.T) {
	var file bytes.Buffer
	a := &alignedWriter{w: &file, block: 8}
	steps := []struct {
		write   string
		flushed int // bytes in the file after the write
	}{
		{"abc", 0},
		{"defgh", 0},            // exactly one full block stays buffered
		{"i", 8},                // more text: the full block goes out
		{"jklmnopqrstuvwx", 16}, // 24 in all: the third block is full, stays
		{"", 16},
		{"yz0123456789abcdefghij", 40},
	}
	total := ""
	for _, st := range steps {
		n, err := a.Write([]byte(st.write))
		require.NoError(t, err)
		require.Equal(t, len(st.write), n)
		total += st.write
		require.Equal(t, total[:st.flushed], file.String(), "after %q", st.write)
	}
	require.NoError(t, a.Close())
	require.Equal(t, total, file.String())
}

func TestAlignedWriterTerminal(t *testing.T) {
	var file bytes.Buffer
	a := &alignedWriter{w: &file, block: 8, terminal: true}
	for _, st := range []struct{ write, file string }{
		{"one", ""},
		{" line\ntwo", "one line\n"},
		{" and a long one without end", "one line\n"},
		{"\n", "one line\ntwo and a long one without end\n"},
		{"x\ny\nz", "one line\ntwo and a long one without end\nx\ny\n"},
	} {
		_, err := a.Write([]byte(st.write))
		require.NoError(t, err)
		require.Equal(t, st.file, file.String())
	}
	require.NoError(t, a.Close())
	require.True(t, strings.HasSuffix(file.String(), "z"))
}

// sharedFile is one file behind both standard output and standard error.
type sharedFile struct{ bytes.Buffer }

// TestStdioInterleaving checks that an error line lands where glibc puts
// it: after the whole blocks of output written so far.
func TestStdioInterleaving(t *testing.T) {
	var f sharedFile
	s := newStdio(&f, &f)
	s.aligned.block = 16
	s.Out.WriteString(strings.Repeat("o", 40))
	s.Write([]byte("E1\n"))
	s.Out.WriteString(strings.Repeat("p", 10))
	s.Write([]byte("E2\n"))
	require.NoError(t, s.Close())
	require.Equal(t, strings.Repeat("o", 32)+"E1\n"+strings.Repeat("o", 8)+strings.Repeat("p", 8)+"E2\n"+"pp", f.String())
}

// failingWriter fails every write with errno.
type failingWriter struct{ errno unix.Errno }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.errno }

// TestOutputWriteError checks that output that could not be written is
// an error with a message, not a silent success.
func TestOutputWriteError(t *testing.T) {
	withBackend(t, nil, errors.New("unused"))
	var errb bytes.Buffer
	status := run([]string{"ipvsadm", "-h"}, strings.NewReader(""), failingWriter{unix.ENOSPC}, &errb)
	require.Equal(t, 1, status)
	require.Equal(t, "ipvsadm: cannot write standard output: No space left on device\n", errb.String())

	// A command that fails already keeps its own status.
	errb.Reset()
	status = run([]string{"ipvsadm", "-h", "--bogus-unused"}, strings.NewReader(""), failingWriter{unix.EIO}, &errb)
	require.NotZero(t, status)
	require.Contains(t, errb.String(), "cannot write standard output: Input/output error")
}

// TestTooFewOpenFiles checks that a limit on open files too low for the Go
// runtime gives a message, not a runtime crash.
func TestTooFewOpenFiles(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	link := filepath.Join(t.TempDir(), "ipvsadm")
	require.NoError(t, os.Symlink(exe, link))
	cmd := exec.Command("/bin/sh", "-c", `ulimit -n 5 && exec "$0" -Ln`, link)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err = cmd.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, errb.String())
	require.Equal(t, 2, ee.ExitCode())
	// (A binary built with -cover adds a warning about its data after it.)
	first, _, _ := strings.Cut(errb.String(), "\n")
	require.Equal(t, "ipvsadm: the limit on open files is 5, and this ipvsadm needs 8 (raise it with ulimit -n)", first)
}

// TestNLDEBUGIgnored checks that a malformed NLDEBUG, which once made the
// netlink library panic, changes nothing.
func TestNLDEBUGIgnored(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	link := filepath.Join(t.TempDir(), "ipvsadm")
	require.NoError(t, os.Symlink(exe, link))
	for _, v := range []string{"level=x", "format=bogus", "1"} {
		cmd := exec.Command(link, "-Ln")
		cmd.Env = append(os.Environ(), "NLDEBUG="+v)
		out, _ := cmd.CombinedOutput()
		require.NotContains(t, string(out), "panic", "NLDEBUG=%s", v)
		require.NotContains(t, string(out), "goroutine", "NLDEBUG=%s", v)
	}
}
