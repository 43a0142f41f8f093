package main

// --predict on the real kernel: what the command predicts for a set of
// clients must be where their traffic goes (the connection table says),
// for hashing, counting and positional schedulers, v4 and v6, and with a
// what-if that the test then carries out.

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/sched/schedtest"
	"github.com/ipvsadm-go/ipvsadm/internal/testkit"
)

// predictCase is one service and the story the test tells it.
type predictCase struct {
	name    string
	a       schedtest.Addrs
	proto   rules.Protocol
	sched   string
	flags   string // -b
	weights []int32
	// quiesce sets the first real server's weight to 0 after the adds.
	quiesce bool
	// without and with are the what-if, carried out after the first
	// prediction; "" for none.
	without string
	with    string
}

func TestKernelPredict(t *testing.T) {
	start := time.Now()
	b := schedtest.NewBed(t)
	netns := fmt.Sprintf("/proc/self/fd/%d", b.Director.FD())
	dir := t.TempDir()
	rs := func(a schedtest.Addrs, n int) netip.Addr { return schedtest.Nth(a.Servers, n) }
	cases := []predictCase{
		{name: "sh-port v4", a: schedtest.V4, proto: rules.UDP, sched: "sh", flags: "sh-port", weights: []int32{1, 2, 3},
			without: rs(schedtest.V4, 2).String()},
		{name: "mh-fallback v6", a: schedtest.V6, proto: rules.TCP, sched: "mh", flags: "mh-fallback", weights: []int32{1, 1, 2, 1}, quiesce: true,
			with: fmt.Sprintf("[%s]:8080=3", rs(schedtest.V6, 9))},
		{name: "sh-fallback v6", a: schedtest.V6, proto: rules.UDP, sched: "sh", flags: "sh-fallback", weights: []int32{2, 1, 1},
			with: fmt.Sprintf("[%s]:8080=0", rs(schedtest.V6, 2))},
		{name: "wlc v4", a: schedtest.V4, proto: rules.TCP, sched: "wlc", weights: []int32{1, 3, 2}},
		{name: "rr v4", a: schedtest.V4, proto: rules.UDP, sched: "rr", weights: []int32{1, 1, 1}},
	}
	compared := 0
	for ci, c := range cases {
		vip := schedtest.Nth(c.a.VIPs, 200+ci)
		key := rules.ServiceKey{Family: rules.FamilyOf(vip), Protocol: c.proto, Addr: vip, Port: 80}
		mask := uint32(0xffffffff)
		if key.Family == rules.IPv6 {
			mask = 128
		}
		svc := rules.Service{ServiceKey: key, Scheduler: c.sched, Netmask: mask}
		if c.flags != "" {
			svc.Flags = rules.FlagSched1
			if strings.HasSuffix(c.flags, "-port") {
				svc.Flags = rules.FlagSched2
			}
		}
		require.NoError(t, b.IPVS.AddService(svc))
		for i, w := range c.weights {
			require.NoError(t, b.IPVS.AddDestination(key, rules.Destination{Addr: rs(c.a, i+1), Port: 8080, Forward: rules.Masquerade, Weight: w}))
		}
		if c.quiesce {
			require.NoError(t, b.IPVS.UpdateDestination(key, rules.Destination{Addr: rs(c.a, 1), Port: 8080, Forward: rules.Masquerade}))
		}
		flag := "-t"
		if c.proto == rules.UDP {
			flag = "-u"
		}
		svcArg := netip.AddrPortFrom(vip, 80).String()

		// Two sets of clients: the first goes now, the second after the
		// what-if is carried out.
		clients := func(set int) (string, []netip.AddrPort) {
			var lines []string
			var aps []netip.AddrPort
			for i := range 120 {
				ap := netip.AddrPortFrom(schedtest.Nth(c.a.Clients, 1000*(ci+1)+i/2), uint16(20000+set*1000+i))
				aps = append(aps, ap)
				lines = append(lines, ap.String())
			}
			path := filepath.Join(dir, fmt.Sprintf("clients-%d-%d", ci, set))
			require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
			return path, aps
		}
		predict := func(path string, whatIf bool) *jsondoc.Prediction {
			args := []string{"-Ln", flag, svcArg, "--predict", "@" + path, "--json", "--netns", netns}
			if whatIf && c.without != "" {
				args = append(args, "--without", c.without)
			}
			if whatIf && c.with != "" {
				args = append(args, "--with", c.with)
			}
			out, errs, status := runArgs(args, "")
			require.Equal(t, 0, status, "%s: %q: %s", c.name, args, errs)
			testkit.ValidateJSON(t, "document", []byte(out))
			var doc jsondoc.Document
			require.NoError(t, json.Unmarshal([]byte(out), &doc))
			return doc.Prediction
		}
		// verify sends the clients in order and compares the kernel's
		// choices with the predicted ones (then: the what-if's).
		verify := func(pr *jsondoc.Prediction, aps []netip.AddrPort, then bool) {
			var flows []schedtest.Flow
			for _, ap := range aps {
				flows = append(flows, schedtest.Flow{Proto: c.proto, Client: ap, Virtual: netip.AddrPortFrom(vip, 80)})
			}
			b.Send(flows...)
			time.Sleep(20 * time.Millisecond)
			conns := b.Connections()
			require.Len(t, pr.Assignments, len(aps))
			bad := 0
			for i, a := range pr.Assignments {
				want := a.RealServer
				if then {
					want = a.WhatIfRealServer
				}
				got, ok := conns[schedtest.ConnKey{Client: aps[i], Virtual: netip.AddrPortFrom(vip, 80)}]
				if want == nil && !ok || want != nil && ok && got.String() == netip.AddrPortFrom(netip.MustParseAddr(want.Address), want.Port).String() {
					continue
				}
				if bad++; bad <= 10 {
					t.Errorf("%s: %s: predicted %+v, the kernel chose %v", c.name, aps[i], want, got)
				}
			}
			compared += len(aps)
		}

		path1, set1 := clients(1)
		verify(predict(path1, false), set1, false)
		if c.with == "" && c.without == "" {
			continue
		}
		path2, set2 := clients(2)
		pr := predict(path2, true)
		require.NotNil(t, pr.Moved, c.name)
		// Carry the what-if out, as the kernel would see it done.
		if c.without != "" {
			require.NoError(t, b.IPVS.DeleteDestination(key, rules.Destination{Addr: netip.MustParseAddr(c.without), Port: 8080}))
		}
		if c.with != "" {
			rsText, w, _ := strings.Cut(c.with, "=")
			ap := netip.MustParseAddrPort(rsText)
			var weight int32
			fmt.Sscan(w, &weight)
			d := rules.Destination{Addr: ap.Addr(), Port: ap.Port(), Forward: rules.Masquerade, Weight: weight}
			if ds, _ := b.IPVS.Destinations(key); !containsDest(ds, ap) {
				require.NoError(t, b.IPVS.AddDestination(key, d))
			} else {
				require.NoError(t, b.IPVS.UpdateDestination(key, d))
			}
		}
		verify(pr, set2, true)
	}
	t.Logf("%d predictions compared with the kernel in %v", compared, time.Since(start).Round(time.Millisecond))
}

func containsDest(ds []rules.Destination, ap netip.AddrPort) bool {
	for _, d := range ds {
		if d.Addr == ap.Addr() && d.Port == ap.Port() {
			return true
		}
	}
	return false
}
