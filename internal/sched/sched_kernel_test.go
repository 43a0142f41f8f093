package sched_test

// Kernel tests of the scheduler models: real traffic through a real IPVS
// (the project's VM), and for every connection the real server the kernel
// recorded in its connection table must be the one the model predicted,
// through adds, weight changes and deletes of real servers, v4 and v6.

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/sched"
	"github.com/ipvsadm-go/ipvsadm/internal/sched/schedtest"
)

// A pair is a kernel service and its model, changed together.
type pair struct {
	t   *testing.T
	b   *schedtest.Bed
	key rules.ServiceKey
	m   *sched.Model
	// upper is the upper connection threshold given to real servers of
	// weight 5 (0: none), to bring OVERLOAD into play.
	upper uint32
}

// newPair adds a service with no real servers and its model.
func newPair(t *testing.T, b *schedtest.Bed, key rules.ServiceKey, scheduler string, flags rules.ServiceFlags) *pair {
	t.Helper()
	mask := uint32(0xffffffff)
	if key.Family == rules.IPv6 {
		mask = 128
	}
	require.NoError(t, b.IPVS.AddService(rules.Service{ServiceKey: key, Scheduler: scheduler, Flags: flags, Netmask: mask}))
	m, err := sched.New(scheduler, key.Family, flags, nil)
	require.NoError(t, err)
	return &pair{t: t, b: b, key: key, m: m}
}

func (p *pair) dest(addr netip.Addr, weight int32) rules.Destination {
	d := rules.Destination{Addr: addr, Port: 8080, Forward: rules.Masquerade, Weight: weight}
	if weight == 5 {
		d.UpperThreshold = p.upper
	}
	return d
}

func (p *pair) add(addr netip.Addr, weight int32) {
	p.t.Helper()
	d := p.dest(addr, weight)
	require.NoError(p.t, p.b.IPVS.AddDestination(p.key, d))
	p.m.Add(sched.Server{Addr: addr, Port: d.Port, Weight: weight})
	p.checkOrder()
}

func (p *pair) setWeight(addr netip.Addr, weight int32) {
	p.t.Helper()
	i := p.m.Index(addr, 8080)
	d := p.dest(addr, weight)
	d.UpperThreshold = p.dest(addr, p.m.Servers()[i].LastWeight).UpperThreshold // the threshold stays
	require.NoError(p.t, p.b.IPVS.UpdateDestination(p.key, d))
	p.m.SetWeight(i, weight)
	p.checkOrder()
}

func (p *pair) del(addr netip.Addr) {
	p.t.Helper()
	require.NoError(p.t, p.b.IPVS.DeleteDestination(p.key, rules.Destination{Addr: addr, Port: 8080}))
	p.m.Delete(p.m.Index(addr, 8080))
	p.checkOrder()
}

// checkOrder requires the kernel's list to be the model's.
func (p *pair) checkOrder() {
	p.t.Helper()
	ds, err := p.b.IPVS.Destinations(p.key)
	require.NoError(p.t, err)
	var kernel, model []netip.Addr
	for _, d := range ds {
		kernel = append(kernel, d.Addr)
	}
	for _, s := range p.m.Servers() {
		model = append(model, s.Addr)
	}
	require.Equal(p.t, model, kernel, "real servers in the kernel's order")
}

// predict asks the model for the real server of f.
func (p *pair) predict(f schedtest.Flow) netip.AddrPort {
	i := p.m.Schedule(sched.Packet{Protocol: f.Proto, Client: f.Client, Virtual: f.Virtual.Addr()})
	if i < 0 {
		return netip.AddrPort{}
	}
	s := p.m.Servers()[i]
	return netip.AddrPortFrom(s.Addr, s.Port)
}

func (p *pair) virtual() netip.AddrPort { return netip.AddrPortFrom(p.key.Addr, p.key.Port) }

// expectations are the predicted real server of each connection; an
// invalid one means none.
type expectations map[schedtest.ConnKey]netip.AddrPort

// check compares the connection table with the predictions and returns
// how many connections it compared.
func check(t *testing.T, b *schedtest.Bed, want expectations) int {
	t.Helper()
	got := b.Connections()
	bad := 0
	for k, w := range want {
		g, ok := got[k]
		if !w.IsValid() && !ok || g == w {
			continue
		}
		if bad++; bad <= 20 {
			t.Errorf("%s -> %s: the kernel chose %v, the model %v", k.Client, k.Virtual, g, w)
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d connections differ", bad, len(want))
	}
	// The spread over real servers, to show the comparison is not
	// trivial; "none" counts the predicted refusals.
	spread := map[string]int{}
	for _, w := range want {
		if !w.IsValid() {
			spread["none"]++
			continue
		}
		spread[w.Addr().String()]++
	}
	t.Logf("predicted real servers: %v", spread)
	return len(want)
}

// clientGen hands out client addresses and ports: three ports per
// address, spread over the port range, never the same pair twice.
type clientGen struct{ n int }

func (g *clientGen) next(a schedtest.Addrs) netip.AddrPort {
	g.n++
	return netip.AddrPortFrom(schedtest.Nth(a.Clients, 1+g.n/3), uint16(1024+(g.n*7919)%60000))
}

// The story every test tells about the real servers: four added one by one
// with weights 1, 3, 2 and 5; then the second quiesced and the third
// weighted 7; then the fourth deleted; then a fifth added with weight 2.
func story(a schedtest.Addrs) (add func(p *pair), steps []func(p *pair)) {
	rs := func(n int) netip.Addr { return schedtest.Nth(a.Servers, n) }
	add = func(p *pair) {
		for i, w := range []int32{1, 3, 2, 5} {
			p.add(rs(i+1), w)
		}
	}
	steps = []func(p *pair){
		func(p *pair) { p.setWeight(rs(2), 0); p.setWeight(rs(3), 7) },
		func(p *pair) { p.del(rs(4)) },
		func(p *pair) { p.add(rs(5), 2) },
	}
	return add, steps
}

func families() []struct {
	name string
	fam  rules.Family
	a    schedtest.Addrs
} {
	return []struct {
		name string
		fam  rules.Family
		a    schedtest.Addrs
	}{{"v4", rules.IPv4, schedtest.V4}, {"v6", rules.IPv6, schedtest.V6}}
}

// TestKernelSchedHashing: sh (plain, sh-fallback, sh-port), mh (plain,
// mh-fallback, mh-port) and dh, each with 64 new clients after every
// change of the story, v4 and v6, UDP.
func TestKernelSchedHashing(t *testing.T) {
	start := time.Now()
	b := schedtest.NewBed(t)
	want := expectations{}
	var gen clientGen
	vip := 0
	for _, f := range families() {
		for _, v := range []struct {
			sched    string
			flags    rules.ServiceFlags
			services int
		}{
			{"sh", 0, 1}, {"sh", rules.FlagSched1, 1}, {"sh", rules.FlagSched2, 1},
			{"mh", 0, 1}, {"mh", rules.FlagSched1, 1}, {"mh", rules.FlagSched2, 1},
			// dh hashes the virtual address: several services, each with
			// the same real servers, spread the clients over the table.
			{"dh", 0, 8},
		} {
			var pairs []*pair
			for range v.services {
				vip++
				key := rules.ServiceKey{Family: f.fam, Protocol: rules.UDP, Addr: schedtest.Nth(f.a.VIPs, vip), Port: 53}
				pairs = append(pairs, newPair(t, b, key, v.sched, v.flags))
			}
			add, steps := story(f.a)
			phase := func() {
				var flows []schedtest.Flow
				for i := range 64 {
					p := pairs[i%len(pairs)]
					fl := schedtest.Flow{Proto: rules.UDP, Client: gen.next(f.a), Virtual: p.virtual()}
					want[schedtest.ConnKey{Client: fl.Client, Virtual: fl.Virtual}] = p.predict(fl)
					flows = append(flows, fl)
				}
				b.Send(flows...)
			}
			for _, p := range pairs {
				add(p)
			}
			phase()
			for _, step := range steps {
				for _, p := range pairs {
					step(p)
				}
				phase()
			}
		}
	}
	time.Sleep(50 * time.Millisecond)
	n := check(t, b, want)
	t.Logf("%d connections compared in %v", n, time.Since(start).Round(time.Millisecond))
}

// TestKernelSchedPositional: rr and wrr from a fresh service, 40
// connections in order after every change of the story; the position
// carries over the changes as the kernel keeps it.
func TestKernelSchedPositional(t *testing.T) {
	start := time.Now()
	b := schedtest.NewBed(t)
	want := expectations{}
	var gen clientGen
	vip := 0
	for _, f := range families() {
		for _, s := range []string{"rr", "wrr"} {
			vip++
			p := newPair(t, b, rules.ServiceKey{Family: f.fam, Protocol: rules.UDP, Addr: schedtest.Nth(f.a.VIPs, vip), Port: 53}, s, 0)
			add, steps := story(f.a)
			phase := func() {
				var flows []schedtest.Flow
				for range 40 {
					fl := schedtest.Flow{Proto: rules.UDP, Client: gen.next(f.a), Virtual: p.virtual()}
					want[schedtest.ConnKey{Client: fl.Client, Virtual: fl.Virtual}] = p.predict(fl)
					flows = append(flows, fl)
				}
				b.Send(flows...)
			}
			add(p)
			phase()
			for _, step := range steps {
				step(p)
				phase()
			}
		}
	}
	time.Sleep(50 * time.Millisecond)
	n := check(t, b, want)
	t.Logf("%d connections compared in %v", n, time.Since(start).Round(time.Millisecond))
}

// TestKernelSchedCounting: lc, wlc, sed, nq, fo and ovf over TCP (each
// connection active) and UDP (each inactive), v4 and v6. Before each
// connection the test reads the counters, the model predicts from them,
// and the connection table must agree. The weight-5 real server has an
// upper threshold of 4, so OVERLOAD comes into play.
func TestKernelSchedCounting(t *testing.T) {
	start := time.Now()
	b := schedtest.NewBed(t)
	want := expectations{}
	var gen clientGen
	vip := 0
	for _, f := range families() {
		for _, s := range []string{"lc", "wlc", "sed", "nq", "fo", "ovf"} {
			for _, proto := range []rules.Protocol{rules.TCP, rules.UDP} {
				vip++
				p := newPair(t, b, rules.ServiceKey{Family: f.fam, Protocol: proto, Addr: schedtest.Nth(f.a.VIPs, vip), Port: 80}, s, 0)
				p.upper = 4
				add, steps := story(f.a)
				phase := func() {
					for range 10 {
						fl := schedtest.Flow{Proto: proto, Client: gen.next(f.a), Virtual: p.virtual()}
						before := p.syncCounters()
						w := p.predict(fl)
						want[schedtest.ConnKey{Client: fl.Client, Virtual: fl.Virtual}] = w
						b.Send(fl)
						if w.IsValid() {
							p.b.WaitTotal(p.key, before+1)
						} else {
							time.Sleep(5 * time.Millisecond)
						}
					}
				}
				add(p)
				phase()
				for _, step := range steps {
					step(p)
					phase()
				}
			}
		}
	}
	n := check(t, b, want)
	t.Logf("%d connections compared in %v", n, time.Since(start).Round(time.Millisecond))
}

// syncCounters gives the model the kernel's counters and returns their
// total. Counters only grow in these tests, so OVERLOAD is set exactly when
// a server's total reached its upper threshold; OverloadOf must agree
// wherever it is certain.
func (p *pair) syncCounters() uint64 {
	p.t.Helper()
	ds, err := p.b.IPVS.Destinations(p.key)
	require.NoError(p.t, err)
	var total uint64
	for _, d := range ds {
		i := p.m.Index(d.Addr, d.Port)
		require.GreaterOrEqual(p.t, i, 0, "real server %s", d.Addr)
		sum := uint64(d.ActiveConns) + uint64(d.InactiveConns)
		over := d.UpperThreshold != 0 && sum >= uint64(d.UpperThreshold)
		if o, certain := sched.OverloadOf(d); certain {
			require.Equal(p.t, over, o, fmt.Sprintf("OverloadOf(%+v)", d))
		}
		p.m.SetCounters(i, d.ActiveConns, d.InactiveConns, over)
		total += sum
	}
	return total
}
