package main

import (
	"fmt"
	"strconv"
	"strings"
)

// The IPVS sysctls of the target namespace that make a drain behave in
// ways its user may not expect; --drain warns about each before it waits.

// A drainWarning is one such surprise, and the sysctl behind it.
type drainWarning struct {
	sysctl string // name under net.ipv4.vs, "" for none
	text   string
}

// drainWarnings checks the sysctls against the service and the options.
func (p *program) drainWarnings(t drainTarget, remove bool) []drainWarning {
	sysctls, err := p.b.Sysctls()
	if err != nil {
		return []drainWarning{{text: fmt.Sprintf("cannot read the IPVS sysctls of this namespace (%s): "+
			"expire_quiescent_template, conn_reuse_mode and expire_nodest_conn were not checked", errorMessage(err))}}
	}
	var ws []drainWarning
	if t.svc.Persistent() && sysctlInt(sysctls, "expire_quiescent_template") == 0 {
		ws = append(ws, drainWarning{sysctl: "expire_quiescent_template", text: fmt.Sprintf(
			"the service is persistent and net.ipv4.vs.expire_quiescent_template is 0: clients with a persistence "+
				"template for this server keep being sent to it, despite weight 0, until the template expires "+
				"(%d s after their last connection); set it to 1 to move them at their next connection", t.svc.Timeout)})
	}
	if v := sysctlInt(sysctls, "conn_reuse_mode"); v >= 0 && v&1 == 0 {
		ws = append(ws, drainWarning{sysctl: "conn_reuse_mode", text: fmt.Sprintf(
			"net.ipv4.vs.conn_reuse_mode is %d: a new connection from a client port that still has an entry "+
				"for this server (for example in TIME_WAIT) goes to it again, despite weight 0; set it to 1 to "+
				"schedule such connections anew", v)})
	}
	if remove && sysctlInt(sysctls, "expire_nodest_conn") == 0 {
		ws = append(ws, drainWarning{sysctl: "expire_nodest_conn", text: "net.ipv4.vs.expire_nodest_conn is 0: " +
			"once the server is removed, packets of entries that still point to it (closing TCP connections, " +
			"UDP flows) are dropped until the entries expire; set it to 1 to end such entries at their next packet"})
	}
	return ws
}

// sysctlInt is the integer value of a sysctl, -1 if it is missing or not
// a number (an older kernel without it).
func sysctlInt(sysctls map[string]string, name string) int {
	v, err := strconv.Atoi(strings.TrimSpace(sysctls[name]))
	if err != nil {
		return -1
	}
	return v
}
