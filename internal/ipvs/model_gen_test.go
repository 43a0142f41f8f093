package ipvs_test

import (
	"math/rand/v2"
	"net/netip"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// A changeGen makes random changes for the differential kernel test: over
// a small set of services and real servers, so that changes meet existing
// entries often, with every kind of value the kernel refuses mixed in.
type changeGen struct{ r *rand.Rand }

// genWeights are the relative frequencies of the operations.
var genWeights = []struct {
	op rules.Op
	w  int
}{
	{rules.OpAddService, 110}, {rules.OpEditService, 90}, {rules.OpDelService, 30},
	{rules.OpAddDest, 280}, {rules.OpEditDest, 140}, {rules.OpDelDest, 80},
	{rules.OpFlush, 4}, {rules.OpZeroAll, 10}, {rules.OpZeroService, 20},
	{rules.OpSetTimeouts, 30}, {rules.OpStartDaemon, 30}, {rules.OpStopDaemon, 20},
}

var (
	genAddr = netip.MustParseAddr
	// genKeys are the services the generator works on.
	genKeys = []rules.ServiceKey{
		{Family: rules.IPv4, Protocol: rules.TCP, Addr: genAddr("10.0.0.1"), Port: 80},
		{Family: rules.IPv4, Protocol: rules.TCP, Addr: genAddr("10.0.0.1"), Port: 443},
		{Family: rules.IPv4, Protocol: rules.UDP, Addr: genAddr("10.0.0.1"), Port: 80},
		{Family: rules.IPv4, Protocol: rules.SCTP, Addr: genAddr("10.0.0.2"), Port: 5000},
		{Family: rules.IPv4, Protocol: rules.TCP, Addr: genAddr("10.0.0.2"), Port: 0},
		// Any protocol number goes.
		{Family: rules.IPv4, Protocol: 50, Addr: genAddr("10.0.0.3"), Port: 1},
		{Family: rules.IPv4, Protocol: 0, Addr: genAddr("10.0.0.3"), Port: 1},
		// In the same hash bucket as TCP 10.0.0.1:80 (0x151 folds to 0x50).
		{Family: rules.IPv4, Protocol: rules.TCP, Addr: genAddr("10.0.0.1"), Port: 0x151},
		{Family: rules.IPv6, Protocol: rules.TCP, Addr: genAddr("::ffff:10.0.0.1"), Port: 80},
		{Family: rules.IPv6, Protocol: rules.TCP, Addr: genAddr("2001:db8::1"), Port: 80},
		{Family: rules.IPv6, Protocol: rules.UDP, Addr: genAddr("2001:db8::1"), Port: 53},
		{Family: rules.IPv6, Protocol: rules.TCP, Addr: genAddr("2001:db8::2"), Port: 0},
		{Family: rules.IPv4, FWMark: 1},
		{Family: rules.IPv4, FWMark: 2},
		{Family: rules.IPv4, FWMark: 257}, // in mark 1's bucket
		{Family: rules.IPv4, FWMark: 0xffffffff},
		{Family: rules.IPv6, FWMark: 1},
		{Family: rules.IPv6, FWMark: 0x100},
	}
	// Real server addresses the kernel accepts, and some it refuses.
	genDests4   = []string{"192.168.1.1", "192.168.1.2", "192.168.1.3", "10.1.1.1", "127.0.0.1", "240.0.0.1", "0.1.2.3"}
	genDests6   = []string{"2001:db8:1::1", "2001:db8:1::2", "2001:db8:1::3", "::1", "fec0::1"}
	genRefused4 = []string{"0.0.0.0", "224.0.0.5", "239.255.255.255", "255.255.255.255"}
	genRefused6 = []string{"fe80::1", "ff02::1", "::ffff:192.168.1.1", "::"}
	genScheds   = append(append([]string{}, rules.KernelSchedulers...), "none", "rr", "wlc")
)

func (g *changeGen) pick(n int) int { return g.r.IntN(n) }

// one is true with probability 1/n.
func (g *changeGen) one(n int) bool { return g.r.IntN(n) == 0 }

func pickOf[T any](g *changeGen, xs ...T) T { return xs[g.r.IntN(len(xs))] }

func (g *changeGen) next(m *rules.Table) rules.Change {
	total := 0
	for _, w := range genWeights {
		total += w.w
	}
	x := g.pick(total)
	op := genWeights[0].op
	for _, w := range genWeights {
		if x < w.w {
			op = w.op
			break
		}
		x -= w.w
	}
	c := rules.Change{Op: op}
	switch op {
	case rules.OpAddService:
		c.Service = g.service(g.key(m, 4))
	case rules.OpEditService:
		c.Service = g.service(g.key(m, 8))
	case rules.OpDelService, rules.OpZeroService:
		c.Service.ServiceKey = g.key(m, 8)
	case rules.OpAddDest, rules.OpEditDest, rules.OpDelDest:
		c.Service.ServiceKey = g.key(m, 10)
		c.Dest = g.dest(m, c.Service.ServiceKey, op != rules.OpAddDest)
		if op == rules.OpDelDest && g.one(2) {
			// Only the identity counts.
			c.Dest = rules.Destination{Family: c.Dest.Family, Addr: c.Dest.Addr, Port: c.Dest.Port}
		}
	case rules.OpSetTimeouts:
		t := func() uint32 { return pickOf[uint32](g, 0, 0, 0, 1, 60, 900, 8589934, 8589935, 4294967295) }
		c.Timeouts = rules.Timeouts{TCP: t(), TCPFin: t(), UDP: t()}
	case rules.OpStartDaemon:
		c.Daemon = rules.Daemon{
			State:      pickOf(g, rules.Master, rules.Master, rules.Backup, rules.Backup, 0, 3),
			Interface:  pickOf(g, "sync0", "sync0", "sync0", "sync0", "sync0", "lo", "nosuch0", ""),
			SyncID:     pickOf(g, uint32(g.pick(256)), uint32(g.pick(256)), 1000, 0xffffffff),
			SyncMaxLen: pickOf[uint16](g, 0, 0, 0, 1400, 100, 1100, 65535),
			Port:       pickOf[uint16](g, 0, 0, 8900),
			TTL:        pickOf[uint8](g, 0, 0, 3),
		}
		if gr := pickOf(g, "", "", "", "239.1.2.3", "ff02::1:2", "10.1.1.1", "2001:db8::9", "::ffff:239.1.2.3"); gr != "" {
			c.Daemon.Group = genAddr(gr)
		}
	case rules.OpStopDaemon:
		c.Daemon.State = pickOf(g, rules.Master, rules.Master, rules.Master, rules.Backup, rules.Backup, rules.Backup, 0, 3)
	}
	return c
}

// key picks a service: one the model has, except one time in
// fresh, then one from genKeys, rarely one that cannot be sent.
func (g *changeGen) key(m *rules.Table, fresh int) rules.ServiceKey {
	if svcs := m.Services(); len(svcs) > 0 && !g.one(fresh) {
		k := svcs[g.pick(len(svcs))].ServiceKey
		if k.IsFWMark() && g.one(10) {
			// The kernel ignores all but family and mark.
			k.Protocol, k.Addr, k.Port = rules.UDP, genAddr("10.9.9.9"), 99
		}
		return k
	}
	if g.one(100) {
		return pickOf(g,
			rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: genAddr("2001:db8::1"), Port: 80},
			rules.ServiceKey{Family: 7, FWMark: 3})
	}
	return genKeys[g.pick(len(genKeys))]
}

// service makes settings for the service with key k.
func (g *changeGen) service(k rules.ServiceKey) rules.Service {
	s := rules.Service{ServiceKey: k, Scheduler: genScheds[g.pick(len(genScheds))]}
	switch {
	case g.one(40):
		s.Scheduler = pickOf(g, "nosuch", "", "twos")
	case g.one(200):
		s.Scheduler = "abcdefghijklmnopq" // too long to send
	}
	for _, f := range []rules.ServiceFlags{rules.FlagPersistent, rules.FlagOnePacket, rules.FlagSched1, rules.FlagSched2, rules.FlagSched3} {
		if g.one(4) {
			s.Flags |= f
		}
	}
	if g.one(30) {
		s.Flags |= pickOf[rules.ServiceFlags](g, rules.FlagHashed, 0x40, 0x80000000)
	}
	s.Timeout = pickOf[uint32](g, 0, 0, 300, 360, 86400, 2678400, 17179870, 4294967295)
	if k.Family == rules.IPv6 {
		s.Netmask = pickOf[uint32](g, 128, 128, 128, 64, 1, 48, 0, 129)
	} else {
		s.Netmask = pickOf[uint32](g, 0xffffffff, 0xffffffff, 0xffffff00, 0xffff0000, 0, 0x0f0f0f0f)
	}
	switch {
	case g.one(6):
		s.PE = "sip"
	case g.one(40):
		s.PE = "nosuch"
	}
	return s
}

// dest makes a real server for the service with key k; existing picks one
// of the service's own most of the time.
func (g *changeGen) dest(m *rules.Table, k rules.ServiceKey, existing bool) rules.Destination {
	var d rules.Destination
	if ds := m.Destinations(k); existing && len(ds) > 0 && !g.one(6) {
		d = ds[g.pick(len(ds))]
	} else {
		f := k.Family
		if g.one(5) {
			f = rules.IPv4 + rules.IPv6 - f // the other family: a tunnel, or refused
		}
		pool, refused := genDests4, genRefused4
		if f == rules.IPv6 {
			pool, refused = genDests6, genRefused6
		}
		a := pool[g.pick(len(pool))]
		if g.one(12) {
			a = refused[g.pick(len(refused))]
		}
		d = rules.Destination{Family: f, Addr: genAddr(a), Port: pickOf[uint16](g, 0, 80, 80, 8080)}
		if f == k.Family && g.one(3) {
			d.Family = 0 // the service's
		}
		if g.one(150) {
			d.Addr = genAddr(pickOf(g, "10.1.1.1", "2001:db8:1::1")) // maybe not of d's family: not sendable
		}
	}
	d.Forward = pickOf(g, rules.Masquerade, rules.Local, rules.Tunnel, rules.Route)
	if d.Family != 0 && d.Family != k.Family && !g.one(4) {
		d.Forward = rules.Tunnel
	}
	if g.one(40) {
		d.Forward = pickOf[rules.ForwardMethod](g, 4, 5, 7, 9, 0x102)
	}
	d.Weight = pickOf[int32](g, 0, 1, 1, 3, 100, 2147483647)
	if g.one(30) {
		d.Weight = pickOf[int32](g, -1, -2147483648)
	}
	d.UpperThreshold, d.LowerThreshold = 0, 0
	switch g.pick(10) {
	case 0, 1:
		d.UpperThreshold, d.LowerThreshold = 100, 10
	case 2:
		d.UpperThreshold, d.LowerThreshold = 50, 50
	case 3:
		d.UpperThreshold, d.LowerThreshold = pickOf[uint32](g, 0, 10, 7), pickOf[uint32](g, 5, 100, 8)
	}
	d.TunnelType, d.TunnelPort, d.TunnelFlags = 0, 0, 0
	if d.Forward == rules.Tunnel || g.one(10) {
		d.TunnelType = pickOf[rules.TunnelType](g, rules.TunnelIPIP, rules.TunnelGUE, rules.TunnelGUE, rules.TunnelGRE, 3)
		d.TunnelPort = pickOf[uint16](g, 0, 6080, 6080)
		d.TunnelFlags = pickOf[rules.TunnelFlags](g, 0, 1, 2, 3)
	}
	return d
}
