package main

import (
	"bufio"
	"bytes"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// ipvsadm writes its output with C stdio: standard output is buffered by
// glibc (line by line on a terminal, otherwise in blocks of the file's
// st_blksize, flushed only when a block is full and more text comes) and
// standard error is not buffered at all. When both go to the same file, as
// with `ipvsadm -R < rules > log 2>&1`, an error message lands between
// whole blocks of the output. stdio reproduces that: output is buffered in
// large pieces for speed, but only as much of it reaches the file as glibc
// would have written by the time an error message is printed.

// defaultBlockSize is glibc's buffer size when fstat gives no block size
// (and for writers that are not files, as in tests).
const defaultBlockSize = 4096

// An alignedWriter passes on to w only what glibc's stdout would have
// written so far: on a terminal everything up to the last newline, else
// every whole block except a last one that might still grow. The rest
// waits in tail until Close. The first write error is kept and ends all
// writing.
type alignedWriter struct {
	w        io.Writer
	block    int  // glibc's buffer size
	terminal bool // line buffered
	tail     []byte
	err      error
}

func newAlignedWriter(w io.Writer) *alignedWriter {
	a := &alignedWriter{w: w, block: defaultBlockSize}
	if f, ok := w.(*os.File); ok {
		var st unix.Stat_t
		if unix.Fstat(int(f.Fd()), &st) == nil && st.Blksize > 0 {
			a.block = int(st.Blksize)
		}
		if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
			a.terminal = true
		}
	}
	return a
}

// Write takes p and writes what glibc would have written by now.
func (a *alignedWriter) Write(p []byte) (int, error) {
	if a.err != nil {
		return 0, a.err
	}
	written := len(p)
	// n is how much of tail+p goes out now.
	total := len(a.tail) + len(p)
	var n int
	if a.terminal {
		if i := bytes.LastIndexByte(p, '\n'); i >= 0 {
			n = len(a.tail) + i + 1
		} else if j := bytes.LastIndexByte(a.tail, '\n'); j >= 0 {
			n = j + 1
		}
	} else if total > a.block {
		n = (total - 1) / a.block * a.block
	}
	if n > 0 {
		fromTail := min(n, len(a.tail))
		if fromTail > 0 {
			if _, a.err = a.w.Write(a.tail[:fromTail]); a.err != nil {
				return 0, a.err
			}
			a.tail = append(a.tail[:0], a.tail[fromTail:]...)
		}
		if fromP := n - fromTail; fromP > 0 {
			if _, a.err = a.w.Write(p[:fromP]); a.err != nil {
				return 0, a.err
			}
			p = p[fromP:]
		}
	}
	a.tail = append(a.tail, p...)
	return written, nil
}

// Close writes what is left, as exit does, and returns the first error.
func (a *alignedWriter) Close() error {
	if a.err == nil && len(a.tail) > 0 {
		_, a.err = a.w.Write(a.tail)
		a.tail = a.tail[:0]
	}
	return a.err
}

// A stdio is the program's standard output and error. Out buffers in
// large pieces; a write to Err first moves Out's text to the aligned
// writer, so that the file sees the order glibc would give.
type stdio struct {
	Out     *bufio.Writer
	aligned *alignedWriter
	err     io.Writer
}

func newStdio(stdout, stderr io.Writer) *stdio {
	a := newAlignedWriter(stdout)
	return &stdio{Out: bufio.NewWriterSize(a, 64<<10), aligned: a, err: stderr}
}

// Write writes p to standard error, after the output glibc would have
// flushed by now.
func (s *stdio) Write(p []byte) (int, error) {
	s.Out.Flush()
	return s.err.Write(p)
}

// Sync writes all of standard output now, for output that reports
// progress as it happens (--drain); ipvsadm 1.31 has none.
func (s *stdio) Sync() error {
	if err := s.Out.Flush(); err != nil {
		return err
	}
	return s.aligned.Close()
}

// Close flushes standard output as exit does and returns the first error
// writing it.
func (s *stdio) Close() error {
	if err := s.Out.Flush(); err != nil {
		return err
	}
	return s.aligned.Close()
}
