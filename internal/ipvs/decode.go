package ipvs

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// Decoders for the kernel's replies. Every fixed-size field is length
// checked before it is read; a malformed reply is an error wrapping
// errMalformed, never a panic.

// decodeInfo decodes a GET_INFO reply (SET_INFO message).
func decodeInfo(b []byte) (rules.Info, error) {
	var info rules.Info
	a := walker{b: b}
	for a.next() {
		switch a.typ {
		case infoAttrVersion:
			info.Version = a.u32()
		case infoAttrConnTableSize:
			info.ConnTableSize = a.u32()
		}
	}
	return info, a.err
}

// decodeTimeouts decodes a GET_CONFIG reply (SET_CONFIG message).
func decodeTimeouts(b []byte) (rules.Timeouts, error) {
	var t rules.Timeouts
	a := walker{b: b}
	for a.next() {
		switch a.typ {
		case cmdAttrTimeoutTCP:
			t.TCP = a.u32()
		case cmdAttrTimeoutTCPFin:
			t.TCPFin = a.u32()
		case cmdAttrTimeoutUDP:
			t.UDP = a.u32()
		}
	}
	return t, a.err
}

// findNested returns a walker over the first top-level attribute typ of b.
func findNested(b []byte, typ uint16) (walker, error) {
	a := walker{b: b}
	for a.next() {
		if a.typ == typ {
			return a.nested(), nil
		}
	}
	if a.err != nil {
		return walker{}, a.err
	}
	return walker{}, fmt.Errorf("%w: attribute %d missing", errMalformed, typ)
}

// decodeServiceMessage decodes a NEW_SERVICE message.
func decodeServiceMessage(b []byte) (rules.Service, error) {
	var s rules.Service
	err := decodeServiceMessageInto(&s, b, true)
	return s, err
}

// decodeServiceMessageInto decodes a NEW_SERVICE message into *s, which
// must be zero: a dump decodes straight into its result, without a copy.
// Without counters, the statistics nests are skipped unread.
func decodeServiceMessageInto(s *rules.Service, b []byte, counters bool) error {
	a, err := findNested(b, cmdAttrService)
	if err != nil {
		return err
	}
	return decodeService(s, &a, counters)
}

// decodeServiceProcKey decodes only the /proc key of a NEW_SERVICE
// message: a read that only confirms which services exist skips the
// options and counters. It accepts whatever decodeServiceMessage accepts,
// with the same key.
func decodeServiceProcKey(b []byte) (procKey, error) {
	a, err := findNested(b, cmdAttrService)
	if err != nil {
		return procKey{}, err
	}
	var (
		family rules.Family
		k      procKey
		addr   []byte
	)
	for a.next() {
		switch a.typ {
		case svcAttrAF:
			family = rules.Family(a.u16())
		case svcAttrProtocol:
			k.proto = rules.Protocol(a.u16())
		case svcAttrAddr:
			addr = a.rawAddr()
		case svcAttrPort:
			k.port = a.be16()
		case svcAttrFWMark:
			k.fwmark = a.u32()
		}
	}
	if a.err != nil {
		return procKey{}, a.err
	}
	if family != rules.IPv4 && family != rules.IPv6 {
		return procKey{}, fmt.Errorf("%w: service address family %d", errMalformed, uint16(family))
	}
	if k.fwmark != 0 {
		return procKey{fwmark: k.fwmark}, nil
	}
	k.addr, err = toAddr(family, addr)
	return k, err
}

// rawAddr checks an address attribute (at most 16 bytes) and returns it
// for conversion once the family is known.
func (a *walker) rawAddr() []byte {
	if len(a.val) > addrLen {
		a.fail("address")
		return nil
	}
	return a.val
}

// toAddr converts a raw union nf_inet_addr of family f.
func toAddr(f rules.Family, b []byte) (netip.Addr, error) {
	var full [addrLen]byte
	copy(full[:], b) // the kernel zero-pads short addresses the same way
	switch f {
	case rules.IPv4:
		return netip.AddrFrom4([4]byte(full[:4])), nil
	case rules.IPv6:
		return netip.AddrFrom16(full), nil
	}
	return netip.Addr{}, fmt.Errorf("%w: address family %d", errMalformed, uint16(f))
}

// decodeService decodes the attributes nested in CMD_ATTR_SERVICE into
// *s, which must be zero; the statistics only with counters.
func decodeService(s *rules.Service, a *walker, counters bool) error {
	var (
		addr    []byte
		netmask []byte
	)
	for a.next() {
		switch a.typ {
		case svcAttrAF:
			s.Family = rules.Family(a.u16())
		case svcAttrProtocol:
			s.Protocol = rules.Protocol(a.u16())
		case svcAttrAddr:
			addr = a.rawAddr()
		case svcAttrPort:
			s.Port = a.be16()
		case svcAttrFWMark:
			s.FWMark = a.u32()
		case svcAttrSchedName:
			s.Scheduler = a.name()
		case svcAttrFlags:
			if len(a.val) != 8 {
				a.fail("flags")
				break
			}
			// The mask half is always all-ones in replies.
			s.Flags = rules.ServiceFlags(binary.NativeEndian.Uint32(a.val)) &^ rules.FlagHashed
		case svcAttrTimeout:
			s.Timeout = a.u32()
		case svcAttrNetmask:
			if len(a.val) != 4 {
				a.fail("netmask")
				break
			}
			netmask = a.val
		case svcAttrPEName:
			s.PE = a.name()
		case svcAttrStats:
			if counters {
				a.stats(&s.Stats)
			}
		case svcAttrStats64:
			if counters {
				a.stats(&s.Stats64)
			}
		}
	}
	if a.err != nil {
		return a.err
	}
	if s.Family != rules.IPv4 && s.Family != rules.IPv6 {
		return fmt.Errorf("%w: service address family %d", errMalformed, uint16(s.Family))
	}
	if netmask != nil {
		if s.Family == rules.IPv6 {
			s.Netmask = binary.NativeEndian.Uint32(netmask)
		} else {
			s.Netmask = binary.BigEndian.Uint32(netmask)
		}
	}
	if s.FWMark != 0 {
		// The kernel reports neither address nor port for fwmark
		// services, and forces the protocol internally.
		s.Protocol, s.Addr, s.Port = 0, netip.Addr{}, 0
		return nil
	}
	var err error
	s.Addr, err = toAddr(s.Family, addr)
	return err
}

// decodeDestinationMessage decodes a NEW_DEST message of a service of
// family svcFamily.
func decodeDestinationMessage(b []byte, svcFamily rules.Family) (rules.Destination, error) {
	var d rules.Destination
	err := decodeDestinationInto(&d, b, svcFamily)
	return d, err
}

// decodeDestinationInto decodes a NEW_DEST message into *d, which must be
// zero: a dump decodes straight into its result, without a copy.
func decodeDestinationInto(d *rules.Destination, b []byte, svcFamily rules.Family) error {
	a, err := findNested(b, cmdAttrDest)
	if err != nil {
		return err
	}
	return decodeDestination(d, &a, svcFamily)
}

// decodeDestination decodes the attributes nested in CMD_ATTR_DEST into
// *d. Kernels before 3.18 send no ADDR_FAMILY; the service's family
// applies.
func decodeDestination(d *rules.Destination, a *walker, svcFamily rules.Family) error {
	var addr []byte
	// The 32-bit set is decoded only when no 64-bit set follows it: the
	// kernel fills both from one snapshot, so the 64-bit set, truncated,
	// is the 32-bit one (see low32), and a listing with counters walks
	// half the attributes.
	var stats32 walker
	has32, has64 := false, false
	for a.next() {
		switch a.typ {
		case destAttrAddr:
			addr = a.rawAddr()
		case destAttrPort:
			d.Port = a.be16()
		case destAttrFwdMethod:
			d.Forward = rules.ForwardMethod(a.u32() & 0x7)
		case destAttrWeight:
			d.Weight = int32(a.u32())
		case destAttrUThresh:
			d.UpperThreshold = a.u32()
		case destAttrLThresh:
			d.LowerThreshold = a.u32()
		case destAttrActiveConns:
			d.ActiveConns = a.u32()
		case destAttrInactConns:
			d.InactiveConns = a.u32()
		case destAttrPersistConns:
			d.PersistentConns = a.u32()
		case destAttrStats:
			stats32, has32 = *a, true
		case destAttrAddrFamily:
			d.Family = rules.Family(a.u16())
		case destAttrStats64:
			a.stats(&d.Stats64)
			has64 = true
		case destAttrTunType:
			d.TunnelType = rules.TunnelType(a.u8())
		case destAttrTunPort:
			d.TunnelPort = a.be16()
		case destAttrTunFlags:
			d.TunnelFlags = rules.TunnelFlags(a.u16())
		}
	}
	switch {
	case has32 && has64:
		d.Stats = low32(d.Stats64)
	case has32:
		stats32.stats(&d.Stats)
		if stats32.err != nil {
			a.stop(stats32.err)
		}
	}
	if a.err != nil {
		return a.err
	}
	if d.Family == 0 {
		d.Family = svcFamily
	}
	var err error
	d.Addr, err = toAddr(d.Family, addr)
	return err
}

// low32 is the kernel's 32-bit STATS set for the counters of a STATS64
// set: everything but the byte counters cut to 32 bits.
func low32(st rules.Stats) rules.Stats {
	low := func(v uint64) uint64 { return uint64(uint32(v)) }
	return rules.Stats{
		Conns: low(st.Conns), InPkts: low(st.InPkts), OutPkts: low(st.OutPkts),
		InBytes: st.InBytes, OutBytes: st.OutBytes,
		CPS: low(st.CPS), InPPS: low(st.InPPS), OutPPS: low(st.OutPPS),
		InBPS: low(st.InBPS), OutBPS: low(st.OutBPS),
	}
}

// stats decodes the current attribute, a STATS or STATS64 nest, into st.
func (a *walker) stats(st *rules.Stats) {
	fields := [...]*uint64{
		statsAttrConns:    &st.Conns,
		statsAttrInPkts:   &st.InPkts,
		statsAttrOutPkts:  &st.OutPkts,
		statsAttrInBytes:  &st.InBytes,
		statsAttrOutBytes: &st.OutBytes,
		statsAttrCPS:      &st.CPS,
		statsAttrInPPS:    &st.InPPS,
		statsAttrOutPPS:   &st.OutPPS,
		statsAttrInBPS:    &st.InBPS,
		statsAttrOutBPS:   &st.OutBPS,
	}
	n := a.nested()
	for n.next() {
		// statsAttrPad and ids of newer kernels are skipped.
		if int(n.typ) < len(fields) && fields[n.typ] != nil {
			*fields[n.typ] = n.counter()
		}
	}
	if n.err != nil {
		a.stop(n.err)
	}
}

// decodeDaemonMessage decodes a NEW_DAEMON message.
func decodeDaemonMessage(b []byte) (rules.Daemon, error) {
	var d rules.Daemon
	a, err := findNested(b, cmdAttrDaemon)
	if err != nil {
		return d, err
	}
	for a.next() {
		switch a.typ {
		case daemonAttrState:
			d.State = rules.SyncState(a.u32())
		case daemonAttrMcastIfn:
			d.Interface = a.str()
		case daemonAttrSyncID:
			d.SyncID = a.u32()
		case daemonAttrSyncMaxLen:
			d.SyncMaxLen = a.u16()
		case daemonAttrMcastGroup:
			if len(a.val) != 4 {
				a.fail("group")
				break
			}
			d.Group = netip.AddrFrom4([4]byte(a.val))
		case daemonAttrMcastGrp6:
			if len(a.val) != 16 {
				a.fail("group")
				break
			}
			d.Group = netip.AddrFrom16([16]byte(a.val))
		case daemonAttrMcastPort:
			d.Port = a.u16()
		case daemonAttrMcastTTL:
			d.TTL = a.u8()
		}
	}
	return d, a.err
}
