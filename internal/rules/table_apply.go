package rules

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"syscall"
)

// An Op is the kind of a Change: one kernel request.
type Op uint8

// Change operations, one per IPVS request that changes state.
const (
	OpAddService Op = iota + 1
	OpEditService
	OpDelService
	OpAddDest
	OpEditDest
	OpDelDest
	OpFlush
	OpZeroAll     // zero every counter
	OpZeroService // zero one service's counters
	OpSetTimeouts
	OpStartDaemon
	OpStopDaemon
)

var opNames = [...]string{
	OpAddService:  "add service",
	OpEditService: "edit service",
	OpDelService:  "delete service",
	OpAddDest:     "add destination",
	OpEditDest:    "edit destination",
	OpDelDest:     "delete destination",
	OpFlush:       "flush",
	OpZeroAll:     "zero all",
	OpZeroService: "zero service",
	OpSetTimeouts: "set timeouts",
	OpStartDaemon: "start daemon",
	OpStopDaemon:  "stop daemon",
}

func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// A Change is one request to the kernel. Which fields count depends on Op:
// the whole Service for OpAddService and OpEditService, its ServiceKey for
// the other service and destination operations; the whole Dest for
// OpAddDest and OpEditDest, its Key for OpDelDest; Timeouts for
// OpSetTimeouts (zero fields unchanged); the whole Daemon for
// OpStartDaemon, its State for OpStopDaemon.
type Change struct {
	Op       Op
	Service  Service
	Dest     Destination
	Timeouts Timeouts
	Daemon   Daemon
}

func (c Change) String() string {
	switch c.Op {
	case OpAddService, OpEditService:
		s := c.Service
		return fmt.Sprintf("%s %s sched=%q flags=%#x timeout=%d netmask=%#x pe=%q", c.Op, s.ServiceKey, s.Scheduler, uint32(s.Flags), s.Timeout, s.Netmask, s.PE)
	case OpDelService, OpZeroService:
		return fmt.Sprintf("%s %s", c.Op, c.Service.ServiceKey)
	case OpAddDest, OpEditDest:
		d := c.Dest
		return fmt.Sprintf("%s %s -> %s fwd=%s w=%d thresh=%d/%d tun=%s:%d/%d", c.Op, c.Service.ServiceKey, d.Key(), d.Forward, d.Weight,
			d.LowerThreshold, d.UpperThreshold, d.TunnelType, d.TunnelPort, d.TunnelFlags)
	case OpDelDest:
		return fmt.Sprintf("%s %s -> %s", c.Op, c.Service.ServiceKey, c.Dest.Key())
	case OpSetTimeouts:
		return fmt.Sprintf("%s %d %d %d", c.Op, c.Timeouts.TCP, c.Timeouts.TCPFin, c.Timeouts.UDP)
	case OpStartDaemon:
		d := c.Daemon
		return fmt.Sprintf("%s %s %q id=%d maxlen=%d group=%s port=%d ttl=%d", c.Op, d.State, d.Interface, d.SyncID, d.SyncMaxLen, d.Group, d.Port, d.TTL)
	case OpStopDaemon:
		return fmt.Sprintf("%s %s", c.Op, c.Daemon.State)
	}
	return c.Op.String()
}

// A ChangeError is a change the kernel (or the client, before sending it)
// refuses. It unwraps to the kernel's errno, a syscall.Errno, so
// errors.Is(err, unix.ESRCH) works as for the client's errors.
type ChangeError struct {
	Op  Op
	Err error
}

func (e *ChangeError) Error() string { return fmt.Sprintf("%s: %v", e.Op, e.Err) }

// Unwrap returns the errno, or ErrNotSendable.
func (e *ChangeError) Unwrap() error { return e.Err }

// ErrNotSendable marks a change that cannot be expressed in a request: an
// address not of the stated family, a family other than inet and inet6, a
// name too long for the kernel's buffer or holding a NUL. The client
// refuses these before sending, so they carry no errno.
var ErrNotSendable = errors.New("request cannot be sent to the kernel")

var errUnknownOp = errors.New("unknown operation")

// Kernel limits (Debian 6.1 configuration).
const (
	hz          = 250  // CONFIG_HZ: persistence timeouts are kept in jiffies
	mhTableSize = 4093 // CONFIG_IP_VS_MH_TAB_INDEX=12: mh's lookup table
	// maxTimeout is the largest connection timeout, INT_MAX/HZ seconds.
	maxTimeout = (1<<31 - 1) / hz
	nameMax    = 16 // IP_VS_SCHEDNAME_MAXLEN, IP_VS_IFNAME_MAXLEN, with the NUL
	// peNameMax: the kernel's policy lets a persistence engine's name use
	// all of IP_VS_PENAME_MAXLEN's 16 bytes (ipvsadm sends 16 when cut).
	peNameMax = 17
	fwdMask   = 7 // IP_VS_CONN_F_FWD_MASK
)

// Apply makes the change the kernel would make and returns the error the
// kernel (through the client) would return, wrapped in a *ChangeError; on
// error nothing changes.
func (t *Table) Apply(c Change) error { return t.applyTagged(&c, nil) }

// ApplyTagged is Apply, and on success tags the service or real server
// that c adds or edits with tag (see ServiceTag).
func (t *Table) ApplyTagged(c Change, tag int32) error { return t.applyTagged(&c, &tag) }

// applyTagged applies c; the service or real server it adds or edits gets
// *tag, or with tag nil 0 when added and its own tag when edited.
func (t *Table) applyTagged(c *Change, tag *int32) error {
	if err := t.apply(c, tag); err != nil {
		return &ChangeError{Op: c.Op, Err: err}
	}
	return nil
}

func (t *Table) apply(c *Change, tag *int32) error {
	switch c.Op {
	case OpFlush:
		t.clearServices()
		return nil
	case OpZeroAll:
		return nil // counters only
	case OpSetTimeouts:
		return t.setTimeouts(c.Timeouts)
	case OpStartDaemon:
		return t.startDaemon(c.Daemon)
	case OpStopDaemon:
		return t.stopDaemon(c.Daemon.State)
	case OpAddService, OpEditService, OpDelService, OpZeroService, OpAddDest, OpEditDest, OpDelDest:
		return t.applyToService(c, tag)
	}
	return errUnknownOp
}

// applyToService follows ip_vs_genl_set_cmd: find the service, check a
// real server's family, then dispatch.
func (t *Table) applyToService(c *Change, tag *int32) error {
	if err := checkSendable(c); err != nil {
		return err
	}
	k := kernelKey(c.Service.ServiceKey)
	ts := t.byKey[k]
	if ts == nil && c.Op != OpAddService {
		return syscall.ESRCH
	}
	d := c.Dest.Settings()
	switch c.Op {
	case OpAddDest, OpEditDest, OpDelDest:
		if d.Family == 0 {
			d.Family = k.Family
		}
		d.Forward &= fwdMask
		// Mixed families only for tunnels, and never with sync daemons
		// (their protocol cannot carry them).
		if d.Family != k.Family && c.Op != OpDelDest && (t.syncing() || d.Forward != Tunnel) {
			return syscall.EINVAL
		}
	}
	switch c.Op {
	case OpAddService:
		if ts != nil {
			return syscall.EEXIST
		}
		return t.addService(k, c.Service.Settings(), tag)
	case OpEditService:
		return t.editService(ts, c.Service.Settings(), tag)
	case OpDelService:
		t.remove(ts)
	case OpAddDest:
		return ts.addDest(d, tag)
	case OpEditDest:
		return ts.editDest(d, tag)
	case OpDelDest:
		i := ts.findDest(d.Key())
		if i < 0 {
			return syscall.ENOENT
		}
		ts.deleteDest(i)
	}
	return nil
}

// checkSendable refuses what the client refuses before sending.
func checkSendable(c *Change) error {
	k := c.Service.ServiceKey
	if c.Op == OpAddService || c.Op == OpEditService {
		if err := checkName("scheduler", c.Service.Scheduler, nameMax); err != nil {
			return err
		}
		if err := checkName("persistence engine", c.Service.PE, peNameMax); err != nil {
			return err
		}
	}
	if k.IsFWMark() {
		if k.Family != IPv4 && k.Family != IPv6 {
			return fmt.Errorf("%w: family %s", ErrNotSendable, k.Family)
		}
	} else if err := checkAddr(k.Family, k.Addr); err != nil {
		return err
	}
	switch c.Op {
	case OpAddDest, OpEditDest, OpDelDest:
		f := c.Dest.Family
		if f == 0 {
			f = k.Family
		}
		return checkAddr(f, c.Dest.Addr)
	}
	return nil
}

func checkAddr(f Family, a netip.Addr) error {
	if f != IPv4 && f != IPv6 {
		return fmt.Errorf("%w: family %s", ErrNotSendable, f)
	}
	if FamilyOf(a) != f {
		return fmt.Errorf("%w: %s is not %s", ErrNotSendable, a, f)
	}
	return nil
}

func checkName(what, s string, max int) error {
	if len(s) >= max {
		return fmt.Errorf("%w: %s %q too long", ErrNotSendable, what, s)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: %s %q holds a NUL", ErrNotSendable, what, s)
	}
	return nil
}

// loadable checks a scheduler and persistence engine as
// ip_vs_add_service and ip_vs_edit_service do, scheduler first.
func (t *Table) loadable(s Service) error {
	if s.Scheduler != "none" && !slices.Contains(t.Env.Schedulers, s.Scheduler) {
		return syscall.ENOENT
	}
	if s.PE != "" && !slices.Contains(t.Env.PersistenceEngines, s.PE) {
		return syscall.ENOENT
	}
	// IPv6 persistence granularity is a prefix length.
	if s.Family == IPv6 && (s.Netmask < 1 || s.Netmask > 128) {
		return syscall.EINVAL
	}
	return nil
}

// stored is s as the kernel keeps and reports it: without the internal
// hashed flag, its timeout through jiffies (seconds*HZ wraps at 32 bits).
func stored(k ServiceKey, s Service) Service {
	s.ServiceKey = k
	s.Scheduler, s.PE = internName(s.Scheduler), internName(s.PE)
	s.Flags &^= FlagHashed
	s.Timeout = s.Timeout * hz / hz
	return s
}

func (t *Table) addService(k ServiceKey, s Service, tag *int32) error {
	if err := t.loadable(s); err != nil {
		return err
	}
	t.insert(stored(k, s)).tag = tagOr(tag, 0)
	return nil
}

// tagOr is *tag, or otherwise without a tag.
func tagOr(tag *int32, otherwise int32) int32 {
	if tag != nil {
		return *tag
	}
	return otherwise
}

// editService follows ip_vs_edit_service: the identity stays, everything
// else is replaced. A new scheduler that cannot take the service (mh with
// more real servers than table slots) fails the edit and changes nothing,
// as seen on 6.1: the old scheduler stays bound.
func (t *Table) editService(ts *tableService, s Service, tag *int32) error {
	if err := t.loadable(s); err != nil {
		return err
	}
	if s.Scheduler != ts.scheduler && s.Scheduler == "mh" && len(ts.dests) > mhTableSize {
		return syscall.EINVAL
	}
	ts.set(stored(ts.key, s))
	ts.tag = tagOr(tag, ts.tag)
	return nil
}

// checkDest is the value check of ip_vs_add_dest and ip_vs_edit_dest.
func checkDest(d Destination) error {
	if d.Weight < 0 || d.LowerThreshold > d.UpperThreshold {
		return syscall.ERANGE
	}
	if d.TunnelType == TunnelGUE && d.TunnelPort == 0 {
		return syscall.EINVAL
	}
	return nil
}

// addDest follows ip_vs_add_dest: new real servers go to the head of the
// list. (A real server deleted from this service within the last minutes
// comes back from the kernel's trash with its counters; its settings are
// the new ones all the same.)
func (ts *tableService) addDest(d Destination, tag *int32) error {
	if err := checkDest(d); err != nil {
		return err
	}
	if ts.findDest(d.Key()) >= 0 {
		return syscall.EEXIST
	}
	if !destAddrAcceptable(d.Family, d.Addr) {
		return syscall.EINVAL
	}
	// mh's table is not rebuilt beyond its size, but the add succeeds.
	ts.appendDest(storedDest(&d, tagOr(tag, 0)))
	return nil
}

func (ts *tableService) editDest(d Destination, tag *int32) error {
	if err := checkDest(d); err != nil {
		return err
	}
	i := ts.findDest(d.Key())
	if i < 0 {
		return syscall.ENOENT
	}
	ts.dests[i] = storedDest(&d, tagOr(tag, ts.dests[i].tag))
	return nil
}

// destAddrAcceptable is ip_vs_new_dest's address check for what does not
// depend on the namespace's addresses and routes: IPv4 0.0.0.0 (but not
// the rest of 0/8, unicast since Linux 5.3), limited broadcast and
// multicast are refused, IPv6 anything not unicast, link-local and
// IPv4-mapped addresses. Not modelled: subnet broadcast addresses of
// configured interfaces (refused) and IPv6 link-local addresses of the
// host itself (accepted).
func destAddrAcceptable(f Family, a netip.Addr) bool {
	if f == IPv4 {
		return !a.IsUnspecified() && !a.IsMulticast() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
	}
	b := a.As16()
	switch {
	case b[0] == 0xff, a.IsLinkLocalUnicast(), a.Is4In6(), a.IsUnspecified():
		return false
	}
	return true
}

// setTimeouts follows ip_vs_set_timeout: every value is checked before
// any is set; zero keeps a value.
func (t *Table) setTimeouts(n Timeouts) error {
	for _, v := range []uint32{n.TCP, n.TCPFin, n.UDP} {
		if v > maxTimeout {
			return syscall.EINVAL
		}
	}
	set := func(dst *uint32, v uint32) {
		if v != 0 {
			*dst = v
		}
	}
	set(&t.timeouts.TCP, n.TCP)
	set(&t.timeouts.TCPFin, n.TCPFin)
	set(&t.timeouts.UDP, n.UDP)
	return nil
}

// Sync daemon defaults (IP_VS_SYNC_GROUP, IP_VS_SYNC_PORT).
var defaultSyncGroup = netip.AddrFrom4([4]byte{224, 0, 0, 81})

const defaultSyncPort = 8848

// startDaemon follows ip_vs_genl_new_daemon and start_sync_thread, in
// their order of checks: the group, mixed-family real servers, the
// interface, whether the role already runs, then the sockets. Of socket
// failures only the one a fresh namespace shows is modelled: a master
// cannot reach an IPv6 group over a loopback interface.
func (t *Table) startDaemon(d Daemon) error {
	if err := checkName("interface", d.Interface, nameMax); err != nil {
		return err
	}
	v6 := false
	if d.Group.IsValid() {
		// The client sends an IPv4 group as such and anything else,
		// IPv4-mapped addresses too, as an IPv6 group.
		v6 = !d.Group.Is4()
		if v6 && d.Group.As16()[0] != 0xff || !v6 && !d.Group.IsMulticast() {
			return syscall.EINVAL
		}
	} else {
		d.Group = defaultSyncGroup
	}
	if t.mixedDests() > 0 {
		return syscall.EINVAL
	}
	link, ok := t.Env.Links[d.Interface]
	if !ok {
		return syscall.ENODEV
	}
	d.SyncMaxLen = syncMaxLen(d, link.MTU, v6)
	if d.Port == 0 {
		d.Port = defaultSyncPort
	}
	if d.TTL == 0 {
		d.TTL = 1
	}
	var slot **Daemon
	switch d.State {
	case Master:
		slot = &t.master
	case Backup:
		slot = &t.backup
	default:
		return syscall.EINVAL
	}
	if *slot != nil {
		return syscall.EEXIST
	}
	// The master's socket connects to the group (make_send_sock).
	if d.State == Master && v6 && link.Loopback {
		return syscall.ENETUNREACH
	}
	*slot = &d
	return nil
}

// syncMaxLen is the message size start_sync_thread settles on: the
// requested one within bounds, or else what the MTU leaves after the IP
// and UDP headers (a master assumes 1500, a backup reads its interface's).
func syncMaxLen(d Daemon, mtu int, v6 bool) uint16 {
	hlen := 20 + 8
	if v6 {
		hlen = 40 + 8
	}
	lo := 1
	if d.State == Backup {
		lo = 1024
		mtu = min(max(mtu, 1500), 65535)
	} else {
		mtu = 1500
	}
	if d.SyncMaxLen != 0 {
		return uint16(min(max(int(d.SyncMaxLen), lo), 65535-hlen))
	}
	return uint16(mtu - hlen)
}

func (t *Table) stopDaemon(s SyncState) error {
	var slot **Daemon
	switch s {
	case Master:
		slot = &t.master
	case Backup:
		slot = &t.backup
	default:
		return syscall.EINVAL
	}
	if *slot == nil {
		return syscall.ESRCH
	}
	*slot = nil
	return nil
}

// A ChangeQueue takes changes, one method per kind of change: the kernel
// client's batch is one, and so is anything that stands in for it.
type ChangeQueue interface {
	AddService(Service)
	UpdateService(Service)
	DeleteService(ServiceKey)
	AddDestination(ServiceKey, Destination)
	UpdateDestination(ServiceKey, Destination)
	DeleteDestination(ServiceKey, Destination)
	Flush()
	ZeroAll()
	ZeroService(ServiceKey)
	SetTimeouts(Timeouts)
	StartDaemon(Daemon)
	StopDaemon(SyncState)
}

// QueueOn adds c to q through the method for its kind.
func (c Change) QueueOn(q ChangeQueue) {
	k := c.Service.ServiceKey
	switch c.Op {
	case OpAddService:
		q.AddService(c.Service)
	case OpEditService:
		q.UpdateService(c.Service)
	case OpDelService:
		q.DeleteService(k)
	case OpAddDest:
		q.AddDestination(k, c.Dest)
	case OpEditDest:
		q.UpdateDestination(k, c.Dest)
	case OpDelDest:
		q.DeleteDestination(k, c.Dest)
	case OpFlush:
		q.Flush()
	case OpZeroAll:
		q.ZeroAll()
	case OpZeroService:
		q.ZeroService(k)
	case OpSetTimeouts:
		q.SetTimeouts(c.Timeouts)
	case OpStartDaemon:
		q.StartDaemon(c.Daemon)
	case OpStopDaemon:
		q.StopDaemon(c.Daemon.State)
	}
}
