package plan

import (
	"fmt"
	"math/rand"
	"net/netip"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

func tcp(addr string, port uint16) rules.ServiceKey {
	return rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: netip.MustParseAddr(addr), Port: port}
}

func svc(k rules.ServiceKey, sched string) rules.Service {
	return rules.Service{ServiceKey: k, Scheduler: sched, Netmask: 0xffffffff}
}

func dest(addr string, w int32) rules.Destination {
	a := netip.MustParseAddr(addr)
	return rules.Destination{Family: rules.FamilyOf(a), Addr: a, Port: 80, Forward: rules.Masquerade, Weight: w}
}

// build applies changes to a fresh table.
func build(t *testing.T, changes ...rules.Change) *rules.Table {
	t.Helper()
	tb := rules.NewTable()
	for _, c := range changes {
		require.NoError(t, tb.Apply(c), "%s", c)
	}
	return tb
}

func addSvc(s rules.Service) rules.Change { return rules.Change{Op: rules.OpAddService, Service: s} }
func addDest(k rules.ServiceKey, d rules.Destination) rules.Change {
	return rules.Change{Op: rules.OpAddDest, Service: rules.Service{ServiceKey: k}, Dest: d}
}

// state is a table's content as sets, whatever its order.
func state(tb *rules.Table) map[string]string {
	m := map[string]string{}
	for _, e := range tb.Entries() {
		m[e.Service.ServiceKey.String()] = fmt.Sprint(e.Service)
		for _, d := range e.Dests {
			m[e.Service.ServiceKey.String()+" "+d.Key().String()] = fmt.Sprint(d)
		}
	}
	m["timeouts"] = fmt.Sprint(tb.Timeouts())
	m["daemons"] = fmt.Sprint(tb.Daemons())
	return m
}

func changeLines(cs []rules.Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.String())
	}
	return out
}

func TestDiff(t *testing.T) {
	a, b, c := tcp("10.0.0.1", 80), tcp("10.0.0.2", 80), tcp("10.0.0.3", 80)
	live := build(t,
		addSvc(svc(a, "rr")), addDest(a, dest("10.1.0.1", 1)), addDest(a, dest("10.1.0.2", 1)),
		addSvc(svc(b, "wlc")), addDest(b, dest("10.1.0.3", 1)),
	)
	tests := []struct {
		name    string
		desired *rules.Table
		opts    Options
		want    []string
	}{
		{"same", live.Clone(), Options{}, nil},
		{"edit in place, add before delete, delete last",
			build(t, addSvc(svc(a, "wrr")), addDest(a, dest("10.1.0.1", 5)), addDest(a, dest("10.1.0.9", 1)), addSvc(svc(c, "rr"))),
			Options{},
			[]string{
				"add service TCP 10.0.0.3:80 sched=\"rr\" flags=0x0 timeout=0 netmask=0xffffffff pe=\"\"",
				"edit service TCP 10.0.0.1:80 sched=\"wrr\" flags=0x0 timeout=0 netmask=0xffffffff pe=\"\"",
				"edit destination TCP 10.0.0.1:80 -> inet 10.1.0.1:80 fwd=Masq w=5 thresh=0/0 tun=ipip:0/0",
				"add destination TCP 10.0.0.1:80 -> inet 10.1.0.9:80 fwd=Masq w=1 thresh=0/0 tun=ipip:0/0",
				"delete destination TCP 10.0.0.1:80 -> inet 10.1.0.2:80",
				"delete service TCP 10.0.0.2:80",
			}},
		{"scope leaves the rest alone",
			build(t, addSvc(svc(c, "rr"))),
			Options{Scope: Scope{{Prefix: netip.MustParsePrefix("10.0.0.2/31")}}},
			[]string{
				"add service TCP 10.0.0.3:80 sched=\"rr\" flags=0x0 timeout=0 netmask=0xffffffff pe=\"\"",
				"delete service TCP 10.0.0.2:80",
			}},
		{"timeouts only when asked", func() *rules.Table {
			d := live.Clone()
			require.NoError(t, d.Apply(rules.Change{Op: rules.OpSetTimeouts, Timeouts: rules.Timeouts{TCP: 5}}))
			return d
		}(), Options{Timeouts: true}, []string{"set timeouts 5 120 300"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Diff(live, tc.desired, tc.opts)
			require.Equal(t, tc.want, changeLines(got))
			sim := Simulate(live.Clone(), got)
			require.Zero(t, sim.Refused)
		})
	}
}

// randomTable draws services and real servers from small pools, so that
// two draws overlap.
func randomTable(rng *rand.Rand) *rules.Table {
	tb := rules.NewTable()
	scheds := []string{"rr", "wlc", "sh", "mh"}
	for i := 0; i < 12; i++ {
		if rng.Intn(3) == 0 {
			continue
		}
		var k rules.ServiceKey
		if i < 9 {
			k = tcp(fmt.Sprintf("10.0.0.%d", i+1), 80)
		} else {
			k = rules.ServiceKey{Family: rules.IPv4, FWMark: uint32(i)}
		}
		s := svc(k, scheds[rng.Intn(len(scheds))])
		if rng.Intn(3) == 0 {
			s.Flags, s.Timeout = rules.FlagPersistent, 300
		}
		tb.Apply(addSvc(s))
		// Some services are long enough for the diff and the model to
		// find their real servers through lookups rather than scans.
		pool := 8
		if i%4 == 0 {
			pool = 80
		}
		for j := 0; j < pool; j++ {
			if rng.Intn(2) == 0 {
				continue
			}
			d := dest(fmt.Sprintf("10.1.%d.%d", i, j+1), int32(1+rng.Intn(3)))
			if rng.Intn(4) == 0 {
				d.UpperThreshold, d.LowerThreshold = 10, uint32(rng.Intn(5))
			}
			tb.Apply(addDest(k, d))
		}
	}
	if rng.Intn(2) == 0 {
		tb.Apply(rules.Change{Op: rules.OpSetTimeouts, Timeouts: rules.Timeouts{TCP: uint32(100 + rng.Intn(3))}})
	}
	return tb
}

// TestDiffConverges: between random tables, the plan is accepted by the
// model, reaches the desired table within the scope and leaves the rest,
// deletes nothing both hold, adds before it deletes, and a second plan is
// empty.
func TestDiffConverges(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	scopes := []Scope{nil, {{Prefix: netip.MustParsePrefix("10.0.0.0/30")}, {FWMarkLo: 10, FWMarkHi: 10}}}
	for i := 0; i < 300; i++ {
		live, desired := randomTable(rng), randomTable(rng)
		scope := scopes[i%2]
		changes := Diff(live, desired, Options{Scope: scope, Timeouts: true})
		after := live.Clone()
		sim := Simulate(after, changes)
		require.Zero(t, sim.Refused, "%d: %v", i, sim.Errs)

		lastAdd, firstDel := -1, len(changes)
		for j, c := range changes {
			switch c.Op {
			case rules.OpAddService, rules.OpAddDest, rules.OpEditService, rules.OpEditDest:
				lastAdd = j
			case rules.OpDelService, rules.OpDelDest:
				firstDel = min(firstDel, j)
				if c.Op == rules.OpDelService {
					_, both := desired.Service(c.Service.ServiceKey)
					require.False(t, both && scope.Contains(c.Service.ServiceKey), "deletes a service both tables hold")
				} else {
					require.False(t, slices.ContainsFunc(desired.Destinations(c.Service.ServiceKey), func(d rules.Destination) bool { return d.Key() == c.Dest.Key() }))
				}
			case rules.OpFlush:
				t.Fatal("a plan flushes")
			}
		}
		require.Less(t, lastAdd, firstDel, "deletions come last")

		want := state(live)
		for k := range want {
			if k != "timeouts" && k != "daemons" && inScope(live, scope, k) {
				delete(want, k)
			}
		}
		for k, v := range state(desired) {
			if k == "timeouts" || k == "daemons" || inScope(desired, scope, k) {
				want[k] = v
			}
		}
		want["daemons"] = fmt.Sprint(live.Daemons())
		require.Equal(t, want, state(after), "%d", i)
		require.Empty(t, Diff(after, desired, Options{Scope: scope, Timeouts: true}), "a second plan is empty")
	}
}

// inScope reports whether the object named k (a key of state) belongs to a
// service within scope.
func inScope(tb *rules.Table, scope Scope, k string) bool {
	for _, s := range tb.Services() {
		name := s.ServiceKey.String()
		if k == name || len(k) > len(name) && k[:len(name)+1] == name+" " {
			return scope.Contains(s.ServiceKey)
		}
	}
	return false
}

// TestInverseUndoes: any accepted changes, undone in reverse order with
// their inverses, give back the table's content.
func TestInverseUndoes(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 300; i++ {
		start := randomTable(rng)
		require.NoError(t, start.Apply(rules.Change{Op: rules.OpStartDaemon, Daemon: rules.Daemon{State: rules.Backup, Interface: "lo", SyncID: 3}}))
		other := randomTable(rng)
		changes := Diff(start, other, Options{Timeouts: true})
		// Some script-like changes too.
		switch i % 4 {
		case 0:
			changes = append(changes, rules.Change{Op: rules.OpFlush})
		case 1:
			changes = append(changes, rules.Change{Op: rules.OpStopDaemon, Daemon: rules.Daemon{State: rules.Backup}})
		case 2:
			changes = append(changes, rules.Change{Op: rules.OpStartDaemon, Daemon: rules.Daemon{State: rules.Master, Interface: "lo"}})
		}
		tb := start.Clone()
		sim := Simulate(tb, changes)
		for j := len(changes) - 1; j >= 0; j-- {
			for _, u := range sim.Undo(j) {
				require.NoError(t, tb.Apply(u), "undo of %s: %s", changes[j], u)
			}
		}
		// A real server or service that comes back lists first in its
		// list or bucket: the content is the same, the order may not be.
		require.Equal(t, state(start), state(tb), "%d", i)
	}
}

func TestParseScope(t *testing.T) {
	sc, err := ParseScope("10.0.0.0/8,2001:db8::1,fwmark:5,fwmark:10-20")
	require.NoError(t, err)
	require.Equal(t, "10.0.0.0/8,2001:db8::1/128,fwmark:5,fwmark:10-20", sc.String())
	require.True(t, sc.Contains(tcp("10.2.3.4", 80)))
	require.False(t, sc.Contains(tcp("11.0.0.1", 80)))
	require.True(t, sc.Contains(rules.ServiceKey{Family: rules.IPv6, FWMark: 15}))
	require.False(t, sc.Contains(rules.ServiceKey{Family: rules.IPv4, FWMark: 6}))
	require.True(t, Scope(nil).Contains(tcp("1.1.1.1", 1)))
	for _, bad := range []string{"", "10.0.0.0/33", "fwmark:0", "fwmark:5-4", "fwmark:x", "host"} {
		_, err := ParseScope(bad)
		require.Error(t, err, bad)
	}
}

// FuzzParseScope: whatever ParseScope accepts prints back to itself.
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "fwmark:1-5,::1", "fwmark:", "1.2.3.4,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseScope(s)
		if err != nil {
			return
		}
		again, err := ParseScope(sc.String())
		require.NoError(t, err, "%q -> %q", s, sc.String())
		require.Equal(t, sc, again)
	})
}
