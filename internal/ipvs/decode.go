package ipvs

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// Decoders for the kernel's replies. Every fixed-size field is length
// checked before it is read; a malformed reply is an error, never a panic.

// decodeInfo decodes a GET_INFO reply (SET_INFO message).
func decodeInfo(b []byte) (rules.Info, error) {
	var info rules.Info
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return info, err
	}
	for ad.Next() {
		switch ad.Type() {
		case infoAttrVersion:
			info.Version = ad.Uint32()
		case infoAttrConnTableSize:
			info.ConnTableSize = ad.Uint32()
		}
	}
	return info, ad.Err()
}

// decodeTimeouts decodes a GET_CONFIG reply (SET_CONFIG message).
func decodeTimeouts(b []byte) (rules.Timeouts, error) {
	var t rules.Timeouts
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return t, err
	}
	for ad.Next() {
		switch ad.Type() {
		case cmdAttrTimeoutTCP:
			t.TCP = ad.Uint32()
		case cmdAttrTimeoutTCPFin:
			t.TCPFin = ad.Uint32()
		case cmdAttrTimeoutUDP:
			t.UDP = ad.Uint32()
		}
	}
	return t, ad.Err()
}

// decodeNested finds the top-level attribute typ in b and hands its
// contents to fn. A message without it is malformed.
func decodeNested(b []byte, typ uint16, fn func(*netlink.AttributeDecoder) error) error {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return err
	}
	found := false
	for ad.Next() {
		if ad.Type() == typ && !found {
			found = true
			ad.Nested(fn)
		}
	}
	if err := ad.Err(); err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%w: attribute %d missing", errMalformed, typ)
	}
	return nil
}

// decodeServiceMessage decodes a NEW_SERVICE message.
func decodeServiceMessage(b []byte) (rules.Service, error) {
	var s rules.Service
	err := decodeNested(b, cmdAttrService, func(ad *netlink.AttributeDecoder) error {
		var err error
		s, err = decodeService(ad)
		return err
	})
	return s, err
}

// rawAddr reads an address attribute (at most 16 bytes) for conversion
// once the family is known.
func rawAddr(ad *netlink.AttributeDecoder, dst *[]byte) {
	ad.Do(func(b []byte) error {
		if len(b) > addrLen {
			return fmt.Errorf("%w: address of %d bytes", errMalformed, len(b))
		}
		*dst = append((*dst)[:0], b...)
		return nil
	})
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

// port reads a big-endian port attribute.
func port(ad *netlink.AttributeDecoder, dst *uint16) {
	ad.Do(func(b []byte) error {
		if len(b) != 2 {
			return fmt.Errorf("%w: port of %d bytes", errMalformed, len(b))
		}
		*dst = binary.BigEndian.Uint16(b)
		return nil
	})
}

// decodeService decodes the attributes nested in CMD_ATTR_SERVICE.
func decodeService(ad *netlink.AttributeDecoder) (rules.Service, error) {
	var (
		s       rules.Service
		addr    []byte
		netmask []byte
	)
	for ad.Next() {
		switch ad.Type() {
		case svcAttrAF:
			s.Family = rules.Family(ad.Uint16())
		case svcAttrProtocol:
			s.Protocol = rules.Protocol(ad.Uint16())
		case svcAttrAddr:
			rawAddr(ad, &addr)
		case svcAttrPort:
			port(ad, &s.Port)
		case svcAttrFWMark:
			s.FWMark = ad.Uint32()
		case svcAttrSchedName:
			s.Scheduler = ad.String()
		case svcAttrFlags:
			ad.Do(func(b []byte) error {
				if len(b) != 8 {
					return fmt.Errorf("%w: flags of %d bytes", errMalformed, len(b))
				}
				// The mask half is always all-ones in replies.
				s.Flags = rules.ServiceFlags(binary.NativeEndian.Uint32(b)) &^ rules.FlagHashed
				return nil
			})
		case svcAttrTimeout:
			s.Timeout = ad.Uint32()
		case svcAttrNetmask:
			ad.Do(func(b []byte) error {
				if len(b) != 4 {
					return fmt.Errorf("%w: netmask of %d bytes", errMalformed, len(b))
				}
				netmask = append(netmask[:0], b...)
				return nil
			})
		case svcAttrPEName:
			s.PE = ad.String()
		case svcAttrStats:
			ad.Nested(decodeStats(&s.Stats))
		case svcAttrStats64:
			ad.Nested(decodeStats(&s.Stats64))
		}
	}
	if err := ad.Err(); err != nil {
		return s, err
	}
	if s.Family != rules.IPv4 && s.Family != rules.IPv6 {
		return s, fmt.Errorf("%w: service address family %d", errMalformed, uint16(s.Family))
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
		return s, nil
	}
	var err error
	s.Addr, err = toAddr(s.Family, addr)
	return s, err
}

// decodeDestinationMessage decodes a NEW_DEST message of a service of
// family svcFamily.
func decodeDestinationMessage(b []byte, svcFamily rules.Family) (rules.Destination, error) {
	var d rules.Destination
	err := decodeNested(b, cmdAttrDest, func(ad *netlink.AttributeDecoder) error {
		var err error
		d, err = decodeDestination(ad, svcFamily)
		return err
	})
	return d, err
}

// decodeDestination decodes the attributes nested in CMD_ATTR_DEST.
// Kernels before 3.18 send no ADDR_FAMILY; the service's family applies.
func decodeDestination(ad *netlink.AttributeDecoder, svcFamily rules.Family) (rules.Destination, error) {
	var (
		d    rules.Destination
		addr []byte
	)
	for ad.Next() {
		switch ad.Type() {
		case destAttrAddr:
			rawAddr(ad, &addr)
		case destAttrPort:
			port(ad, &d.Port)
		case destAttrFwdMethod:
			d.Forward = rules.ForwardMethod(ad.Uint32() & 0x7)
		case destAttrWeight:
			d.Weight = int32(ad.Uint32())
		case destAttrUThresh:
			d.UpperThreshold = ad.Uint32()
		case destAttrLThresh:
			d.LowerThreshold = ad.Uint32()
		case destAttrActiveConns:
			d.ActiveConns = ad.Uint32()
		case destAttrInactConns:
			d.InactiveConns = ad.Uint32()
		case destAttrPersistConns:
			d.PersistentConns = ad.Uint32()
		case destAttrStats:
			ad.Nested(decodeStats(&d.Stats))
		case destAttrAddrFamily:
			d.Family = rules.Family(ad.Uint16())
		case destAttrStats64:
			ad.Nested(decodeStats(&d.Stats64))
		case destAttrTunType:
			d.TunnelType = rules.TunnelType(ad.Uint8())
		case destAttrTunPort:
			port(ad, &d.TunnelPort)
		case destAttrTunFlags:
			d.TunnelFlags = rules.TunnelFlags(ad.Uint16())
		}
	}
	if err := ad.Err(); err != nil {
		return d, err
	}
	if d.Family == 0 {
		d.Family = svcFamily
	}
	var err error
	d.Addr, err = toAddr(d.Family, addr)
	return d, err
}

// decodeStats decodes a STATS or STATS64 nest into st. The same ids carry
// u32 or u64 values depending on the nest and the field, so the width is
// taken from the attribute's length.
func decodeStats(st *rules.Stats) func(*netlink.AttributeDecoder) error {
	return func(ad *netlink.AttributeDecoder) error {
		for ad.Next() {
			var dst *uint64
			switch ad.Type() {
			case statsAttrConns:
				dst = &st.Conns
			case statsAttrInPkts:
				dst = &st.InPkts
			case statsAttrOutPkts:
				dst = &st.OutPkts
			case statsAttrInBytes:
				dst = &st.InBytes
			case statsAttrOutBytes:
				dst = &st.OutBytes
			case statsAttrCPS:
				dst = &st.CPS
			case statsAttrInPPS:
				dst = &st.InPPS
			case statsAttrOutPPS:
				dst = &st.OutPPS
			case statsAttrInBPS:
				dst = &st.InBPS
			case statsAttrOutBPS:
				dst = &st.OutBPS
			default: // statsAttrPad and ids from newer kernels
				continue
			}
			ad.Do(func(b []byte) error {
				switch len(b) {
				case 4:
					*dst = uint64(binary.NativeEndian.Uint32(b))
				case 8:
					*dst = binary.NativeEndian.Uint64(b)
				default:
					return fmt.Errorf("%w: counter of %d bytes", errMalformed, len(b))
				}
				return nil
			})
		}
		return nil
	}
}

// decodeDaemonMessage decodes a NEW_DAEMON message.
func decodeDaemonMessage(b []byte) (rules.Daemon, error) {
	var d rules.Daemon
	err := decodeNested(b, cmdAttrDaemon, func(ad *netlink.AttributeDecoder) error {
		for ad.Next() {
			switch ad.Type() {
			case daemonAttrState:
				d.State = rules.SyncState(ad.Uint32())
			case daemonAttrMcastIfn:
				d.Interface = ad.String()
			case daemonAttrSyncID:
				d.SyncID = ad.Uint32()
			case daemonAttrSyncMaxLen:
				d.SyncMaxLen = ad.Uint16()
			case daemonAttrMcastGroup:
				ad.Do(func(b []byte) error {
					if len(b) != 4 {
						return fmt.Errorf("%w: group of %d bytes", errMalformed, len(b))
					}
					d.Group = netip.AddrFrom4([4]byte(b))
					return nil
				})
			case daemonAttrMcastGrp6:
				ad.Do(func(b []byte) error {
					if len(b) != 16 {
						return fmt.Errorf("%w: group of %d bytes", errMalformed, len(b))
					}
					d.Group = netip.AddrFrom16([16]byte(b))
					return nil
				})
			case daemonAttrMcastPort:
				d.Port = ad.Uint16()
			case daemonAttrMcastTTL:
				d.TTL = ad.Uint8()
			}
		}
		return nil
	})
	return d, err
}
