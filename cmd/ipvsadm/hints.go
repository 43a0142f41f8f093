package main

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/cmdline"
	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
)

// Hints say what is actually wrong where ipvsadm's message does not (its
// "Invalid operation. Possibly wrong module version, address not unicast,
// ..." stands for any EINVAL). They are printed only when standard error is
// a terminal, or in the JSON error object: scripts keep ipvsadm's bytes.

// initHint explains a failed connection to IPVS.
func initHint(err error) string {
	switch {
	case errors.Is(err, ipvs.ErrPermission):
		return "IPVS needs the CAP_NET_ADMIN capability: run ipvsadm as root (for example with sudo)"
	case errors.Is(err, ipvs.ErrNotAvailable):
		return "the kernel has no IPVS loaded and modprobe could not load it: run `modprobe ip_vs` as root (in a container, on the host)"
	}
	return ""
}

// commandHint explains why the kernel refused cmd with err, or is "".
func commandHint(cmd cmdline.Command, err error) string {
	errno := ipvs.Errno(err)
	svc, d := &cmd.Service, &cmd.Dest
	switch {
	case errors.Is(err, ipvs.ErrPermission):
		return initHint(err)
	case errors.Is(err, ipvs.ErrSchedulerNotFound):
		states := readModuleStates()
		mod := "ip_vs_" + svc.Scheduler
		if st := states.state(mod); st == moduleMissing || st == moduleUnknown {
			return fmt.Sprintf("scheduler %q is not available: this kernel has no module %s (the schedulers are listed by ipvsadm -L --system)", svc.Scheduler, mod)
		}
		if svc.PE != "" {
			return fmt.Sprintf("persistence engine %q is not available: this kernel cannot load module ip_vs_pe_%s (see ipvsadm -L --system)", svc.PE, svc.PE)
		}
		return fmt.Sprintf("the kernel could not load scheduler %q (module %s): try `modprobe %s` as root", svc.Scheduler, mod, mod)
	case errno == unix.ERANGE && d.LowerThreshold > d.UpperThreshold:
		return fmt.Sprintf("the lower threshold (-y %d) is above the upper threshold (-x %d): the kernel needs -y <= -x (0 means no limit); give both", d.LowerThreshold, d.UpperThreshold)
	case cmd.Kind == cmdline.CmdStartDaemon && errno == unix.ENODEV:
		return fmt.Sprintf("there is no interface %q in this network namespace: name the sync daemon's interface with --mcast-interface (the default is eth0)", cmd.Daemon.Interface)
	case cmd.Kind == cmdline.CmdStartDaemon && errno == unix.EADDRNOTAVAIL:
		return fmt.Sprintf("interface %q has no address of the multicast group's family: the master sync daemon sends from it; add one or use another interface", cmd.Daemon.Interface)
	case cmd.Kind == cmdline.CmdStartDaemon && errno == unix.EINVAL:
		return "a sync daemon cannot run while a service has real servers of another address family (tunnelled); check the group is multicast"
	case cmd.Kind == cmdline.CmdStartDaemon && errno == unix.EEXIST:
		return fmt.Sprintf("a %s sync daemon already runs in this namespace (ipvsadm -L --daemon); stop it first with --stop-daemon %s", cmd.Daemon.State, cmd.Daemon.State)
	case cmd.Kind == cmdline.CmdStopDaemon && errno == unix.ESRCH:
		return fmt.Sprintf("no %s sync daemon runs in this namespace (ipvsadm -L --daemon)", cmd.Daemon.State)
	case errors.Is(err, ipvs.ErrServiceExists):
		return "the virtual service exists already: change it with -E, or delete it with -D first"
	case errors.Is(err, ipvs.ErrDestinationExists):
		return "the real server exists already in this service: change it with -e"
	case errors.Is(err, ipvs.ErrNoService):
		return "there is no such virtual service in this network namespace (ipvsadm -Ln lists them; for fwmark and IPv6 services the family must match: -f MARK -6)"
	case errors.Is(err, ipvs.ErrNoDestination):
		return "the service has no such real server (ipvsadm -Ln lists them with their ports)"
	case (cmd.Kind == cmdline.CmdAddServer || cmd.Kind == cmdline.CmdEditServer) && errno == unix.EINVAL:
		return "the kernel refused the real server: its address must be unicast and not a local broadcast address, and a real server of the other address family needs tunnelling (-i) and no running sync daemon"
	case (cmd.Kind == cmdline.CmdAddService || cmd.Kind == cmdline.CmdEditService) && errno == unix.EINVAL:
		return "the kernel refused the service settings: an IPv6 netmask must be 1 to 128, and the mh scheduler takes at most its table size of real servers"
	case cmd.Kind == cmdline.CmdSetTimeouts && errno == unix.EINVAL:
		return "a timeout is too large for the kernel (at most INT_MAX/HZ seconds)"
	}
	return ""
}

// restoreLineHint explains a restore line that does not parse, or is "":
// restore lines have ipvsadm 1.31's grammar, so an option of this
// ipvsadm is unknown there.
func (p *program) restoreLineHint(args []string) string {
	if _, err := p.commandParser().Parse(args); err == nil {
		return "restore lines take ipvsadm 1.31's options only: options of this ipvsadm (ipvsadm --help-extensions) go on the command line of -R, or run the line as a command of its own"
	}
	return ""
}
