package rules

import (
	"bufio"
	"errors"
	"io"
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
	args []string
	err  error
	done bool
}

// NewRestoreScanner returns a RestoreScanner reading from r.
func NewRestoreScanner(r io.Reader) *RestoreScanner {
	return &RestoreScanner{r: bufio.NewReader(r)}
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

// Err returns the first read error, or nil if the input simply ended.
func (s *RestoreScanner) Err() error { return s.err }

// readLine reads one line and returns its tokens. ok is false when the line
// is to be discarded (the end-of-file quirk).
func (s *RestoreScanner) readLine() (args []string, ok bool) {
	var tok []byte
	trailingSpace := 0 // whitespace bytes since the last token byte
	flush := func() {
		if tok == nil {
			return
		}
		t := string(tok)
		for i := 0; i < len(t); i++ {
			if t[i] == 0 {
				t = t[:i]
				break
			}
		}
		if t != "ipvsadm" {
			args = append(args, t)
		}
		tok = nil
	}
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			s.done = true
			if !errors.Is(err, io.EOF) {
				s.err = err
				return nil, false
			}
			flush()
			// ipvsadm loses an unterminated last line that ends in two or
			// more whitespace characters.
			return args, trailingSpace < 2
		}
		switch c {
		case '\n':
			flush()
			return args, true
		case ' ', '\t', '\r':
			flush()
			trailingSpace++
		default:
			trailingSpace = 0
			tok = append(tok, c)
			if len(tok) == restoreTokenMax {
				flush()
			}
		}
	}
}

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
