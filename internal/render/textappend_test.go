package render

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestAppendWidth(t *testing.T) {
	for _, width := range []int{-13, -9, -6, -1, 0, 1, 8, 9, 70, -70} {
		for _, v := range []int64{0, 7, -1, 12345678, -12345678, 123456789, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64} {
			if got, want := string(AppendIntWidth([]byte("x"), v, width)), fmt.Sprintf("x%*d", width, v); got != want {
				t.Errorf("AppendIntWidth(%d, %d) = %q, want %q", v, width, got, want)
			}
			u := uint64(v)
			if got, want := string(AppendUintWidth([]byte("x"), u, width)), fmt.Sprintf("x%*d", width, u); got != want {
				t.Errorf("AppendUintWidth(%d, %d) = %q, want %q", u, width, got, want)
			}
		}
		for _, s := range []string{"", "Masq", "(null)", strings.Repeat("y", 80)} {
			if got, want := string(AppendStringWidth([]byte("x"), s, width)), fmt.Sprintf("x%*s", width, s); got != want {
				t.Errorf("AppendStringWidth(%q, %d) = %q, want %q", s, width, got, want)
			}
		}
	}
}

// TestAppendLargeNum checks AppendLargeNum against print_largenum's printf
// formats, around every boundary.
func TestAppendLargeNum(t *testing.T) {
	printfLargeNum := func(v uint64, exact bool) string {
		if exact {
			width := len(strconv.FormatUint(v, 10)) + 1
			return fmt.Sprintf("%*d", max(width, 9), v)
		}
		switch {
		case v < 100_000_000:
			return fmt.Sprintf("%9d", v)
		case v < 1_000_000_000:
			return fmt.Sprintf("%8dK", v/1_000)
		case v < 100_000_000_000:
			return fmt.Sprintf("%8dM", v/1_000_000)
		case v < 100_000_000_000_000:
			return fmt.Sprintf("%8dG", v/1_000_000_000)
		}
		return fmt.Sprintf("%8dT", v/1_000_000_000_000)
	}
	var vs []uint64
	for p := uint64(1); p < math.MaxUint64/10; p *= 10 {
		vs = append(vs, p-1, p, p+1, 5*p)
	}
	vs = append(vs, 0, math.MaxUint32, math.MaxUint32+1, math.MaxUint64)
	for _, v := range vs {
		for _, exact := range []bool{false, true} {
			if got, want := string(AppendLargeNum(nil, v, exact)), printfLargeNum(v, exact); got != want {
				t.Errorf("AppendLargeNum(%d, %v) = %q, want %q", v, exact, got, want)
			}
		}
	}
}

// chunkLines writes n numbered lines through a ChunkWriter.
func chunkLines(w *ChunkWriter, n int) {
	for i := range n {
		w.Next()
		w.B = append(AppendIntWidth(w.B, int64(i), -10), "some text of a line\n"...)
	}
}

// pieceWriter records the sizes of the writes it gets.
type pieceWriter struct {
	bytes.Buffer
	pieces []int
}

func (p *pieceWriter) Write(b []byte) (int, error) {
	p.pieces = append(p.pieces, len(b))
	return p.Buffer.Write(b)
}

func TestChunkWriter(t *testing.T) {
	const lines = 20000
	var want bytes.Buffer
	for i := range lines {
		fmt.Fprintf(&want, "%-10dsome text of a line\n", i)
	}
	// minPiece is the least a write but the last must carry: 64 KiB of our
	// own buffer, or what fills a large enough bufio.Writer.
	for _, tt := range []struct{ size, minPiece int }{
		{0, chunkSize},
		{16, 0},
		{4096, 4096 - lineRoom},
		{64 << 10, 64<<10 - lineRoom},
		{1 << 20, 1<<20 - lineRoom},
	} {
		var pw pieceWriter
		var c ChunkWriter
		var bw *bufio.Writer
		wantText := want.String()
		if tt.size == 0 {
			c = NewChunkWriter(&pw)
		} else {
			bw = bufio.NewWriterSize(&pw, tt.size)
			bw.WriteString("head\n")
			wantText = "head\n" + wantText
			c = NewChunkWriter(bw)
		}
		chunkLines(&c, lines)
		if err := c.Finish(); err != nil {
			t.Fatal(err)
		}
		if bw != nil {
			bw.Flush()
		}
		if pw.String() != wantText {
			t.Errorf("size %d: output differs", tt.size)
		}
		for i, n := range pw.pieces[:len(pw.pieces)-1] {
			if n < tt.minPiece {
				t.Errorf("size %d: write %d has %d bytes", tt.size, i, n)
				break
			}
		}
	}
}

// TestChunkWriterInPlace checks that text rendered for a large enough
// bufio.Writer costs no allocations.
func TestChunkWriterInPlace(t *testing.T) {
	bw := bufio.NewWriterSize(&bytes.Buffer{}, 64<<10)
	allocs := testing.AllocsPerRun(10, func() {
		c := NewChunkWriter(bw)
		chunkLines(&c, 10000)
		c.Finish()
	})
	if allocs != 0 {
		t.Errorf("%v allocations per run", allocs)
	}
}

type errWriter struct{ n int }

func (w *errWriter) Write(b []byte) (int, error) {
	w.n++
	return 0, errors.New("disk full")
}

func TestChunkWriterError(t *testing.T) {
	for _, buffered := range []bool{false, true} {
		ew := &errWriter{}
		c := NewChunkWriter(ew)
		if buffered {
			c = NewChunkWriter(bufio.NewWriterSize(ew, 64<<10))
		}
		chunkLines(&c, 20000)
		if err := c.Finish(); err == nil {
			t.Errorf("buffered %v: no error", buffered)
		}
		if ew.n != 1 {
			t.Errorf("buffered %v: %d writes after the first error", buffered, ew.n-1)
		}
	}
}

// FuzzAppendUintWidth checks AppendUintWidth against printf's %*u.
func FuzzAppendUintWidth(f *testing.F) {
	for _, v := range []uint64{0, 9, 10, 99999999, 100000000, math.MaxUint64} {
		f.Add(v, int8(9))
		f.Add(v, int8(-10))
	}
	f.Fuzz(func(t *testing.T, v uint64, width int8) {
		if got, want := string(AppendUintWidth([]byte("x"), v, int(width))), fmt.Sprintf("x%*d", width, v); got != want {
			t.Errorf("AppendUintWidth(%d, %d) = %q, want %q", v, width, got, want)
		}
	})
}
