package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// Local request checks. The kernel would refuse or, worse, misread these,
// so they are caught before anything is sent.
var (
	errFamilyMismatch = errors.New("address does not match the address family")
	errBadFamily      = errors.New("address family must be inet or inet6")
	errNameTooLong    = errors.New("name too long")
	errBadName        = errors.New("invalid name")
)

// addr16 is the 16-byte union nf_inet_addr form of a: IPv4 in the first
// four bytes, zeros after. An invalid address (fwmark services) is zeros.
func addr16(a netip.Addr) (b [addrLen]byte) {
	switch {
	case a.Is4():
		v := a.As4()
		copy(b[:], v[:])
	case a.IsValid():
		v := a.As16()
		copy(b[:], v[:])
	}
	return b
}

// checkAddr verifies that a is an address of family f.
func checkAddr(f rules.Family, a netip.Addr) error {
	switch f {
	case rules.IPv4, rules.IPv6:
	default:
		return fmt.Errorf("%w: %d", errBadFamily, uint16(f))
	}
	// IPv4-mapped IPv6 addresses are IPv6 here, as for the kernel.
	if rules.FamilyOf(a) != f {
		return fmt.Errorf("%w: %s is not %s", errFamilyMismatch, a, f)
	}
	return nil
}

// checkName verifies that s fits a kernel name buffer of max bytes with
// its NUL.
func checkName(what, s string, max int) error {
	if len(s) >= max {
		return fmt.Errorf("%w: %s %q is longer than %d bytes", errNameTooLong, what, s, max-1)
	}
	// The kernel would silently cut the name at the NUL.
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: %s %q contains a NUL byte", errBadName, what, s)
	}
	return nil
}

// encodeServiceKey writes a service's identity attributes.
func encodeServiceKey(ae *attrEncoder, k *rules.ServiceKey) error {
	if k.IsFWMark() {
		if k.Family != rules.IPv4 && k.Family != rules.IPv6 {
			return fmt.Errorf("%w: %d", errBadFamily, uint16(k.Family))
		}
		ae.u16(svcAttrAF, uint16(k.Family))
		ae.u32(svcAttrFWMark, k.FWMark)
		return nil
	}
	if err := checkAddr(k.Family, k.Addr); err != nil {
		return err
	}
	ae.u16(svcAttrAF, uint16(k.Family))
	ae.u16(svcAttrProtocol, uint16(k.Protocol))
	addr := addr16(k.Addr)
	ae.bytes(svcAttrAddr, addr[:])
	ae.be16(svcAttrPort, k.Port)
	return nil
}

// encodeServiceKeyNested writes the service attribute naming k.
func encodeServiceKeyNested(ae *attrEncoder, k *rules.ServiceKey) error {
	start := ae.begin(cmdAttrService)
	if err := encodeServiceKey(ae, k); err != nil {
		return err
	}
	return ae.end(start)
}

// encodeServiceKeyAttr is a request carrying only a service's identity.
func encodeServiceKeyAttr(k rules.ServiceKey) encoder {
	return func(ae *attrEncoder) error { return encodeServiceKeyNested(ae, &k) }
}

// encodeNetmask writes the persistence netmask: for IPv4 the mask's bytes
// in network order, for IPv6 a host-order prefix length.
func encodeNetmask(ae *attrEncoder, f rules.Family, mask uint32) {
	if f == rules.IPv6 {
		ae.u32(svcAttrNetmask, mask)
		return
	}
	ae.be32(svcAttrNetmask, mask)
}

// encodeService writes a whole service, as NEW_SERVICE and SET_SERVICE
// require: every option is mandatory there.
func encodeService(ae *attrEncoder, s *rules.Service) error {
	if err := checkName("scheduler", s.Scheduler, schedNameMaxLen); err != nil {
		return err
	}
	if err := checkName("persistence engine", s.PE, peNameMaxLen); err != nil {
		return err
	}
	start := ae.begin(cmdAttrService)
	if err := encodeServiceKey(ae, &s.ServiceKey); err != nil {
		return err
	}
	ae.str(svcAttrSchedName, s.Scheduler)
	if s.PE != "" {
		ae.str(svcAttrPEName, s.PE)
	}
	// struct ip_vs_flags {flags, mask}: a full mask replaces every bit,
	// which is what an edit means.
	flags := ae.put(svcAttrFlags, 8)
	binary.NativeEndian.PutUint32(flags[:4], uint32(s.Flags&^rules.FlagHashed))
	binary.NativeEndian.PutUint32(flags[4:], ^uint32(0))
	ae.u32(svcAttrTimeout, s.Timeout)
	encodeNetmask(ae, s.Family, s.Netmask)
	return ae.end(start)
}

// encodeServiceAttr is a request carrying a whole service.
func encodeServiceAttr(s rules.Service) encoder {
	return func(ae *attrEncoder) error { return encodeService(ae, &s) }
}

// encodeDestination writes a service and a real server of it; full adds
// the options that NEW_DEST and SET_DEST require.
func encodeDestination(ae *attrEncoder, k *rules.ServiceKey, d *rules.Destination, full bool) error {
	if err := checkDestAddr(k, d); err != nil {
		return err
	}
	if err := encodeServiceKeyNested(ae, k); err != nil {
		return err
	}
	return encodeDestinationAttr(ae, k, d, full)
}

// destFamily is the address family of a real server of service k.
func destFamily(k *rules.ServiceKey, d *rules.Destination) rules.Family {
	if d.Family == 0 {
		return k.Family
	}
	return d.Family
}

// checkDestAddr verifies that a real server's address is of its family.
func checkDestAddr(k *rules.ServiceKey, d *rules.Destination) error {
	return checkAddr(destFamily(k, d), d.Addr)
}

// encodeDestinationAttr writes the real-server attribute of a request
// (see encodeDestination).
func encodeDestinationAttr(ae *attrEncoder, k *rules.ServiceKey, d *rules.Destination, full bool) error {
	f := destFamily(k, d)
	start := ae.begin(cmdAttrDest)
	ae.u16(destAttrAddrFamily, uint16(f))
	addr := addr16(d.Addr)
	ae.bytes(destAttrAddr, addr[:])
	ae.be16(destAttrPort, d.Port)
	if full {
		ae.u32(destAttrFwdMethod, uint32(d.Forward))
		ae.u32(destAttrWeight, uint32(d.Weight))
		ae.u8(destAttrTunType, uint8(d.TunnelType))
		ae.be16(destAttrTunPort, d.TunnelPort)
		ae.u16(destAttrTunFlags, uint16(d.TunnelFlags))
		ae.u32(destAttrUThresh, d.UpperThreshold)
		ae.u32(destAttrLThresh, d.LowerThreshold)
	}
	return ae.end(start)
}

// encodeDestinationAttrs is a request naming a service and a real server.
func encodeDestinationAttrs(k rules.ServiceKey, d rules.Destination, full bool) encoder {
	return func(ae *attrEncoder) error { return encodeDestination(ae, &k, &d, full) }
}

// encodeTimeouts writes the three timeouts at the top level.
func encodeTimeouts(t rules.Timeouts) encoder {
	return func(ae *attrEncoder) error {
		ae.u32(cmdAttrTimeoutTCP, t.TCP)
		ae.u32(cmdAttrTimeoutTCPFin, t.TCPFin)
		ae.u32(cmdAttrTimeoutUDP, t.UDP)
		return nil
	}
}

// encodeDaemonAttr is a NEW_DAEMON request. Optional fields are sent only
// when set, so the kernel applies its defaults.
func encodeDaemonAttr(d rules.Daemon) encoder {
	return func(ae *attrEncoder) error {
		if err := checkName("interface", d.Interface, ifNameMaxLen); err != nil {
			return err
		}
		return ae.nested(cmdAttrDaemon, func(nae *attrEncoder) error {
			nae.u32(daemonAttrState, uint32(d.State))
			nae.str(daemonAttrMcastIfn, d.Interface)
			nae.u32(daemonAttrSyncID, d.SyncID)
			if d.SyncMaxLen != 0 {
				nae.u16(daemonAttrSyncMaxLen, d.SyncMaxLen)
			}
			switch {
			case d.Group.Is4():
				v := d.Group.As4()
				nae.bytes(daemonAttrMcastGroup, v[:])
			case d.Group.IsValid():
				v := d.Group.As16()
				nae.bytes(daemonAttrMcastGrp6, v[:])
			}
			if d.Port != 0 {
				// Unlike service ports, the daemon port is host order.
				nae.u16(daemonAttrMcastPort, d.Port)
			}
			if d.TTL != 0 {
				nae.u8(daemonAttrMcastTTL, d.TTL)
			}
			return nil
		})
	}
}

// encodeDaemonStopAttr is a DEL_DAEMON request.
func encodeDaemonStopAttr(state rules.SyncState) encoder {
	return func(ae *attrEncoder) error {
		return ae.nested(cmdAttrDaemon, func(nae *attrEncoder) error {
			nae.u32(daemonAttrState, uint32(state))
			return nil
		})
	}
}
