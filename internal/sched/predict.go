package sched

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// This file holds predictions (--predict): which real server of a live
// service each client would get, and with a what-if (real servers removed,
// added or reweighted) which clients would move.

// MaxClients bounds the clients of one prediction.
const MaxClients = 1 << 20

// MaxAssignments bounds the per-client answers a prediction keeps; beyond
// it only the counts are kept.
const MaxAssignments = 4096

// A WhatIf is a hypothetical change of a service's real servers.
type WhatIf struct {
	// Without are real servers taken out; a port of 0 means every real
	// server of the address.
	Without []netip.AddrPort
	// With are real servers given a weight: an existing one is edited
	// (port 0: every real server of the address), a new one (a port is
	// needed) is added as the kernel adds it, at the head of the list.
	With []Reweight
}

// A Reweight is one real server of WhatIf.With.
type Reweight struct {
	Server netip.AddrPort
	Weight int32
}

// Empty reports whether w changes nothing.
func (w WhatIf) Empty() bool { return len(w.Without) == 0 && len(w.With) == 0 }

// Note codes: why a prediction may differ from what the kernel does.
const (
	NotePosition    = "position"     // rr, wrr: the kernel's position is not exported
	NoteCounters    = "counters"     // counting schedulers: counters change between now and the connection
	NoteLastWeight  = "last_weight"  // mh: a quiesced server's slots follow its last weight, not exported
	NoteOverload    = "overload"     // a server's OVERLOAD flag is not exported and cannot be derived
	NotePersistence = "persistence"  // a persistent client keeps its server while its template lives
	NoteClientPort  = "client_port"  // the scheduler hashes the client port, not given for some clients
	NoteFWMarkProto = "fwmark_proto" // a fwmark service: the packet protocol is unknown, TCP assumed
	NoteSameServer  = "same_server"  // dh: every client of the virtual address gets one server
)

// A Note tells what a prediction rests on.
type Note struct {
	Code string
	Text string
	// Uncertain notes name state the kernel does not export: the
	// prediction can differ from what the kernel will do.
	Uncertain bool
}

// A ServerCount is one real server of a prediction with the clients it
// gets now and with the what-if.
type ServerCount struct {
	Server     netip.AddrPort
	Weight     int32 // now; for a server the what-if adds, its weight there
	ThenWeight int32 // with the what-if
	Now, Then  uint64
	Removed    bool // taken out by the what-if
	Added      bool // added by the what-if
}

// An Assignment is one client's real server now and with the what-if; an
// invalid AddrPort means none.
type Assignment struct {
	Client    netip.AddrPort
	Now, Then netip.AddrPort
}

// A Move counts the clients that go from one real server to another with
// the what-if (an invalid AddrPort is "none").
type Move struct {
	From, To netip.AddrPort
	Clients  uint64
}

// A Prediction is the answer for a service and a set of clients.
type Prediction struct {
	Scheduler   string
	Determinism Determinism
	HasWhatIf   bool
	Clients     uint64
	// Servers are in the kernel's order, then those the what-if adds.
	Servers   []ServerCount
	NoneNow   uint64 // clients no real server would take
	NoneThen  uint64
	Moved     uint64
	Moves     []Move       // largest first; nil without a what-if
	Assigned  []Assignment // nil when there are more than MaxAssignments clients
	Notes     []Note
	Certain   bool // no uncertain note
	Protocol  rules.Protocol
	Family    rules.Family
	WithPorts bool // some client has a port

	virtual netip.Addr // the packets' destination
}

// An UnpredictableError is returned for a service whose choices depend on
// state the kernel does not export at all (lblc, lblcr, dh on a firewall
// mark), or that has no scheduler with a model.
type UnpredictableError struct{ Reason string }

func (e *UnpredictableError) Error() string { return e.Reason }

// Predict predicts the real server of every client of sets for the service
// e, whose real servers are in the kernel's order, and with w (which may be
// empty) where they would go instead.
func Predict(e rules.ServiceEntry, sets []ClientSet, w WhatIf) (*Prediction, error) {
	svc := e.Service
	switch DeterminismOf(svc.Scheduler) {
	case Unmodelled:
		if svc.Scheduler == "lblc" || svc.Scheduler == "lblcr" {
			return nil, &UnpredictableError{svc.Scheduler + " picks from a table of recent destinations that the kernel does not export"}
		}
		return nil, &UnpredictableError{fmt.Sprintf("there is no model of the scheduler %q", svc.Scheduler)}
	}
	if svc.Scheduler == "dh" && svc.IsFWMark() {
		return nil, &UnpredictableError{"dh hashes the packet's destination address, which a firewall-mark service does not fix"}
	}
	var total uint64
	for _, s := range sets {
		if rules.FamilyOf(s.Prefix.Addr()) != svc.Family {
			return nil, fmt.Errorf("client %s is not an %s address, as the service is", s, svc.Family)
		}
		if total += s.Count(); total > MaxClients || total < s.Count() {
			return nil, fmt.Errorf("more than %d clients", MaxClients)
		}
	}
	pr := &Prediction{Scheduler: svc.Scheduler, Determinism: DeterminismOf(svc.Scheduler), HasWhatIf: !w.Empty(),
		Clients: total, Protocol: svc.Protocol, Family: svc.Family, virtual: svc.Addr}
	now, thresholds, err := pr.nowModel(e)
	if err != nil {
		return nil, err
	}
	then := now.Clone()
	if err := pr.applyWhatIf(then, w, thresholds); err != nil {
		return nil, err
	}
	pr.notes(e, sets)
	pr.run(now, then, sets, thresholds)
	pr.Certain = !slices.ContainsFunc(pr.Notes, func(n Note) bool { return n.Uncertain })
	return pr, nil
}

func (pr *Prediction) note(code string, uncertain bool, format string, args ...any) {
	if !slices.ContainsFunc(pr.Notes, func(n Note) bool { return n.Code == code }) {
		pr.Notes = append(pr.Notes, Note{Code: code, Text: fmt.Sprintf(format, args...), Uncertain: uncertain})
	}
}

// nowModel builds the model of the service as the kernel holds it now.
func (pr *Prediction) nowModel(e rules.ServiceEntry) (*Model, map[netip.AddrPort]uint32, error) {
	servers := make([]Server, len(e.Dests))
	thresholds := map[netip.AddrPort]uint32{}
	for i, d := range e.Dests {
		servers[i] = ServerOf(d)
		ap := netip.AddrPortFrom(d.Addr, d.Port)
		thresholds[ap] = d.UpperThreshold
		if _, certain := OverloadOf(d); !certain {
			pr.note(NoteOverload, true, "%s is between its connection thresholds: whether the kernel marked it overloaded is not exported (taken as not overloaded)", ap)
		}
		if d.Weight == 0 && e.Service.Scheduler == "mh" {
			servers[i].LastWeight = 1
			pr.note(NoteLastWeight, true, "mh keeps the table slots of a server of weight 0 by its last weight, which the kernel does not export (taken as 1)")
		}
		pr.Servers = append(pr.Servers, ServerCount{Server: ap, Weight: d.Weight, ThenWeight: d.Weight})
	}
	m, err := New(e.Service.Scheduler, e.Service.Family, e.Service.Flags, servers)
	return m, thresholds, err
}

// applyWhatIf changes then as the kernel would on these changes.
func (pr *Prediction) applyWhatIf(then *Model, w WhatIf, thresholds map[netip.AddrPort]uint32) error {
	matching := func(ap netip.AddrPort) []int {
		var idx []int
		for i, s := range pr.Servers {
			if s.Server.Addr() == ap.Addr() && (ap.Port() == 0 || s.Server.Port() == ap.Port()) && !s.Removed {
				idx = append(idx, i)
			}
		}
		return idx
	}
	for _, ap := range w.Without {
		idx := matching(ap)
		if len(idx) == 0 {
			return fmt.Errorf("%s is not a real server of the service", fmtServer(ap))
		}
		for _, i := range idx {
			s := &pr.Servers[i]
			s.Removed = true
			then.Delete(then.Index(s.Server.Addr(), s.Server.Port()))
		}
	}
	for _, r := range w.With {
		if r.Weight < 0 {
			return fmt.Errorf("weight %d of %s: weights are 0 or more", r.Weight, fmtServer(r.Server))
		}
		idx := matching(r.Server)
		if slices.ContainsFunc(pr.Servers, func(s ServerCount) bool { return s.Removed && s.Server == r.Server }) {
			return fmt.Errorf("%s is both taken out and given a weight", fmtServer(r.Server))
		}
		if len(idx) == 0 {
			if r.Server.Port() == 0 {
				return fmt.Errorf("%s is not a real server of the service: to add one, give its port", fmtServer(r.Server))
			}
			if rules.FamilyOf(r.Server.Addr()) != pr.Family {
				return fmt.Errorf("%s is not an %s address, as the service is", r.Server.Addr(), pr.Family)
			}
			then.Add(Server{Addr: r.Server.Addr(), Port: r.Server.Port(), Weight: r.Weight})
			thresholds[r.Server] = 0
			pr.Servers = append(pr.Servers, ServerCount{Server: r.Server, Weight: r.Weight, ThenWeight: r.Weight, Added: true})
			continue
		}
		for _, i := range idx {
			s := &pr.Servers[i]
			s.ThenWeight = r.Weight
			then.SetWeight(then.Index(s.Server.Addr(), s.Server.Port()), r.Weight)
		}
	}
	return nil
}

func fmtServer(ap netip.AddrPort) string {
	if ap.Port() == 0 {
		return ap.Addr().String()
	}
	return ap.String()
}

// notes adds what the prediction rests on.
func (pr *Prediction) notes(e rules.ServiceEntry, sets []ClientSet) {
	svc := e.Service
	switch pr.Determinism {
	case Positional:
		pr.note(NotePosition, true, "%s goes round the real servers from a position the kernel does not export: the clients are taken as successive new connections from the head of the list, as on a fresh service (after any change of real servers for wrr)", svc.Scheduler)
	case Counting:
		pr.note(NoteCounters, true, "%s chooses by the connection counters at the moment of each connection: the clients are taken as successive new connections from the counters read now (each counted as active for TCP, inactive for UDP and SCTP), as if no other connection started or ended meanwhile", svc.Scheduler)
	}
	if svc.Persistent() {
		pr.note(NotePersistence, true, "the service is persistent: a client (or its netmask group) with a live persistence template keeps the real server of that template; this predicts clients without one")
	}
	portHash := (svc.Scheduler == "sh" || svc.Scheduler == "mh") && svc.Flags&rules.FlagSched2 != 0
	for _, s := range sets {
		pr.WithPorts = pr.WithPorts || s.HasPort
		if portHash && !s.HasPort {
			pr.note(NoteClientPort, true, "%s-port hashes the client's source port too: clients given without a port are taken as port 0", svc.Scheduler)
		}
	}
	if portHash && svc.IsFWMark() {
		pr.note(NoteFWMarkProto, false, "a firewall-mark service: the port counts for TCP, UDP and SCTP packets, taken as such")
	}
	if svc.Scheduler == "dh" {
		pr.note(NoteSameServer, false, "dh hashes the packet's destination, here the virtual address: every client gets the same real server")
	}
}

// run schedules every client on both models.
func (pr *Prediction) run(now, then *Model, sets []ClientSet, thresholds map[netip.AddrPort]uint32) {
	proto := pr.Protocol
	if proto == 0 {
		proto = rules.TCP // a firewall mark: see NoteFWMarkProto
	}
	index := map[netip.AddrPort]int{}
	for i, s := range pr.Servers {
		index[s.Server] = i
	}
	moves := map[[2]netip.AddrPort]uint64{}
	keep := pr.Clients <= MaxAssignments
	pick := func(m *Model, p Packet) netip.AddrPort {
		i := m.Schedule(p)
		if i < 0 {
			return netip.AddrPort{}
		}
		s := m.servers[i]
		if DeterminismOf(m.scheduler) == Counting {
			m.count(i, proto, thresholds[netip.AddrPortFrom(s.Addr, s.Port)])
		}
		return netip.AddrPortFrom(s.Addr, s.Port)
	}
	for _, set := range sets {
		set.Each(func(c netip.AddrPort) bool {
			p := Packet{Protocol: proto, Client: c, Virtual: pr.virtual}
			a := pick(now, p)
			if a.IsValid() {
				pr.Servers[index[a]].Now++
			} else {
				pr.NoneNow++
			}
			b := a
			if pr.HasWhatIf {
				b = pick(then, p)
				if b.IsValid() {
					pr.Servers[index[b]].Then++
				} else {
					pr.NoneThen++
				}
				if a != b {
					pr.Moved++
					moves[[2]netip.AddrPort{a, b}]++
				}
			}
			if keep {
				pr.Assigned = append(pr.Assigned, Assignment{Client: c, Now: a, Then: b})
			}
			return true
		})
	}
	if !pr.HasWhatIf {
		for i := range pr.Servers {
			pr.Servers[i].Then = pr.Servers[i].Now
		}
		pr.NoneThen = pr.NoneNow
		return
	}
	pr.Moves = []Move{}
	for k, n := range moves {
		pr.Moves = append(pr.Moves, Move{From: k[0], To: k[1], Clients: n})
	}
	slices.SortFunc(pr.Moves, func(a, b Move) int {
		return cmp.Or(cmp.Compare(b.Clients, a.Clients), a.From.Compare(b.From), a.To.Compare(b.To))
	})
}

// count records a new connection on the server at i as the kernel counts
// it: active for TCP (a SYN already counts as active), inactive for UDP
// and SCTP (active only once established), and OVERLOAD once the total
// reaches the upper threshold.
func (m *Model) count(i int, proto rules.Protocol, upper uint32) {
	s := &m.servers[i]
	if proto == rules.TCP {
		s.ActiveConns++
	} else {
		s.InactiveConns++
	}
	if upper != 0 && uint64(s.ActiveConns)+uint64(s.InactiveConns) >= uint64(upper) {
		s.Overloaded = true
	}
}
