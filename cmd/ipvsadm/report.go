package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
)

// Errors are printed in one of three ways: ipvsadm's exact text (scripts
// parse it; stderr not a terminal); the same text and one line starting
// with "hint: " that says what is wrong and what to do (stderr a
// terminal); or, with --json, one JSON object per error on its own line
// ($defs/error of the schema).

// errorObject is an error as --json prints it on standard error.
type errorObject struct {
	Error errorReport `json:"error"`
}

type errorReport struct {
	// Message is ipvsadm's text for the error (without "line N: ").
	Message   string  `json:"message"`
	Operation *string `json:"operation"`  // the kernel operation that failed
	Errno     *int    `json:"errno"`      // the kernel's errno
	ErrnoName *string `json:"errno_name"` // "EEXIST"
	Hint      *string `json:"hint"`
	// Line is the restore input line of the error, null for none.
	Line *int `json:"line"`
}

// report prints one error message with an optional hint and its cause.
func (p *program) report(msg string, cause error, hint string) {
	p.stderr.Write(p.appendReport(nil, 0, msg, cause, hint))
}

// appendReport appends the error at restore input line line (0: none) as
// report prints it.
func (p *program) appendReport(b []byte, line int, msg string, cause error, hint string) []byte {
	if p.ext.JSON {
		r := errorReport{Message: msg}
		if line != 0 {
			r.Line = &line
		}
		var ie *ipvs.Error
		if errors.As(cause, &ie) {
			op := string(ie.Op)
			r.Operation = &op
		}
		if errno := ipvs.Errno(cause); errno != 0 {
			n, name := int(errno), unix.ErrnoName(errno)
			r.Errno, r.ErrnoName = &n, &name
		}
		if hint != "" {
			r.Hint = &hint
		}
		return appendJSONLine(b, errorObject{Error: r})
	}
	if line != 0 {
		b = fmt.Appendf(b, "line %d: ", line)
	}
	b = append(append(b, msg...), '\n')
	if hint != "" && p.tty {
		b = append(append(append(b, "hint: "...), hint...), '\n')
	}
	return b
}

// appendJSONLine appends v as one line of compact JSON.
func appendJSONLine(b []byte, v any) []byte {
	buf := bytes.NewBuffer(b)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return buf.Bytes()
}

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
