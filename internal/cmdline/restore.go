package cmdline

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// restoreTokenMax is the longest token ipvsadm -R reads in one piece; it
// scans tokens with fscanf("%4096[^ \t\n\r]..."), so longer runs are split.
const restoreTokenMax = 4096

// A RestoreScanner splits ipvsadm -R input into per-line argument lists,
// one line at a time, the way ipvsadm 1.31's config_stream_read does. It
// reads lazily so that a caller can run each line before the next is read,
// as ipvsadm does (a line that makes ipvsadm exit leaves the rest unread).
//
// The rules, all deliberate for byte compatibility:
//   - tokens are runs of bytes other than space, tab, CR and LF; there is no
//     quoting, no escaping, no line continuation and no comment syntax
//     ("#" is an ordinary token);
//   - only LF ends a line, so CRLF input works (CR is just whitespace);
//   - a token exactly equal to "ipvsadm" is dropped wherever it appears;
//   - lines left without tokens are skipped;
//   - tokens longer than 4096 bytes are split into 4096-byte pieces;
//   - a token ends at its first NUL byte, since ipvsadm handles it as a C
//     string (it may become empty, and then it is still an argument);
//   - if the input ends without a final LF and the last line ends in two or
//     more whitespace bytes, that whole line is discarded.
type RestoreScanner struct {
	r    *bufio.Reader
	long []byte // a line longer than r's buffer, gathered
	args []string
	err  error
	done bool
	// offset counts the input bytes read through the end of the current
	// line.
	offset int64
	// line is the number of the current line, counting from 1.
	line int
	// lines are whole lines read ahead, taken out of r as one string.
	lines string
	// argSpace is what short lines' argument lists are cut from: one
	// allocation for many lines.
	argSpace []string
}

// restoreReadSize is the scanner's read buffer: large reads, few system
// calls, on inputs of tens of thousands of lines.
const restoreReadSize = 64 << 10

// NewRestoreScanner returns a RestoreScanner reading from r.
func NewRestoreScanner(r io.Reader) *RestoreScanner {
	return newRestoreScannerSize(r, restoreReadSize)
}

// newRestoreScannerSize lets tests use a small buffer, so that long lines
// take the gathering path.
func newRestoreScannerSize(r io.Reader, size int) *RestoreScanner {
	return &RestoreScanner{r: bufio.NewReaderSize(r, size)}
}

// Scan advances to the next line that has arguments and reports whether
// there is one. It returns false at the end of the input or on a read
// error; Err tells them apart.
func (s *RestoreScanner) Scan() bool {
	s.args = nil
	for !s.done {
		args, ok := s.readLine()
		if ok && len(args) > 0 {
			s.args = args
			return true
		}
	}
	return false
}

// Args returns the arguments of the current line, without the program
// name. The slice is owned by the caller.
func (s *RestoreScanner) Args() []string { return s.args }

// Offset returns how many bytes of the input lie before the end of the
// current line, its newline included: where ipvsadm leaves a seekable
// input when it stops after this line.
func (s *RestoreScanner) Offset() int64 { return s.offset }

// Line returns the number of the current line within the input, counting
// from 1 (skipped lines count).
func (s *RestoreScanner) Line() int { return s.line }

// Err returns the first read error, or nil if the input simply ended.
func (s *RestoreScanner) Err() error { return s.err }

// LineBuffered reports whether a whole line is already read ahead, so that
// the next Scan needs no read (and so cannot wait for input) to return it.
func (s *RestoreScanner) LineBuffered() bool {
	if s.lines != "" {
		return true
	}
	b, _ := s.r.Peek(s.r.Buffered())
	return bytes.IndexByte(b, '\n') >= 0
}

// readLine reads one line and returns its tokens. ok is false when the line
// is to be discarded (the end-of-file quirk, or a read error).
func (s *RestoreScanner) readLine() (args []string, ok bool) {
	s.line++
	if s.lines == "" {
		// Take every whole line that is read ahead as one string, of
		// which the lines and their arguments are pieces: one allocation
		// and copy for many lines.
		b, _ := s.r.Peek(s.r.Buffered())
		if n := bytes.LastIndexByte(b, '\n'); n >= 0 {
			s.lines = string(b[:n+1])
			s.r.Discard(n + 1)
		}
	}
	if s.lines != "" {
		n := strings.IndexByte(s.lines, '\n')
		line := s.lines[:n]
		s.lines = s.lines[n+1:]
		s.offset += int64(n + 1)
		args, _ := splitRestoreLine(line, &s.argSpace)
		return args, true
	}
	line, err := s.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		s.long = append(s.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = s.r.ReadSlice('\n')
			s.long = append(s.long, line...)
		}
		line = s.long
	}
	s.offset += int64(len(line))
	terminated := err == nil
	if err != nil {
		s.done = true
		if !errors.Is(err, io.EOF) {
			s.err = err
			return nil, false
		}
	} else {
		line = line[:len(line)-1]
	}
	args, trailingSpace := splitRestoreLine(string(line), &s.argSpace)
	// ipvsadm loses an unterminated last line that ends in two or more
	// whitespace characters.
	return args, terminated || trailingSpace < 2
}

// argSpaceSize is the number of arguments that RestoreScanner.argSpace
// is allocated for at a time.
const argSpaceSize = 4096

// splitRestoreLine splits one line (without its LF) into arguments and
// counts the whitespace bytes after its last token byte. The arguments of
// a short line are cut from *space, which it refills when needed.
func splitRestoreLine(text string, space *[]string) (args []string, trailingSpace int) {
	shared := false // args is cut from *space
	for i := 0; i < len(text); {
		if restoreSpace[text[i]] {
			trailingSpace++
			i++
			continue
		}
		start, end := i, -1 // end: the token's first NUL, if any
		for i < len(text) && !restoreSpace[text[i]] && i-start < restoreTokenMax {
			if text[i] == 0 && end < 0 {
				end = i
			}
			i++
		}
		trailingSpace = 0
		if end < 0 {
			end = i
		}
		// ipvsadm takes the token as a C string, and drops "ipvsadm".
		if tok := text[start:end]; tok != "ipvsadm" {
			if args == nil {
				args, shared = argList(text, space)
			}
			args = append(args, tok)
		}
	}
	if shared {
		// Take from *space what the line used, and no more: appending to
		// args must not write over the next line's.
		args = args[:len(args):len(args)]
		*space = (*space)[:len(*space)+len(args)]
	}
	return args, trailingSpace
}

// argList returns an empty argument list with room for every token of
// line. A short line's (it has at most len(line)/2+1 tokens) is cut from
// *space, where splitRestoreLine then takes what it used; a long line's
// is its own, of the tokens counted: a line of millions of words must not
// be copied over and over as it grows.
func argList(line string, space *[]string) (args []string, shared bool) {
	most := len(line)/2 + 1
	if most > argSpaceSize/8 {
		return make([]string, 0, countRestoreTokens(line)), false
	}
	if cap(*space)-len(*space) < most {
		*space = make([]string, 0, argSpaceSize)
	}
	n := len(*space)
	return (*space)[n : n : n+most], true
}

// countRestoreTokens is at least the number of tokens splitRestoreLine
// finds in line, so that the argument list is allocated once: a line of
// millions of words must not be copied over and over as it grows.
func countRestoreTokens(line string) int {
	n := 0
	for i := 0; i < len(line); {
		if restoreSpace[line[i]] {
			i++
			continue
		}
		start := i
		for i < len(line) && !restoreSpace[line[i]] && i-start < restoreTokenMax {
			i++
		}
		n++
	}
	return n
}

// restoreSpace marks the bytes that separate restore tokens.
var restoreSpace = [256]bool{' ': true, '\t': true, '\r': true, '\n': true}

// ReadRestoreLines reads all of r with a RestoreScanner and returns the
// argument lists of its lines. It is meant for tests and tools; ipvsadm -R
// itself should use the scanner so that lines run as they are read.
func ReadRestoreLines(r io.Reader) ([][]string, error) {
	var lines [][]string
	s := NewRestoreScanner(r)
	for s.Scan() {
		lines = append(lines, s.Args())
	}
	return lines, s.Err()
}
