package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/ipvsadm-go/ipvsadm/internal/cmdline"
	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
)

// restoreJSON is -R --json: it reads the document -L --json writes and
// adds its services, each with its real servers, then sets its timeouts
// (if the document has them). The whole document is checked before
// anything is sent; a bad one changes nothing (exit 2). Counters, sync
// daemons and the other keys are not restored. Every refused change is
// reported, named by its service and real server, and the exit status is
// then 255, as for a refused ipvsadm command.
//
// The kernel lists real servers newest first, so they are added from the
// last to the first: the restored service lists them in the document's
// order.
func (p *program) restoreJSON() int {
	fail := func(err error) int {
		p.report(fmt.Sprintf("%s: cannot restore from standard input: %v", filepath.Base(p.argv0), err), nil,
			"-R --json reads one document as -L --json writes it (docs/ipvsadm.schema.json)")
		return 2
	}
	doc, err := jsondoc.Decode(p.stdin)
	if err != nil {
		return fail(err)
	}
	entries, err := doc.Entries()
	if err != nil {
		return fail(err)
	}
	type change struct {
		object string
		cmd    cmdline.Command // for the hint
	}
	var changes []change
	b := newBatch(p.b)
	status := 0
	send := func() bool {
		results, _ := b.Send()
		for i, r := range results {
			if r == nil {
				continue
			}
			status = 255
			c := changes[i]
			p.report(c.object+": "+errorMessage(r), r, commandHint(c.cmd, r))
			if errors.Is(r, ipvs.ErrTimeout) {
				return false
			}
		}
		changes = changes[:0]
		return true
	}
	for _, e := range entries {
		key := e.Service.ServiceKey
		b.AddService(e.Service)
		changes = append(changes, change{object: key.String(), cmd: cmdline.Command{Kind: cmdline.CmdAddService, Service: e.Service}})
		for i := len(e.Dests) - 1; i >= 0; i-- {
			d := e.Dests[i]
			b.AddDestination(key, d)
			changes = append(changes, change{object: key.String() + " -> " + d.Key().String(),
				cmd: cmdline.Command{Kind: cmdline.CmdAddServer, Service: e.Service, Dest: d}})
		}
		if b.Len() >= maxQueued && !send() {
			return status
		}
	}
	if t, ok := doc.TimeoutsSetting(); ok {
		b.SetTimeouts(t)
		changes = append(changes, change{object: "timeouts", cmd: cmdline.Command{Kind: cmdline.CmdSetTimeouts, Timeouts: t}})
	}
	if b.Len() > 0 {
		send()
	}
	return status
}
