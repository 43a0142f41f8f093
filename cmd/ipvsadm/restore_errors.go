package main

import (
	"errors"
	"fmt"
	"github.com/ipvsadm-go/ipvsadm/internal/cmdline"
	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"path/filepath"
)

// clientOps are the client's names of the model's operations, so that a
// refusal of the table model reads as the kernel's would.
var clientOps = map[rules.Op]ipvs.Op{
	rules.OpAddService: ipvs.OpAddService, rules.OpEditService: ipvs.OpUpdateService,
	rules.OpDelService: ipvs.OpDeleteService, rules.OpAddDest: ipvs.OpAddDestination,
	rules.OpEditDest: ipvs.OpUpdateDestination, rules.OpDelDest: ipvs.OpDeleteDestination,
	rules.OpFlush: ipvs.OpFlush, rules.OpZeroAll: ipvs.OpZero, rules.OpZeroService: ipvs.OpZero,
	rules.OpSetTimeouts: ipvs.OpSetTimeouts, rules.OpStartDaemon: ipvs.OpStartDaemon,
	rules.OpStopDaemon: ipvs.OpStopDaemon,
}

// modelErrorMessage is ipvsadm's text for a change the table model
// refuses: the kernel's text for the same errno and operation, or the
// reason a request cannot be sent.
func modelErrorMessage(err error) string {
	var ce *rules.ChangeError
	if !errors.As(err, &ce) {
		return err.Error()
	}
	if errors.Is(err, rules.ErrNotSendable) {
		return ce.Err.Error()
	}
	return errorMessage(modelCause(err))
}

// modelCause is a refusal of the table model as the client reports the
// kernel's (an *ipvs.Error of the same operation and errno), so that it
// has the kernel's text, errno and hint; a request that cannot be sent
// keeps its own error.
func modelCause(err error) error {
	var ce *rules.ChangeError
	if !errors.As(err, &ce) || errors.Is(err, rules.ErrNotSendable) {
		if ce != nil {
			return ce.Err
		}
		return err
	}
	return &ipvs.Error{Op: clientOps[ce.Op], Err: ce.Err}
}

// lineError is one problem of a checked restore's input, at a line (0:
// a step of the plan that no input line asked for, a deletion).
type lineError struct {
	line  int
	msg   string
	cause error  // for --json: the operation and errno, or nil
	hint  string // printed on a terminal and with --json
}

// commandOf is the command that makes change c, for its hint.
func commandOf(c rules.Change) cmdline.Command {
	cmd := cmdline.Command{Service: c.Service, Dest: c.Dest, Timeouts: c.Timeouts, Daemon: c.Daemon,
		HasService: c.Service.ServiceKey != rules.ServiceKey{}}
	cmd.Kind = map[rules.Op]cmdline.CommandKind{
		rules.OpAddService: cmdline.CmdAddService, rules.OpEditService: cmdline.CmdEditService,
		rules.OpDelService: cmdline.CmdDeleteService, rules.OpAddDest: cmdline.CmdAddServer,
		rules.OpEditDest: cmdline.CmdEditServer, rules.OpDelDest: cmdline.CmdDeleteServer,
		rules.OpFlush: cmdline.CmdFlush, rules.OpZeroAll: cmdline.CmdZero, rules.OpZeroService: cmdline.CmdZero,
		rules.OpSetTimeouts: cmdline.CmdSetTimeouts, rules.OpStartDaemon: cmdline.CmdStartDaemon,
		rules.OpStopDaemon: cmdline.CmdStopDaemon,
	}[c.Op]
	return cmd
}

// restoreOutcome is the last line of a checked restore that failed, with
// --json ($defs/restore_outcome of the schema): after the error objects,
// what became of the table.
type restoreOutcome struct {
	Restore restoreResult `json:"restore"`
}

type restoreResult struct {
	Status int `json:"status"` // the exit status
	// Message is the text's last line ("ipvsadm: 2 errors; nothing was
	// changed").
	Message string `json:"message"`
	Errors  int    `json:"errors"` // error objects printed before
	// Changed: the table is not as it was (status 4 only).
	Changed bool `json:"changed"`
	// AppliedChanges were sent and accepted before the kernel refused one
	// (statuses 3 and 4), and then undone as far as possible.
	AppliedChanges int `json:"applied_changes"`
	// Left are the -R lines that would get the table back (status 4).
	Left []string `json:"left"`
}

// nothingChanged is the summary of a checked restore refused with n
// errors.
func nothingChanged(argv0 string, n int) string {
	if n == 1 {
		return fmt.Sprintf("%s: 1 error; nothing was changed", filepath.Base(argv0))
	}
	return fmt.Sprintf("%s: %d errors; nothing was changed", filepath.Base(argv0), n)
}

// appendOutcome appends the outcome line of --json.
func appendOutcome(b []byte, r restoreResult) []byte {
	if r.Left == nil {
		r.Left = []string{}
	}
	return appendJSONLine(b, restoreOutcome{Restore: r})
}
