package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
	"github.com/ipvsadm-go/ipvsadm/internal/sched"
)

// persistenceEngines are the persistence engines Linux has.
var persistenceEngines = []string{"sip"}

// system reads the -L --system view: the kernel release, the scheduler
// and persistence-engine modules and the IPVS sysctls of the target
// namespace.
func (p *program) system() (*jsondoc.System, error) {
	sysctls, err := p.b.Sysctls()
	if err != nil {
		return nil, err
	}
	states := readModuleStates()
	sys := &jsondoc.System{KernelRelease: kernelRelease(), Sysctls: sysctls,
		Schedulers: []jsondoc.Module{}, PersistenceEngines: []jsondoc.Module{}}
	for _, s := range sched.All() {
		mod := "ip_vs_" + s.Name
		sys.Schedulers = append(sys.Schedulers, jsondoc.Module{Name: s.Name, Module: mod, State: states.state(mod)})
	}
	for _, pe := range persistenceEngines {
		mod := "ip_vs_pe_" + pe
		sys.PersistenceEngines = append(sys.PersistenceEngines, jsondoc.Module{Name: pe, Module: mod, State: states.state(mod)})
	}
	return sys, nil
}

// writeSystem prints the system view as text.
func (p *program) writeSystem(sys *jsondoc.System) {
	var sb strings.Builder
	sb.WriteString(versionText() + "\n")
	fmt.Fprintf(&sb, "IP Virtual Server version %s (size=%d)\n", p.info.VersionString(), p.info.ConnTableSize)
	fmt.Fprintf(&sb, "Kernel %s\n", sys.KernelRelease)
	ns := p.ns.Path
	if p.ns.Name != nil {
		ns = *p.ns.Name + " (" + p.ns.Path + ")"
	}
	fmt.Fprintf(&sb, "Network namespace %s, inode %d\n", ns, p.ns.Inode)
	sb.WriteString("Schedulers:\n")
	for _, m := range sys.Schedulers {
		desc := ""
		if s, ok := sched.Lookup(m.Name); ok {
			desc = s.Description
		}
		fmt.Fprintf(&sb, "  %-6s %-16s %-10s %s\n", m.Name, m.Module, m.State, desc)
	}
	sb.WriteString("Persistence engines:\n")
	for _, m := range sys.PersistenceEngines {
		fmt.Fprintf(&sb, "  %-6s %-16s %s\n", m.Name, m.Module, m.State)
	}
	sb.WriteString("Sysctls (net.ipv4.vs):\n")
	names := make([]string, 0, len(sys.Sysctls))
	for k := range sys.Sysctls {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		fmt.Fprintf(&sb, "  %s = %s\n", k, sys.Sysctls[k])
	}
	p.out.WriteString(sb.String())
}
