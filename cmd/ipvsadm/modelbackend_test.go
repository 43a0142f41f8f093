package main

import (
	"errors"
	"io"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// modelBackend is the command's host fake: the table model with the
// kernel's semantics (rules.Table, held to the real kernel by the
// differential kernel test) behind the backend interface, with the
// client's error types, so that every command runs end to end on a host
// without IPVS.
type modelBackend struct {
	table *rules.Table
	// conns is the text of /proc/net/ip_vs_conn.
	conns  string
	closed bool
}

var _ backend = (*modelBackend)(nil)

func newModelBackend() *modelBackend {
	return &modelBackend{table: rules.NewTable(), conns: procConnHeader}
}

// procConnHeader is the first line of /proc/net/ip_vs_conn, which the
// kernel writes even when there are no connections.
const procConnHeader = "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"

// apply applies c and returns the error the client would return.
func (m *modelBackend) apply(c rules.Change) error {
	err := m.table.Apply(c)
	var ce *rules.ChangeError
	if errors.As(err, &ce) {
		return &ipvs.Error{Op: clientOps[ce.Op], Err: ce.Err}
	}
	return err
}

func (m *modelBackend) Info() (rules.Info, error) {
	return rules.Info{Version: 0x010201, ConnTableSize: 4096}, nil
}

func (m *modelBackend) Services() ([]rules.Service, error) { return m.table.Services(), nil }

func (m *modelBackend) Service(k rules.ServiceKey) (rules.Service, error) {
	s, ok := m.table.Service(k)
	if !ok {
		return rules.Service{}, &ipvs.Error{Op: ipvs.OpService, Err: unix.ESRCH}
	}
	return s, nil
}

func (m *modelBackend) AddService(s rules.Service) error {
	return m.apply(rules.Change{Op: rules.OpAddService, Service: s})
}

func (m *modelBackend) UpdateService(s rules.Service) error {
	return m.apply(rules.Change{Op: rules.OpEditService, Service: s})
}

func (m *modelBackend) DeleteService(k rules.ServiceKey) error {
	return m.apply(rules.Change{Op: rules.OpDelService, Service: rules.Service{ServiceKey: k}})
}

func (m *modelBackend) Destinations(k rules.ServiceKey) ([]rules.Destination, error) {
	if _, ok := m.table.Service(k); !ok {
		return nil, &ipvs.Error{Op: ipvs.OpDestinations, Err: unix.ESRCH}
	}
	return m.table.Destinations(k), nil
}

func (m *modelBackend) Table(bool) ([]rules.ServiceEntry, error) { return m.table.Entries(), nil }

func (m *modelBackend) EachEntry(fn func(*rules.ServiceEntry)) error {
	for _, e := range m.table.Entries() {
		fn(&e)
	}
	return nil
}

func (m *modelBackend) AddDestination(k rules.ServiceKey, d rules.Destination) error {
	return m.apply(rules.Change{Op: rules.OpAddDest, Service: rules.Service{ServiceKey: k}, Dest: d})
}

func (m *modelBackend) UpdateDestination(k rules.ServiceKey, d rules.Destination) error {
	return m.apply(rules.Change{Op: rules.OpEditDest, Service: rules.Service{ServiceKey: k}, Dest: d})
}

func (m *modelBackend) DeleteDestination(k rules.ServiceKey, d rules.Destination) error {
	return m.apply(rules.Change{Op: rules.OpDelDest, Service: rules.Service{ServiceKey: k}, Dest: d})
}

func (m *modelBackend) ZeroAll() error { return m.apply(rules.Change{Op: rules.OpZeroAll}) }

func (m *modelBackend) ZeroService(k rules.ServiceKey) error {
	return m.apply(rules.Change{Op: rules.OpZeroService, Service: rules.Service{ServiceKey: k}})
}

func (m *modelBackend) Flush() error { return m.apply(rules.Change{Op: rules.OpFlush}) }

func (m *modelBackend) Timeouts() (rules.Timeouts, error) { return m.table.Timeouts(), nil }

func (m *modelBackend) SetTimeouts(t rules.Timeouts) error {
	return m.apply(rules.Change{Op: rules.OpSetTimeouts, Timeouts: t})
}

func (m *modelBackend) Daemons() ([]rules.Daemon, error) { return m.table.Daemons(), nil }

func (m *modelBackend) StartDaemon(d rules.Daemon) error {
	return m.apply(rules.Change{Op: rules.OpStartDaemon, Daemon: d})
}

func (m *modelBackend) StopDaemon(st rules.SyncState) error {
	return m.apply(rules.Change{Op: rules.OpStopDaemon, Daemon: rules.Daemon{State: st}})
}

func (m *modelBackend) Connections() (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(m.conns)), nil
}

// Sysctls are a fresh namespace's IPVS sysctls (a few of them).
func (m *modelBackend) Sysctls() (map[string]string, error) {
	return map[string]string{"conn_reuse_mode": "1", "expire_nodest_conn": "0", "conntrack": "0", "sync_threshold": "3 50"}, nil
}

func (m *modelBackend) Close() error { m.closed = true; return nil }
