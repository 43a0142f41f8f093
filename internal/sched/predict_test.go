package sched

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// entry is a TCP service on 10.9.9.9:80 with real servers on port 80 in
// the kernel's order.
func entry(scheduler string, flags rules.ServiceFlags, dests ...rules.Destination) rules.ServiceEntry {
	return rules.ServiceEntry{Service: rules.Service{
		ServiceKey: rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: netip.MustParseAddr("10.9.9.9"), Port: 80},
		Scheduler:  scheduler, Flags: flags, Netmask: 0xffffffff,
	}, Dests: dests}
}

func dest(addr string, weight int32) rules.Destination {
	return rules.Destination{Addr: netip.MustParseAddr(addr), Port: 80, Weight: weight}
}

func sets(t *testing.T, specs ...string) []ClientSet {
	var out []ClientSet
	for _, s := range specs {
		cs, err := ParseClientSet(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cs)
	}
	return out
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestPredictSourceHash(t *testing.T) {
	// The kernel's list B, A (A added first): the reference's example.
	e := entry("sh", 0, dest("10.0.0.2", 2), dest("10.0.0.1", 1))
	pr, err := Predict(e, sets(t, "192.168.1.10", "192.168.1.11", "10.1.2.3"), WhatIf{})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.AddrPort{ap("10.0.0.1:80"), ap("10.0.0.2:80"), ap("10.0.0.1:80")}
	for i, a := range pr.Assigned {
		if a.Now != want[i] || a.Then != a.Now {
			t.Errorf("%s: %v", a.Client, a)
		}
	}
	if !pr.Certain || pr.Clients != 3 || pr.Servers[0].Now != 1 || pr.Servers[1].Now != 2 || pr.Moves != nil {
		t.Errorf("%+v", pr)
	}

	// Without B, everything goes to A; two of 256 clients per slot...
	pr, err = Predict(e, sets(t, "192.168.0.0/24"), WhatIf{Without: []netip.AddrPort{ap("10.0.0.2:80")}})
	if err != nil {
		t.Fatal(err)
	}
	if pr.Servers[1].Then != 256 || pr.Servers[0].Then != 0 || !pr.Servers[0].Removed || pr.Moved != pr.Servers[0].Now {
		t.Errorf("without B: %+v", pr.Servers)
	}
	if len(pr.Moves) != 1 || pr.Moves[0].From != ap("10.0.0.2:80") || pr.Moves[0].To != ap("10.0.0.1:80") {
		t.Errorf("moves %+v", pr.Moves)
	}

	// Quiescing B (weight 0, by address) without sh-fallback: the table is
	// rebuilt with one slot per turn for B, whose clients have no server.
	pr, err = Predict(e, sets(t, "192.168.0.0/24"), WhatIf{With: []Reweight{{netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), 0), 0}}})
	if err != nil {
		t.Fatal(err)
	}
	if pr.NoneThen != 127 || pr.Servers[1].Then != 129 || pr.Moved != 215 || pr.Servers[0].ThenWeight != 0 {
		t.Errorf("quiesce: none %d, A %d, moved %d", pr.NoneThen, pr.Servers[1].Then, pr.Moved)
	}
	// A new server joins at the head.
	pr, err = Predict(e, sets(t, "192.168.0.0/24"), WhatIf{With: []Reweight{{ap("10.0.0.3:80"), 1}}})
	if err != nil || !pr.Servers[2].Added || pr.Servers[2].Then == 0 {
		t.Errorf("add: %+v, %v", pr, err)
	}
}

func TestPredictNotes(t *testing.T) {
	for _, tt := range []struct {
		e       rules.ServiceEntry
		clients []string
		code    string
		certain bool
	}{
		{entry("rr", 0, dest("10.0.0.1", 1)), []string{"1.1.1.1"}, NotePosition, false},
		{entry("wlc", 0, dest("10.0.0.1", 1)), []string{"1.1.1.1"}, NoteCounters, false},
		{entry("mh", 0, dest("10.0.0.1", 0), dest("10.0.0.2", 1)), []string{"1.1.1.1"}, NoteLastWeight, false},
		{entry("sh", rules.FlagSched2, dest("10.0.0.1", 1)), []string{"1.1.1.1"}, NoteClientPort, false},
		{entry("sh", rules.FlagSched2, dest("10.0.0.1", 1)), []string{"1.1.1.1:5"}, "", true},
		{entry("dh", 0, dest("10.0.0.1", 1)), []string{"1.1.1.1"}, NoteSameServer, true},
		{func() rules.ServiceEntry {
			e := entry("sh", 0, dest("10.0.0.1", 1))
			e.Service.Flags |= rules.FlagPersistent
			return e
		}(), []string{"1.1.1.1"}, NotePersistence, false},
		{func() rules.ServiceEntry {
			d := dest("10.0.0.1", 1)
			d.UpperThreshold, d.ActiveConns = 10, 9
			return entry("sh", 0, d)
		}(), []string{"1.1.1.1"}, NoteOverload, false},
	} {
		pr, err := Predict(tt.e, sets(t, tt.clients...), WhatIf{})
		if err != nil {
			t.Fatal(err)
		}
		found := tt.code == ""
		for _, n := range pr.Notes {
			found = found || n.Code == tt.code
		}
		if !found || pr.Certain != tt.certain {
			t.Errorf("%s %v: notes %+v, certain %v", tt.e.Service.Scheduler, tt.clients, pr.Notes, pr.Certain)
		}
	}
}

func TestPredictCountingSequence(t *testing.T) {
	// wlc with weights 2 and 1, no connections: a TCP client each time
	// counts as active, so four clients go A B A A... as the kernel would
	// see them one after the other.
	e := entry("wlc", 0, dest("10.0.0.1", 2), dest("10.0.0.2", 1))
	pr, err := Predict(e, sets(t, "1.1.1.1:1-6"), WhatIf{})
	if err != nil {
		t.Fatal(err)
	}
	if pr.Servers[0].Now != 4 || pr.Servers[1].Now != 2 {
		t.Errorf("%+v", pr.Servers)
	}
	// An upper threshold of 2 on A overloads it after two connections.
	e.Dests[0].UpperThreshold = 2
	pr, _ = Predict(e, sets(t, "1.1.1.1:1-6"), WhatIf{})
	if pr.Servers[0].Now != 2 || pr.Servers[1].Now != 4 {
		t.Errorf("threshold: %+v", pr.Servers)
	}
}

func TestPredictErrors(t *testing.T) {
	for _, tt := range []struct {
		e       rules.ServiceEntry
		clients []string
		w       WhatIf
		unpred  bool
	}{
		{entry("lblc", 0), []string{"1.1.1.1"}, WhatIf{}, true},
		{entry("none", 0), []string{"1.1.1.1"}, WhatIf{}, true},
		{func() rules.ServiceEntry {
			e := entry("dh", 0)
			e.Service.ServiceKey = rules.ServiceKey{Family: rules.IPv4, FWMark: 1}
			return e
		}(), []string{"1.1.1.1"}, WhatIf{}, true},
		{entry("sh", 0, dest("10.0.0.1", 1)), []string{"2001:db8::1"}, WhatIf{}, false},
		{entry("sh", 0, dest("10.0.0.1", 1)), []string{"0.0.0.0/0:0-1"}, WhatIf{}, false},
		{entry("sh", 0, dest("10.0.0.1", 1)), []string{"1.1.1.1"}, WhatIf{Without: []netip.AddrPort{ap("10.0.0.9:80")}}, false},
		{entry("sh", 0, dest("10.0.0.1", 1)), []string{"1.1.1.1"}, WhatIf{With: []Reweight{{netip.AddrPortFrom(netip.MustParseAddr("10.0.0.9"), 0), 1}}}, false},
		{entry("sh", 0, dest("10.0.0.1", 1)), []string{"1.1.1.1"}, WhatIf{With: []Reweight{{ap("[2001:db8::1]:80"), 1}}}, false},
		{entry("sh", 0, dest("10.0.0.1", 1)), []string{"1.1.1.1"}, WhatIf{Without: []netip.AddrPort{ap("10.0.0.1:80")}, With: []Reweight{{ap("10.0.0.1:80"), 1}}}, false},
	} {
		_, err := Predict(tt.e, sets(t, tt.clients...), tt.w)
		var ue *UnpredictableError
		if err == nil || errors.As(err, &ue) != tt.unpred {
			t.Errorf("%s %v %+v: %v", tt.e.Service.Scheduler, tt.clients, tt.w, err)
		}
	}
}
