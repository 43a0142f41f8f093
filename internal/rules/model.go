package rules

import (
	"fmt"
	"net/netip"
)

// A Family is an address family as the kernel numbers it (AF_INET, AF_INET6).
type Family uint16

// Address families used by IPVS.
const (
	IPv4 Family = 2  // AF_INET
	IPv6 Family = 10 // AF_INET6
)

func (f Family) String() string {
	switch f {
	case IPv4:
		return "inet"
	case IPv6:
		return "inet6"
	}
	return fmt.Sprintf("family(%d)", uint16(f))
}

// FamilyOf returns the family of a, or 0 for an invalid address.
func FamilyOf(a netip.Addr) Family {
	switch {
	case !a.IsValid():
		return 0
	case a.Is4():
		return IPv4
	}
	return IPv6
}

// A Protocol is the IP protocol number of a non-fwmark virtual service.
type Protocol uint16

// Protocols a virtual service can balance.
const (
	TCP  Protocol = 6
	UDP  Protocol = 17
	SCTP Protocol = 132
)

func (p Protocol) String() string {
	switch p {
	case TCP:
		return "TCP"
	case UDP:
		return "UDP"
	case SCTP:
		return "SCTP"
	}
	return fmt.Sprintf("IP_%d", uint16(p))
}

// A ServiceKey identifies a virtual service within a network namespace:
// either by family and firewall mark, or by family, protocol, address and
// port.
type ServiceKey struct {
	Family   Family
	FWMark   uint32     // non-zero for a fwmark service; then the fields below are unused
	Protocol Protocol   // TCP, UDP or SCTP
	Addr     netip.Addr // virtual address, of Family
	Port     uint16     // virtual port; 0 only makes sense with persistence
}

// IsFWMark reports whether k names a firewall-mark service.
func (k ServiceKey) IsFWMark() bool { return k.FWMark != 0 }

// String gives a short, unambiguous rendering for messages and tests.
func (k ServiceKey) String() string {
	if k.IsFWMark() {
		return fmt.Sprintf("FWM %d %s", k.FWMark, k.Family)
	}
	return fmt.Sprintf("%s %s", k.Protocol, netip.AddrPortFrom(k.Addr, k.Port))
}

// ServiceFlags are the kernel's IP_VS_SVC_F_* bits.
type ServiceFlags uint32

// Service flag bits (include/uapi/linux/ip_vs.h).
const (
	FlagPersistent ServiceFlags = 0x0001
	FlagHashed     ServiceFlags = 0x0002 // kernel-internal; set in every dump
	FlagOnePacket  ServiceFlags = 0x0004
	FlagSched1     ServiceFlags = 0x0008 // sh-fallback / mh-fallback
	FlagSched2     ServiceFlags = 0x0010 // sh-port / mh-port
	FlagSched3     ServiceFlags = 0x0020

	// FlagsSched are the bits owned by the scheduler ("-b" flags).
	FlagsSched = FlagSched1 | FlagSched2 | FlagSched3
)

// A Service is a virtual service: its identity, its settings (what a
// request sets) and its counters (what only the kernel writes).
type Service struct {
	ServiceKey

	Scheduler string       // "rr", "wlc", ...; "none" for no scheduler
	Flags     ServiceFlags // without FlagHashed when read back through this package
	Timeout   uint32       // persistence timeout in seconds
	// Netmask is the persistence granularity: for IPv4 the mask as a
	// number (0xffffff00 for 255.255.255.0), for IPv6 a prefix length.
	Netmask uint32
	PE      string // persistence engine ("sip"), empty for none

	ServiceCounters
}

// ServiceCounters are a service's traffic counters: filled in by the
// kernel on reads, ignored on writes, and no part of its settings.
type ServiceCounters struct {
	Stats   Stats // the kernel's 32-bit STATS set (bytes are 64-bit there too)
	Stats64 Stats // the kernel's 64-bit STATS64 set
}

// Settings returns s without its counters: what a request sets.
func (s Service) Settings() Service {
	s.ServiceCounters = ServiceCounters{}
	return s
}

// SameSettings reports whether s and o have the same identity and
// settings, whatever their counters.
func (s Service) SameSettings(o Service) bool { return s.Settings() == o.Settings() }

// Persistent reports whether the service has persistence enabled.
func (s Service) Persistent() bool { return s.Flags&FlagPersistent != 0 }

// A ForwardMethod is how packets reach a real server (IP_VS_CONN_F_*).
type ForwardMethod uint32

// Forwarding methods.
const (
	Masquerade ForwardMethod = 0 // NAT, -m
	Local      ForwardMethod = 1 // deliver to the local host
	Tunnel     ForwardMethod = 2 // IP-in-IP, GUE or GRE, -i
	Route      ForwardMethod = 3 // direct routing, -g
)

func (m ForwardMethod) String() string {
	switch m {
	case Masquerade:
		return "Masq"
	case Local:
		return "Local"
	case Tunnel:
		return "Tunnel"
	case Route:
		return "Route"
	}
	return fmt.Sprintf("fwd(%d)", uint32(m))
}

// A TunnelType is the encapsulation of a tunnel real server.
type TunnelType uint8

// Tunnel types.
const (
	TunnelIPIP TunnelType = 0
	TunnelGUE  TunnelType = 1
	TunnelGRE  TunnelType = 2
)

func (t TunnelType) String() string {
	switch t {
	case TunnelIPIP:
		return "ipip"
	case TunnelGUE:
		return "gue"
	case TunnelGRE:
		return "gre"
	}
	return fmt.Sprintf("tun(%d)", uint8(t))
}

// TunnelFlags are the IP_VS_TUNNEL_ENCAP_FLAG_* bits.
type TunnelFlags uint16

// Tunnel checksum flags; no bit set means no checksum.
const (
	TunnelNoChecksum     TunnelFlags = 0
	TunnelChecksum       TunnelFlags = 1 << 0
	TunnelRemoteChecksum TunnelFlags = 1 << 1
)

// A Destination is a real server of a virtual service.
type Destination struct {
	// Family is the real server's address family; it differs from the
	// service's only for tunnelled real servers. Zero means the service's.
	Family Family
	Addr   netip.Addr
	Port   uint16

	Forward ForwardMethod
	// Weight is signed because the kernel treats it as an int and refuses
	// negative values; ipvsadm itself only sends 0..2147483647.
	Weight         int32
	UpperThreshold uint32 // 0: no limit
	LowerThreshold uint32

	TunnelType  TunnelType
	TunnelPort  uint16
	TunnelFlags TunnelFlags

	DestinationCounters
}

// DestinationCounters are a real server's connection and traffic
// counters: filled in by the kernel on reads, ignored on writes, and no
// part of its settings.
type DestinationCounters struct {
	ActiveConns     uint32
	InactiveConns   uint32
	PersistentConns uint32 // persistence templates pointing at it
	Stats           Stats
	Stats64         Stats
}

// Settings returns d without its counters: what a request sets.
func (d Destination) Settings() Destination {
	d.DestinationCounters = DestinationCounters{}
	return d
}

// SameSettings reports whether d and o have the same identity and
// settings, whatever their counters.
func (d Destination) SameSettings(o Destination) bool { return d.Settings() == o.Settings() }

// A DestinationKey identifies a real server within its service the way the
// kernel looks it up (ip_vs_lookup_dest): by family, address and port. The
// port counts for fwmark services too, and the family for mixed-family
// (tunnelled) real servers: 10.0.0.1 and ::ffff:10.0.0.1 are two real
// servers.
type DestinationKey struct {
	Family Family
	Addr   netip.Addr
	Port   uint16
}

// Key returns d's identity within its service. A zero Family means the
// service's, which for any request the kernel can receive is the family of
// the address.
func (d Destination) Key() DestinationKey {
	f := d.Family
	if f == 0 {
		f = FamilyOf(d.Addr)
	}
	return DestinationKey{Family: f, Addr: d.Addr, Port: d.Port}
}

// String gives a short, unambiguous rendering for messages and tests.
func (k DestinationKey) String() string {
	return fmt.Sprintf("%s %s", k.Family, netip.AddrPortFrom(k.Addr, k.Port))
}

// Stats are a service's or real server's traffic counters and rates.
// Counters are totals since creation or the last zeroing; rates are the
// kernel's per-second estimates.
type Stats struct {
	Conns    uint64
	InPkts   uint64
	OutPkts  uint64
	InBytes  uint64
	OutBytes uint64

	CPS    uint64
	InPPS  uint64
	OutPPS uint64
	InBPS  uint64
	OutBPS uint64
}

// A SyncState is a sync daemon's role.
type SyncState uint32

// Sync daemon roles.
const (
	Master SyncState = 1
	Backup SyncState = 2
)

func (s SyncState) String() string {
	switch s {
	case Master:
		return "master"
	case Backup:
		return "backup"
	}
	return fmt.Sprintf("state(%d)", uint32(s))
}

// A Daemon is a connection-synchronisation daemon.
type Daemon struct {
	State     SyncState
	Interface string // multicast interface
	SyncID    uint32
	// The fields below are optional on start: zero (or an invalid Group)
	// lets the kernel choose its defaults (maxlen from the MTU, group
	// 224.0.0.81, port 8848, TTL 1).
	SyncMaxLen uint16
	Group      netip.Addr
	Port       uint16
	TTL        uint8
}

// Timeouts are the connection timeouts, in seconds. On writes a zero field
// leaves the kernel's value unchanged.
type Timeouts struct {
	TCP    uint32
	TCPFin uint32
	UDP    uint32
}

// Info is what the kernel reports about IPVS itself.
type Info struct {
	Version       uint32 // e.g. 0x010201 for 1.2.1
	ConnTableSize uint32 // entries in the (global) connection hash table
}

// VersionString renders Version as "major.minor.patch".
func (i Info) VersionString() string {
	return fmt.Sprintf("%d.%d.%d", i.Version>>16&0xff, i.Version>>8&0xff, i.Version&0xff)
}

// A ServiceEntry is a virtual service with its real servers, the unit
// that listings and saves print.
type ServiceEntry struct {
	Service Service
	Dests   []Destination
	// Brief holds the real servers instead of Dests when they were read
	// in brief (see BriefDestination): a table of tens of thousands of
	// real servers, read only to be listed, then takes a fifth of the
	// memory. An entry has one or the other; AppendDests reads either.
	Brief []BriefDestination
}

// AppendDests appends e's real servers to dst, in e's order.
func (e *ServiceEntry) AppendDests(dst []Destination) []Destination {
	if e.Brief == nil {
		return append(dst, e.Dests...)
	}
	for i := range e.Brief {
		dst = append(dst, e.Brief[i].Destination())
	}
	return dst
}

// NumDests is the number of e's real servers.
func (e *ServiceEntry) NumDests() int { return len(e.Dests) + len(e.Brief) }

// A BriefDestination is what a plain listing shows of a real server:
// its identity, forwarding method, weight and connection counts. It holds
// no pointers, so that the collector need not scan a table of tens of
// thousands.
type BriefDestination struct {
	// IP is the address: IPv4 in its first four bytes, IPv6 in all
	// sixteen, as Family says.
	IP            [16]byte
	Family        Family
	Port          uint16
	Forward       ForwardMethod
	Weight        int32
	ActiveConns   uint32
	InactiveConns uint32
}

// Addr returns the address.
func (b *BriefDestination) Addr() netip.Addr {
	if b.Family == IPv6 {
		return netip.AddrFrom16(b.IP)
	}
	return netip.AddrFrom4([4]byte(b.IP[:4]))
}

// Brief returns what a brief listing keeps of d; a zero Family becomes
// the address's.
func (d *Destination) Brief() BriefDestination {
	b := BriefDestination{
		Family: d.Key().Family, Port: d.Port, Forward: d.Forward, Weight: d.Weight,
		ActiveConns: d.ActiveConns, InactiveConns: d.InactiveConns,
	}
	if d.Addr.Is4() {
		*(*[4]byte)(b.IP[:4]) = d.Addr.As4()
	} else if d.Addr.IsValid() {
		b.IP = d.Addr.As16()
	}
	return b
}

// Destination returns b as a Destination, zero in what b lacks.
func (b *BriefDestination) Destination() Destination {
	return Destination{
		Family: b.Family, Addr: b.Addr(), Port: b.Port, Forward: b.Forward, Weight: b.Weight,
		DestinationCounters: DestinationCounters{ActiveConns: b.ActiveConns, InactiveConns: b.InactiveConns},
	}
}
