package main

import (
	"fmt"
	"io"

	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
)

// How a drain reports, in one of three forms: with --json one event per
// line on standard output; on a terminal (standard error) the progress as
// one line that is rewritten in place, the other events as lines; else
// every event as a plain line. Each line is written as it happens.
// Warnings and the events of a drain that did not finish go to standard
// error in the text forms.

// drainOutput writes a drain's events.
type drainOutput struct {
	p         *program
	json      bool
	terminal  bool
	liveShown bool // a progress line is on the terminal, without newline
}

func newDrainOutput(p *program) *drainOutput {
	return &drainOutput{p: p, json: p.ext.JSON, terminal: p.tty && !p.ext.JSON}
}

// live reports whether progress is one line rewritten in place.
func (o *drainOutput) live() bool { return o.terminal }

// setLive replaces the progress line.
func (o *drainOutput) setLive(text string) {
	fmt.Fprintf(o.p.stderr, "\r%s\x1b[K", text)
	o.liveShown = true
}

// endLive clears the progress line, so that other text starts on a clean
// line.
func (o *drainOutput) endLive() {
	if o.liveShown {
		io.WriteString(o.p.stderr, "\r\x1b[K")
		o.liveShown = false
	}
}

// toStderr are the events the text forms print on standard error.
var toStderr = map[string]bool{"warning": true, "timeout": true, "interrupted": true, "vanished": true}

func (o *drainOutput) write(ev jsondoc.DrainEvent) {
	if o.json {
		jsondoc.Write(o.p.out, ev, false)
		o.p.syncOut()
		return
	}
	o.endLive()
	switch {
	case ev.Event == "warning":
		fmt.Fprintf(o.p.stderr, "warning: %s\n", ev.Message)
	case toStderr[ev.Event]:
		fmt.Fprintf(o.p.stderr, "%s\n", ev.Message)
	default:
		fmt.Fprintf(o.p.out, "%s\n", ev.Message)
		o.p.syncOut()
	}
}
