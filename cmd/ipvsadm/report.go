package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
)

// Errors are printed in one of three ways: ipvsadm's exact text (scripts
// parse it; stderr not a terminal); the same text and one line starting
// with "hint: " that says what is wrong and what to do (stderr a
// terminal); or, with --json, one JSON object per error on its own line.

// errorObject is an error as --json prints it on standard error.
type errorObject struct {
	Error errorReport `json:"error"`
}

type errorReport struct {
	// Message is ipvsadm's text for the error.
	Message   string  `json:"message"`
	Operation *string `json:"operation"`  // the kernel operation that failed
	Errno     *int    `json:"errno"`      // the kernel's errno
	ErrnoName *string `json:"errno_name"` // "EEXIST"
	Hint      *string `json:"hint"`
}

// report prints one error message with an optional hint and its cause.
func (p *program) report(msg string, cause error, hint string) {
	if p.ext.JSON {
		r := errorReport{Message: msg}
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
		var sb strings.Builder
		enc := json.NewEncoder(&sb)
		enc.SetEscapeHTML(false)
		enc.Encode(errorObject{Error: r})
		io.WriteString(p.stderr, sb.String())
		return
	}
	fmt.Fprintf(p.stderr, "%s\n", msg)
	if hint != "" && p.tty {
		fmt.Fprintf(p.stderr, "hint: %s\n", hint)
	}
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
