package main

import (
	"errors"

	"github.com/ipvsadm-go/ipvsadm/internal/cmdline"
	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// changeBatch queues kernel changes and sends them together, returning one
// result per change in order (see ipvs.Batch).
type changeBatch interface {
	rules.ChangeQueue
	// AddDestinationRef is AddDestination without copying its arguments,
	// which are not kept: a restore's most common line.
	AddDestinationRef(*rules.ServiceKey, *rules.Destination)
	Len() int
	Send() ([]error, error)
}

var _ changeBatch = (*ipvs.Batch)(nil)

// newBatch returns a pipelined batch when the backend has one, else one
// that runs each change in turn.
func newBatch(b backend) changeBatch {
	if c, ok := b.(*ipvs.Client); ok {
		return c.NewBatch()
	}
	return &serialBatch{b: b}
}

// serialBatch is a changeBatch that applies changes one by one.
type serialBatch struct {
	b   backend
	ops []func() error
}

func (s *serialBatch) add(f func() error) { s.ops = append(s.ops, f) }

func (s *serialBatch) AddService(v rules.Service) { s.add(func() error { return s.b.AddService(v) }) }
func (s *serialBatch) UpdateService(v rules.Service) {
	s.add(func() error { return s.b.UpdateService(v) })
}
func (s *serialBatch) DeleteService(k rules.ServiceKey) {
	s.add(func() error { return s.b.DeleteService(k) })
}
func (s *serialBatch) AddDestination(k rules.ServiceKey, d rules.Destination) {
	s.add(func() error { return s.b.AddDestination(k, d) })
}
func (s *serialBatch) AddDestinationRef(k *rules.ServiceKey, d *rules.Destination) {
	s.AddDestination(*k, *d)
}
func (s *serialBatch) UpdateDestination(k rules.ServiceKey, d rules.Destination) {
	s.add(func() error { return s.b.UpdateDestination(k, d) })
}
func (s *serialBatch) DeleteDestination(k rules.ServiceKey, d rules.Destination) {
	s.add(func() error { return s.b.DeleteDestination(k, d) })
}
func (s *serialBatch) ZeroAll() { s.add(s.b.ZeroAll) }
func (s *serialBatch) ZeroService(k rules.ServiceKey) {
	s.add(func() error { return s.b.ZeroService(k) })
}
func (s *serialBatch) Flush() { s.add(s.b.Flush) }
func (s *serialBatch) SetTimeouts(t rules.Timeouts) {
	s.add(func() error { return s.b.SetTimeouts(t) })
}
func (s *serialBatch) StartDaemon(d rules.Daemon) { s.add(func() error { return s.b.StartDaemon(d) }) }
func (s *serialBatch) StopDaemon(st rules.SyncState) {
	s.add(func() error { return s.b.StopDaemon(st) })
}
func (s *serialBatch) Len() int { return len(s.ops) }

func (s *serialBatch) Send() ([]error, error) {
	res := make([]error, len(s.ops))
	var fatal error
	for i, op := range s.ops {
		if fatal != nil {
			// As with the kernel batch: after a lost reply the rest is
			// not sent, and shares its fate.
			res[i] = fatal
			continue
		}
		res[i] = op()
		if errors.Is(res[i], ipvs.ErrTimeout) {
			fatal = res[i]
		}
	}
	s.ops = nil
	return res, fatal
}

// queueChange adds a modifying command to a batch; it reports false for
// commands that are not changes. It is changeOf(cmd).QueueOn(b) without
// the Change in between: a restore queues tens of thousands of lines, and
// copying each line's command into a Change was a good part of its work.
func queueChange(b changeBatch, cmd *cmdline.Command) bool {
	k := &cmd.Service.ServiceKey
	switch cmd.Kind {
	case cmdline.CmdAddServer:
		b.AddDestinationRef(k, &cmd.Dest)
	case cmdline.CmdAddService:
		b.AddService(cmd.Service)
	case cmdline.CmdEditService:
		b.UpdateService(cmd.Service)
	case cmdline.CmdDeleteService:
		b.DeleteService(*k)
	case cmdline.CmdFlush:
		b.Flush()
	case cmdline.CmdEditServer:
		b.UpdateDestination(*k, cmd.Dest)
	case cmdline.CmdDeleteServer:
		b.DeleteDestination(*k, cmd.Dest)
	case cmdline.CmdSetTimeouts:
		b.SetTimeouts(cmd.Timeouts)
	case cmdline.CmdStartDaemon:
		b.StartDaemon(cmd.Daemon)
	case cmdline.CmdStopDaemon:
		b.StopDaemon(cmd.Daemon.State)
	case cmdline.CmdZero:
		if zeroesAll(cmd) {
			b.ZeroAll()
		} else {
			b.ZeroService(*k)
		}
	default:
		return false
	}
	return true
}

// zeroesAll reports whether -Z acts on every service: without a service,
// or, as ipvsadm sends no service for it, with an all-zero one
// (-Z -t 0.0.0.0:0).
func zeroesAll(cmd *cmdline.Command) bool {
	k := cmd.Service.ServiceKey
	return !cmd.HasService || (k.FWMark == 0 && k.Port == 0 && k.Addr.IsUnspecified())
}

// A restorePipeline holds restore lines whose outcome is not known yet:
// queued changes and popt errors, in line order, so that messages come
// out in the order ipvsadm prints them.
type restorePipeline struct {
	p      *program
	batch  changeBatch
	lines  []heldLine
	status int // exit status of the last line settled
	// cmds are the queued changes' commands, for their hints; kept only
	// when hints are printed (standard error a terminal).
	cmds []cmdline.Command
	// lost is set when the kernel stopped answering: the outcome of the
	// rest is unknown, and the restore ends.
	lost bool
}

// A heldLine is a queued change (msg "") or a popt message and its hint.
type heldLine struct{ msg, hint string }

// maxQueued bounds the lines held before they are sent.
const maxQueued = 8192

func (pl *restorePipeline) poptError(msg, hint string) {
	pl.lines = append(pl.lines, heldLine{msg, hint})
	if len(pl.lines) >= maxQueued {
		pl.settle()
	}
}

func (pl *restorePipeline) queue(cmd *cmdline.Command) bool {
	if !queueChange(pl.batch, cmd) {
		return false
	}
	pl.lines = append(pl.lines, heldLine{})
	if pl.p.tty {
		pl.cmds = append(pl.cmds, *cmd)
	}
	if len(pl.lines) >= maxQueued {
		pl.settle()
	}
	return true
}

// settle sends what is queued and reports every held line's outcome.
func (pl *restorePipeline) settle() {
	var results []error
	if pl.batch.Len() > 0 {
		results, _ = pl.batch.Send()
	}
	i := 0
	for _, l := range pl.lines {
		if l.msg != "" {
			pl.p.report(l.msg, nil, l.hint)
			pl.status = 255
			continue
		}
		hint := ""
		if results[i] != nil && pl.p.tty {
			hint = commandHint(pl.cmds[i], results[i])
		}
		pl.status = pl.p.kernelError(results[i], hint)
		if errors.Is(results[i], ipvs.ErrTimeout) {
			// One message: every later change shares this fate.
			pl.lost = true
			break
		}
		i++
	}
	pl.lines, pl.cmds = pl.lines[:0], pl.cmds[:0]
}
