package main

import (
	"fmt"
	"io"
	"os"

	"github.com/ipvsadm-go/ipvsadm/internal/cmdline"
	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
	"github.com/ipvsadm-go/ipvsadm/internal/render"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/sched"
)

// predict runs -L SERVICE --predict CLIENTS [--with RS=W] [--without RS]:
// the scheduler's model (package sched) applied to the service as the
// kernel holds it now.
func (p *program) predict(cmd cmdline.Command) int {
	sets, err := p.clientSets(cmd.Ext.Predict.Clients)
	if err != nil {
		p.errorf("--predict: %v", err)
		return 2
	}
	e, err := p.serviceEntry(cmd.Service.ServiceKey)
	if err != nil {
		return p.listError(err)
	}
	pr, err := sched.Predict(e, sets, cmd.Ext.Predict.What)
	if err != nil {
		p.errorf("cannot predict: %v", err)
		return 1
	}
	if !cmd.Ext.JSON {
		if render.WritePrediction(p.out, &e.Service, pr, cmd.Ext.Predict.What, cmd.List, p.res) != nil {
			return 1
		}
		return 0
	}
	doc := p.document()
	doc.Services = jsondoc.Services([]rules.ServiceEntry{e})
	doc.Prediction = jsondoc.PredictionOf(pr, cmd.Ext.Predict.What)
	if err := jsondoc.Write(p.out, doc, cmd.Ext.Pretty); err != nil {
		return 1
	}
	return 0
}

// clientSets reads the --predict values: client sets as given, lists from
// files (@FILE) and standard input (-).
func (p *program) clientSets(values []string) ([]sched.ClientSet, error) {
	var sets []sched.ClientSet
	for _, v := range values {
		var r io.Reader
		name := "standard input"
		switch {
		case v == "-":
			r = p.stdin
		case len(v) > 1 && v[0] == '@':
			f, err := os.Open(v[1:])
			if err != nil {
				return nil, err
			}
			defer f.Close()
			r, name = f, v[1:]
		default:
			cs, err := sched.ParseClientSet(v)
			if err != nil {
				return nil, err
			}
			sets = append(sets, cs)
			continue
		}
		list, err := sched.ParseClientList(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		sets = append(sets, list...)
	}
	return sets, nil
}
