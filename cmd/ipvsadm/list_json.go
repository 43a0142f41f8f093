package main

import (
	"fmt"
	"slices"

	"github.com/ipvsadm-go/ipvsadm/internal/cmdline"
	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
	"github.com/ipvsadm-go/ipvsadm/internal/render"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// hasJSONOption reports whether a refused command line asked for --json
// (before any "--"), so that its error is printed as JSON too.
func hasJSONOption(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--json" {
			return true
		}
	}
	return false
}

// document starts the JSON document of a view.
func (p *program) document() *jsondoc.Document {
	return &jsondoc.Document{SchemaVersion: jsondoc.SchemaVersion, Generator: generator(), NetNS: p.ns,
		IPVS: jsondoc.IPVSOf(p.info)}
}

// listExtended runs the listings that are extensions: every -L view with
// --json, -L --system and -L -c --conn-count. A JSON document is written
// whole or not at all: everything is read before any of it is written.
func (p *program) listExtended(cmd cmdline.Command) int {
	o := cmd.List
	doc := p.document()
	switch {
	case cmd.Ext.System:
		sys, err := p.system()
		if err != nil {
			return p.listError(err)
		}
		if !cmd.Ext.JSON {
			p.writeSystem(sys)
			return 0
		}
		doc.System = sys
	case o.Connections:
		f, err := p.b.Connections()
		if err != nil {
			p.report(fmt.Sprintf("cannot open file %s", render.ConnectionsPath), err, "")
			return 1
		}
		defer f.Close()
		if !o.Conn.Count {
			ok, err := jsondoc.StreamConnections(p.out, f, o.Conn)
			if !ok {
				p.errorf("unexpected input from %s", render.ConnectionsPath)
				return 1
			}
			if err != nil {
				return 1
			}
			return 0
		}
		cc, ok := jsondoc.CountConnections(f, o.Conn)
		if !ok {
			p.errorf("unexpected input from %s", render.ConnectionsPath)
			return 1
		}
		if !cmd.Ext.JSON {
			render.WriteConnCounts(p.out, cc.Total, cc.ByState, cc.ByProtocol)
			return 0
		}
		doc.ConnectionCount = &cc
	case o.Timeout:
		t, err := p.b.Timeouts()
		if err != nil {
			return p.listError(err)
		}
		doc.Timeouts = jsondoc.TimeoutsOf(t)
	case o.Daemon:
		ds, err := p.b.Daemons()
		if err != nil {
			return p.listError(err)
		}
		doc.Daemons = jsondoc.DaemonsOf(ds)
	case cmd.HasService:
		e, err := p.serviceEntry(cmd.Service.ServiceKey)
		if err != nil {
			return p.listError(err)
		}
		return p.writeTable(doc, []rules.ServiceEntry{e}, cmd.Ext.Pretty)
	default:
		// Every real server complete: JSON always carries thresholds,
		// counters and tunnel settings.
		entries, err := p.b.Table(false)
		if err != nil {
			return p.listError(err)
		}
		if !o.NoSort {
			entries = slices.Clone(entries)
			render.SortServices(entries)
		}
		t, err := p.b.Timeouts()
		if err != nil {
			return p.listError(err)
		}
		ds, err := p.b.Daemons()
		if err != nil {
			return p.listError(err)
		}
		doc.Timeouts, doc.Daemons = jsondoc.TimeoutsOf(t), jsondoc.DaemonsOf(ds)
		return p.writeTable(doc, entries, cmd.Ext.Pretty)
	}
	if err := jsondoc.Write(p.out, doc, cmd.Ext.Pretty); err != nil {
		return 1
	}
	return 0
}

// writeTable writes doc with entries as its services: encoded straight
// from the table, in pieces (a 60,000-line table is some 20 MB of JSON).
func (p *program) writeTable(doc *jsondoc.Document, entries []rules.ServiceEntry, pretty bool) int {
	if err := jsondoc.WriteTable(p.out, doc, entries, pretty); err != nil {
		return 1
	}
	return 0
}
