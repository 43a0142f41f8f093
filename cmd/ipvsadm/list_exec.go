package main

import (
	"os"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// connPath is the kernel's connection table for the process's namespace.
const connPath = "/proc/net/ip_vs_conn"

// list runs -L in all its forms.
func (p *program) list(cmd rules.Command) int {
	o := cmd.List
	switch {
	case o.Connections:
		f, err := os.Open(connPath)
		if err != nil {
			p.errorf("cannot open file %s", connPath)
			return 1
		}
		defer f.Close()
		return writeConns(p.out, p.stderr, f, o, p.res)
	case o.Timeout:
		// ipvsadm exits 1 without a word when these reads fail.
		t, err := p.b.Timeouts()
		if err != nil {
			return 1
		}
		writeTimeouts(p.out, t)
		return 0
	case o.Daemon:
		ds, err := p.b.Daemons()
		if err != nil {
			return 1
		}
		writeDaemons(p.out, ds)
		return 0
	case cmd.HasService:
		s, err := p.b.Service(cmd.Service.ServiceKey)
		if err != nil {
			return p.listError(err)
		}
		dests, err := p.b.Destinations(s.ServiceKey)
		if err != nil {
			return p.listError(err)
		}
		writeServiceList(p.out, rules.ServiceEntry{Service: s, Dests: dests}, o, p.res)
		return 0
	}
	info, err := p.b.Info()
	if err != nil {
		return p.listError(err)
	}
	// The plain view shows only what /proc/net/ip_vs has of a real server.
	brief := !o.Stats && !o.Rate && !o.Thresholds && !o.PersistentConn && !o.TunInfo
	entries, err := p.b.Table(brief)
	if err != nil {
		return p.listError(err)
	}
	writeList(p.out, info, entries, o, p.res)
	return 0
}
