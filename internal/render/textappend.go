package render

import (
	"bufio"
	"io"
	"slices"
	"strconv"
)

// Append-style formatting for the listing and save renderers, which print
// thousands of lines: they cost no allocations where fmt boxes every
// argument. Widths follow printf's %*d: a positive width right-justifies,
// a negative one left-justifies (%-Nd), and text wider than the field is
// never cut.

const spaces = "                                                                "

// AppendSpaces appends n spaces.
func AppendSpaces(b []byte, n int) []byte {
	for n > len(spaces) {
		b = append(b, spaces...)
		n -= len(spaces)
	}
	if n > 0 {
		b = append(b, spaces[:n]...)
	}
	return b
}

// PadWidth pads the text b holds from start on to width as printf pads a
// field: with spaces after it for a negative width, before it otherwise.
func PadWidth(b []byte, start, width int) []byte {
	n := len(b) - start
	if width < 0 {
		return AppendSpaces(b, -width-n)
	}
	pad := width - n
	if pad <= 0 {
		return b
	}
	b = AppendSpaces(b, pad)
	copy(b[start+pad:], b[start:start+n])
	for i := start; i < start+pad; i++ {
		b[i] = ' '
	}
	return b
}

// AppendStringWidth appends s as %*s does.
func AppendStringWidth(b []byte, s string, width int) []byte {
	if width < 0 {
		b = append(b, s...)
		return AppendSpaces(b, -width-len(s))
	}
	return append(AppendSpaces(b, width-len(s)), s...)
}

// AppendIntWidth appends v in decimal as %*d does.
func AppendIntWidth(b []byte, v int64, width int) []byte {
	if width > 0 {
		// Right-justified: the digits go after the padding, not moved
		// behind it.
		var d [20]byte
		digits := strconv.AppendInt(d[:0], v, 10)
		return append(AppendSpaces(b, width-len(digits)), digits...)
	}
	start := len(b)
	return PadWidth(strconv.AppendInt(b, v, 10), start, width)
}

// AppendUintWidth appends v in decimal as %*u does.
func AppendUintWidth(b []byte, v uint64, width int) []byte {
	if width > 0 {
		return appendUintRight(b, v, width)
	}
	start := len(b)
	return PadWidth(strconv.AppendUint(b, v, 10), start, width)
}

// appendUintRight appends v right-justified in width columns. The padding
// and digits are written in place, without the calls and the copy of
// formatting the digits apart: a listing with counters prints five or
// more such numbers per line.
func appendUintRight(b []byte, v uint64, width int) []byte {
	n := 1 // v's digits
	for x := v; x >= 10; x /= 10 {
		n++
	}
	pad := max(width-n, 0)
	start := len(b)
	b = slices.Grow(b, pad+n)[:start+pad+n]
	field := b[start:]
	for i := range pad {
		field[i] = ' '
	}
	for i := len(field) - 1; i >= pad; i-- {
		field[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}

// Sizes of a ChunkWriter's pieces. lineRoom is more than any rendered line
// needs, so a line appended after Next hardly ever grows B.
const (
	chunkSize = 64 << 10
	lineRoom  = 1 << 10
)

// A ChunkWriter collects rendered text in B and hands it to its writer in
// pieces of about 64 KiB: call Next before appending each line to B, and
// Finish at the end. When the writer is a *bufio.Writer of at least 4 KiB
// (as the command's standard output is), B is that writer's own free space,
// so the text is not buffered twice and the pieces are the size of its
// buffer. After a write error the rest of the text is dropped.
type ChunkWriter struct {
	B   []byte
	w   io.Writer
	bw  *bufio.Writer
	err error
}

// NewChunkWriter returns a ChunkWriter for w.
func NewChunkWriter(w io.Writer) ChunkWriter {
	if bw, ok := w.(*bufio.Writer); ok && bw.Size() >= 4*lineRoom {
		return ChunkWriter{B: bw.AvailableBuffer(), w: w, bw: bw}
	}
	return ChunkWriter{B: make([]byte, 0, chunkSize+lineRoom), w: w}
}

// Next makes room for a line: with less than lineRoom bytes left in B, the
// text so far goes to the writer.
func (c *ChunkWriter) Next() {
	if cap(c.B)-len(c.B) < lineRoom {
		c.write()
	}
}

// Finish hands the rest of the text to the writer (a *bufio.Writer keeps
// it buffered) and returns the first write error.
func (c *ChunkWriter) Finish() error {
	if len(c.B) > 0 {
		c.write()
	}
	return c.err
}

func (c *ChunkWriter) write() {
	switch {
	case c.err != nil:
		c.B = c.B[:0]
	case c.bw != nil:
		// Normally B is bw's free space: Write moves it onto itself and
		// counts it as buffered.
		_, c.err = c.bw.Write(c.B)
		if c.err == nil && c.bw.Available() < lineRoom {
			c.err = c.bw.Flush()
		}
		if c.err != nil {
			c.B = c.B[:0]
			return
		}
		c.B = c.bw.AvailableBuffer()
	default:
		_, c.err = c.w.Write(c.B)
		c.B = c.B[:0]
	}
}
