package main

import (
	"errors"
	"io"
	"os"
	"os/exec"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// backend is what the command needs from the kernel; *ipvs.Client is the
// real one, tests substitute fakes.
type backend interface {
	Info() (rules.Info, error)
	Services() ([]rules.Service, error)
	Service(rules.ServiceKey) (rules.Service, error)
	AddService(rules.Service) error
	UpdateService(rules.Service) error
	DeleteService(rules.ServiceKey) error
	Destinations(rules.ServiceKey) ([]rules.Destination, error)
	Table(brief bool) ([]rules.ServiceEntry, error)
	EachEntry(func(*rules.ServiceEntry)) error
	AddDestination(rules.ServiceKey, rules.Destination) error
	UpdateDestination(rules.ServiceKey, rules.Destination) error
	DeleteDestination(rules.ServiceKey, rules.Destination) error
	ZeroAll() error
	ZeroService(rules.ServiceKey) error
	Flush() error
	Timeouts() (rules.Timeouts, error)
	SetTimeouts(rules.Timeouts) error
	Daemons() ([]rules.Daemon, error)
	StartDaemon(rules.Daemon) error
	StopDaemon(rules.SyncState) error
	Connections() (io.ReadCloser, error)
	Sysctls() (map[string]string, error)
	Close() error
}

var _ backend = (*ipvs.Client)(nil)

// dialBackend opens the kernel connection in the network namespace of the
// descriptor netns (0: the caller's); tests replace it.
var dialBackend = func(netns int) (backend, error) { return ipvs.Dial(&ipvs.Config{NetNS: netns}) }

// modprobePath is the module loader ipvsadm runs when IPVS is missing.
var modprobePath = "/sbin/modprobe"

// openBackend connects to IPVS as ipvsadm's init does: it opens the
// connection and asks for the IPVS version, the first request that needs
// privilege (finding the netlink family needs none), so that a caller
// without CAP_NET_ADMIN fails here, once, as with ipvsadm. On failure it
// asks modprobe to load ip_vs (modprobe's own messages pass through to
// stderr) and tries once more.
func openBackend(stderr io.Writer, netns int) (backend, rules.Info, error) {
	b, info, err := initBackend(netns)
	if err == nil {
		return b, info, nil
	}
	var ie *ipvs.Error
	if errors.As(err, &ie) && ie.Op == ipvs.OpEnterNetNS {
		return nil, info, err // loading a module cannot help
	}
	if !errors.Is(err, ipvs.ErrNotAvailable) && !errors.Is(err, ipvs.ErrPermission) {
		return nil, info, err
	}
	if _, statErr := os.Stat(modprobePath); statErr != nil {
		return nil, info, err
	}
	cmd := exec.Command(modprobePath, "--", "ip_vs")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if cmd.Run() != nil {
		return nil, info, err
	}
	return initBackend(netns)
}

// initBackend is ipvsadm's ipvs_init: connect, then get the IPVS info.
func initBackend(netns int) (backend, rules.Info, error) {
	b, err := dialBackend(netns)
	if err != nil {
		return nil, rules.Info{}, err
	}
	info, err := b.Info()
	if err != nil {
		b.Close()
		return nil, rules.Info{}, err
	}
	return b, info, nil
}
