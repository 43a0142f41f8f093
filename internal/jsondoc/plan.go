package jsondoc

import (
	"strings"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// A Plan is what -R --dry-run --json writes (with --test, --atomic or
// --replace): the changes the checked restore would send, in order. It is
// not a table: -R --json refuses it as input.
type Plan struct {
	SchemaVersion int          `json:"schema_version"`
	Generator     Generator    `json:"generator"`
	NetNS         NetNS        `json:"netns"`
	IPVS          IPVS         `json:"ipvs"`
	Changes       []PlanChange `json:"changes"`
	Summary       PlanSummary  `json:"summary"`
}

// A PlanChange is one change of a plan. Before and After are the object
// in the listing's shape (Service, RealServer, Timeouts or Daemon) as it
// is before and after the change: null before an addition and after a
// deletion.
type PlanChange struct {
	Kind string `json:"kind"` // "add", "edit" or "delete"
	// Object is "service", "real_server", "timeouts", "daemon", "table"
	// (-C: every service deleted) or "counters" (-Z: zeroed, of Service
	// or, when it is null, of every service).
	Object string `json:"object"`
	// Line is the input line that asks for the change; null for a
	// deletion of --replace and for a JSON input.
	Line *int `json:"line"`
	// Service is the service the change is about (of a real server: its
	// service); null for the other objects.
	Service *ServiceKey `json:"service"`
	Before  any         `json:"before"`
	After   any         `json:"after"`
}

// ServiceKey names a service with the listing's keys.
type ServiceKey struct {
	Family   string  `json:"family"`
	Protocol *string `json:"protocol"`
	Address  *string `json:"address"`
	Port     *uint16 `json:"port"`
	FWMark   *uint32 `json:"fwmark"`
}

// PlanSummary counts a plan's changes by kind.
type PlanSummary struct {
	Changes int `json:"changes"`
	Add     int `json:"add"`
	Edit    int `json:"edit"`
	Delete  int `json:"delete"`
}

// Plan change kinds and objects.
const (
	KindAdd    = "add"
	KindEdit   = "edit"
	KindDelete = "delete"
)

// ServiceKeyOf names the service with key k.
func ServiceKeyOf(k rules.ServiceKey) *ServiceKey {
	sk := &ServiceKey{Family: k.Family.String()}
	if k.IsFWMark() {
		sk.FWMark = ptr(k.FWMark)
	} else {
		sk.Protocol = ptr(strings.ToLower(k.Protocol.String()))
		sk.Address = ptr(k.Addr.String())
		sk.Port = ptr(k.Port)
	}
	return sk
}

// PlanChangeOf describes change c on table before (the table as the
// earlier changes of the plan left it; c is not applied to it). line is
// c's input line, 0 for none.
func PlanChangeOf(before *rules.Table, c rules.Change, line int) PlanChange {
	pc := PlanChange{}
	if line != 0 {
		pc.Line = ptr(line)
	}
	k := c.Service.ServiceKey
	switch c.Op {
	case rules.OpAddService, rules.OpEditService, rules.OpDelService:
		pc.Object, pc.Service = "service", ServiceKeyOf(k)
		old, ok := before.Service(k)
		switch c.Op {
		case rules.OpAddService:
			pc.Kind, pc.After = KindAdd, serviceOf(&rules.ServiceEntry{Service: c.Service})
		case rules.OpEditService:
			// Real servers are changes of their own: a service's before
			// and after list none. An edit keeps the counters.
			after := c.Service
			after.Stats, after.Stats64 = old.Stats, old.Stats64
			pc.Kind, pc.Before, pc.After = KindEdit, serviceOf(&rules.ServiceEntry{Service: old}), serviceOf(&rules.ServiceEntry{Service: after})
		default:
			// A deleted service goes with its real servers: they are listed.
			pc.Kind = KindDelete
			if ok {
				pc.Before = serviceOf(&rules.ServiceEntry{Service: old, Dests: before.Destinations(k)})
			}
		}
	case rules.OpAddDest, rules.OpEditDest, rules.OpDelDest:
		pc.Object, pc.Service = "real_server", ServiceKeyOf(k)
		svc, _ := before.Service(k)
		old, ok := before.Destination(k, c.Dest.Key())
		switch c.Op {
		case rules.OpAddDest:
			pc.Kind, pc.After = KindAdd, realServerOf(&svc, &c.Dest)
		case rules.OpEditDest:
			after := c.Dest
			after.Stats, after.Stats64 = old.Stats, old.Stats64
			after.ActiveConns, after.InactiveConns, after.PersistentConns = old.ActiveConns, old.InactiveConns, old.PersistentConns
			pc.Kind, pc.Before, pc.After = KindEdit, realServerOf(&svc, &old), realServerOf(&svc, &after)
		default:
			pc.Kind = KindDelete
			if ok {
				pc.Before = realServerOf(&svc, &old)
			}
		}
	case rules.OpSetTimeouts:
		o, n := before.Timeouts(), c.Timeouts
		// A timeout of 0 keeps the current one.
		for _, f := range []struct{ v, old *uint32 }{{&n.TCP, &o.TCP}, {&n.TCPFin, &o.TCPFin}, {&n.UDP, &o.UDP}} {
			if *f.v == 0 {
				*f.v = *f.old
			}
		}
		pc.Kind, pc.Object, pc.Before, pc.After = KindEdit, "timeouts", TimeoutsOf(o), TimeoutsOf(n)
	case rules.OpStartDaemon:
		pc.Kind, pc.Object, pc.After = KindAdd, "daemon", DaemonsOf([]rules.Daemon{c.Daemon})[0]
	case rules.OpStopDaemon:
		pc.Kind, pc.Object = KindDelete, "daemon"
		for _, d := range before.Daemons() {
			if d.State == c.Daemon.State {
				pc.Before = DaemonsOf([]rules.Daemon{d})[0]
			}
		}
	case rules.OpFlush:
		pc.Kind, pc.Object = KindDelete, "table"
	case rules.OpZeroAll:
		pc.Kind, pc.Object = KindEdit, "counters"
	case rules.OpZeroService:
		pc.Kind, pc.Object, pc.Service = KindEdit, "counters", ServiceKeyOf(k)
	}
	return pc
}

// Count adds c to the summary.
func (s *PlanSummary) Count(c *PlanChange) {
	s.Changes++
	switch c.Kind {
	case KindAdd:
		s.Add++
	case KindEdit:
		s.Edit++
	case KindDelete:
		s.Delete++
	}
}
