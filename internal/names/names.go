package names

import (
	"net/netip"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// A Resolver turns host and service names into addresses and ports and
// back, the way ipvsadm does through the C library: IPv4-only forward host
// lookups (gethostbyname), the canonical name for reverse lookups
// (gethostbyaddr), and /etc/services for ports. Protocols are TCP, UDP or
// SCTP; other protocols have no service names. Where a Resolver is taken,
// nil resolves nothing: only numeric text parses and prints.
type Resolver interface {
	// LookupHost4 returns the first IPv4 address of name.
	LookupHost4(name string) (netip.Addr, bool)
	// LookupPort returns the port of a service name or alias.
	LookupPort(name string, p rules.Protocol) (uint16, bool)
	// HostName returns the canonical name of addr, without trailing dot.
	HostName(addr netip.Addr) (string, bool)
	// PortName returns the official service name of port.
	PortName(port uint16, p rules.Protocol) (string, bool)
}
