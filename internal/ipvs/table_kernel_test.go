package ipvs_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// TestKernelTableBrief: the brief table (real servers from
// /proc/net/ip_vs, in ServiceEntry.Brief) agrees with full netlink dumps
// on everything it carries, and is complete (in Dests) for tunnel real
// servers and for services /proc cannot tell apart.
func TestKernelTableBrief(t *testing.T) {
	c, ns := kernelClient(t)
	d := func(a string, port uint16, fwd rules.ForwardMethod, w int32) rules.Destination {
		return rules.Destination{Addr: netip.MustParseAddr(a), Port: port, Forward: fwd, Weight: w, UpperThreshold: 50, LowerThreshold: 5}
	}
	build(t, c, svc4(rules.TCP, v4a, 80, "rr"), []rules.Destination{d("192.168.10.1", 8080, rules.Masquerade, 3), d("192.168.10.2", 80, rules.Route, 0)})
	build(t, c, svc6(rules.UDP, v6a, 53, "wlc"), []rules.Destination{d("2001:db8:1::10", 53, rules.Masquerade, 1)})
	build(t, c, svc4(rules.TCP, v4b, 443, "wlc"), []rules.Destination{
		{Addr: rs4a, Port: 443, Forward: rules.Tunnel, Weight: 1, TunnelType: rules.TunnelGUE, TunnelPort: 6080, TunnelFlags: rules.TunnelChecksum},
		d("192.168.10.3", 443, rules.Route, 2)})
	// The same mark in both families: /proc cannot tell them apart.
	build(t, c, fwm(rules.IPv4, 9, "rr"), []rules.Destination{d("192.168.10.4", 0, rules.Route, 1)})
	build(t, c, fwm(rules.IPv6, 9, "rr"), []rules.Destination{d("2001:db8:1::20", 0, rules.Route, 1)})
	build(t, c, fwm(rules.IPv4, 10, "rr"), []rules.Destination{d("192.168.10.5", 0, rules.Masquerade, 7)})
	build(t, c, svc4(rules.SCTP, v4a, 5000, "sh"), nil)

	full, err := c.Table(false)
	require.NoError(t, err)
	// EachEntry hands out the same entries, one at a time, in the same
	// order: each copied, since its memory is EachEntry's.
	var each []rules.ServiceEntry
	require.NoError(t, c.EachEntry(func(e *rules.ServiceEntry) {
		each = append(each, rules.ServiceEntry{Service: e.Service, Dests: slices.Clone(e.Dests)})
	}))
	require.Equal(t, settingsOf(full), settingsOf(each))
	// Real servers come from the client's namespace's /proc, whichever
	// namespace the calling thread is in (a client bound to a namespace
	// reads /proc from a thread that enters it).
	var brief []rules.ServiceEntry
	inNS(t, ns, func() { brief, err = c.Table(true) })
	require.NoError(t, err)
	other, err := c.Table(true)
	require.NoError(t, err)
	require.Equal(t, brief, other)
	require.Len(t, brief, len(full))
	for i := range full {
		f, b := full[i], brief[i]
		require.Equal(t, f.Service.Settings(), b.Service)
		require.Equal(t, len(f.Dests), b.NumDests(), "%v", f.Service.ServiceKey)
		tunnel := false
		for _, fd := range f.Dests {
			tunnel = tunnel || fd.Forward == rules.Tunnel
		}
		if tunnel || f.Service.FWMark == 9 {
			require.Nil(t, b.Brief, "%v", f.Service.ServiceKey)
			require.Equal(t, f.Dests, b.Dests, "complete for %v", f.Service.ServiceKey)
			continue
		}
		require.Nil(t, b.Dests, "%v read from /proc", f.Service.ServiceKey)
		for j := range f.Dests {
			require.Equal(t, f.Dests[j].Brief(), b.Brief[j], "%v", f.Service.ServiceKey)
		}
	}
}

// TestKernelTableParallelDumps: real servers dumped over four sockets of a
// client bound to a namespace give the listing of one socket, services in
// the kernel's order, each with its own real servers newest first.
func TestKernelTableParallelDumps(t *testing.T) {
	c, _ := kernelClient(t)
	b := c.NewBatch()
	const services = 1100
	for i := range services {
		s := svc4(rules.TCP, netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 80, "wlc")
		b.AddService(s)
		for j := range 1 + i%4 {
			b.AddDestination(s.ServiceKey, rules.Destination{Addr: netip.AddrFrom4([4]byte{192, 168, byte(i >> 6), byte(i<<2 + j)}),
				Port: uint16(8000 + j), Forward: rules.Masquerade, Weight: int32(1 + j), UpperThreshold: uint32(i)})
		}
	}
	results, err := b.Send()
	require.NoError(t, err)
	for _, r := range results {
		require.NoError(t, r)
	}
	ipvs.SetDumpSockets(c, 1)
	serial, err := c.Table(false)
	require.NoError(t, err)
	require.Len(t, serial, services)
	ipvs.SetDumpSockets(c, 4)
	for range 2 {
		parallel, err := c.Table(false)
		require.NoError(t, err)
		require.Equal(t, serial, parallel)
	}
	for _, e := range serial {
		require.Len(t, e.Dests, 1+int(e.Service.Addr.As4()[3])%4, "%v", e.Service.ServiceKey)
	}
}

// settingsOf is entries without counters (which move between two reads).
func settingsOf(entries []rules.ServiceEntry) []rules.ServiceEntry {
	out := make([]rules.ServiceEntry, len(entries))
	for i, e := range entries {
		out[i].Service = e.Service.Settings()
		for _, d := range e.Dests {
			out[i].Dests = append(out[i].Dests, d.Settings())
		}
	}
	return out
}
