package main

import (
	"errors"
	"fmt"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
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
	return errorMessage(&ipvs.Error{Op: clientOps[ce.Op], Err: ce.Err})
}

// lineError is one problem of a checked restore's input, at a line (0:
// a step of the plan that no input line asked for, a deletion).
type lineError struct {
	line int
	msg  string
}

func (e lineError) String() string {
	if e.line == 0 {
		return e.msg
	}
	return fmt.Sprintf("line %d: %s", e.line, e.msg)
}
