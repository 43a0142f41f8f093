package main

import (
	"github.com/ipvsadm-go/ipvsadm/internal/cmdline"
	"github.com/ipvsadm-go/ipvsadm/internal/render"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// list runs -L in all its forms.
func (p *program) list(cmd cmdline.Command) int {
	o := cmd.List
	switch {
	case o.Connections:
		f, err := p.b.Connections()
		if err != nil {
			p.errorf("cannot open file %s", render.ConnectionsPath)
			return 1
		}
		defer f.Close()
		return render.WriteConns(p.out, p.stderr, f, o, p.res)
	case o.Timeout:
		// ipvsadm exits 1 without a word when these reads fail.
		t, err := p.b.Timeouts()
		if err != nil {
			return 1
		}
		render.WriteTimeouts(p.out, t)
		return 0
	case o.Daemon:
		ds, err := p.b.Daemons()
		if err != nil {
			return 1
		}
		render.WriteDaemons(p.out, ds)
		return 0
	case cmd.HasService:
		e, err := p.serviceEntry(cmd.Service.ServiceKey)
		if err != nil {
			return p.listError(err)
		}
		render.WriteServiceList(p.out, e, o, p.res)
		return 0
	}
	info := p.info
	// The plain view shows only what /proc/net/ip_vs has of a real server.
	brief := !o.Stats && !o.Rate && !o.Thresholds && !o.PersistentConn && !o.TunInfo
	defer collectFrom(listHeapFloor)()
	entries, err := p.b.Table(brief)
	if err != nil {
		return p.listError(err)
	}
	render.WriteList(p.out, info, entries, o, p.res)
	return 0
}

// serviceEntry reads one service and its real servers (-L -t/-u/-f).
func (p *program) serviceEntry(k rules.ServiceKey) (rules.ServiceEntry, error) {
	s, err := p.b.Service(k)
	if err != nil {
		return rules.ServiceEntry{}, err
	}
	dests, err := p.b.Destinations(s.ServiceKey)
	if err != nil {
		return rules.ServiceEntry{}, err
	}
	return rules.ServiceEntry{Service: s, Dests: dests}, nil
}
