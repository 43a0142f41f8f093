package render

import (
	"net/netip"
	"strconv"

	"github.com/ipvsadm-go/ipvsadm/internal/names"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// addrTextMax is the longest address text ipvsadm produces: it formats into
// a 60-byte buffer, so one byte goes to the terminating NUL.
const addrTextMax = 59

// AddrText renders an address the way glibc's inet_ntop does: dotted quad for
// IPv4 and RFC 4291 text for IPv6, including glibc's habit of writing an
// embedded IPv4 address for IPv4-compatible (::a.b.c.d) and IPv4-mapped
// (::ffff:a.b.c.d) addresses. An invalid address renders as 0.0.0.0, which
// is what an all-zero kernel address would show.
func AddrText(addr netip.Addr) string {
	var buf [64]byte
	return string(AppendAddrText(buf[:0], addr))
}

// AppendAddrText appends the AddrText of addr to b.
func AppendAddrText(b []byte, addr netip.Addr) []byte {
	switch {
	case !addr.IsValid():
		return append(b, "0.0.0.0"...)
	case addr.Is4():
		return addr.AppendTo(b)
	}
	return appendInet6(b, addr.As16())
}

// appendInet6 is glibc's inet_ntop for AF_INET6. Go's netip formats
// IPv4-compatible addresses as plain hex words, so it cannot be used as is.
func appendInet6(b []byte, a [16]byte) []byte {
	var words [8]uint16
	for i := range words {
		words[i] = uint16(a[2*i])<<8 | uint16(a[2*i+1])
	}
	// The longest run of zero words, at least two long; the first one wins
	// a tie.
	bestBase, bestLen := -1, 0
	for i := 0; i < 8; {
		if words[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && words[j] == 0 {
			j++
		}
		if j-i > bestLen {
			bestBase, bestLen = i, j-i
		}
		i = j
	}
	if bestLen < 2 {
		bestBase, bestLen = -1, 0
	}

	for i := 0; i < 8; i++ {
		if bestBase >= 0 && i >= bestBase && i < bestBase+bestLen {
			if i == bestBase {
				b = append(b, ':')
			}
			continue
		}
		if i != 0 {
			b = append(b, ':')
		}
		if i == 6 && bestBase == 0 && (bestLen == 6 || (bestLen == 5 && words[5] == 0xffff)) {
			return netip.AddrFrom4([4]byte{a[12], a[13], a[14], a[15]}).AppendTo(b)
		}
		b = strconv.AppendUint(b, uint64(words[i]), 16)
	}
	if bestBase >= 0 && bestBase+bestLen == 8 {
		b = append(b, ':')
	}
	return b
}

// AddrPortText renders an address and port the way ipvsadm's listing and
// save code does (its addrport_to_anyname): "host:port" for IPv4 and
// "[host]:port" for everything else, even when host is a name. Unless
// numeric is set, the host is replaced by its canonical name and the port by
// its official service name when r knows them; ports are only named for
// TCP, UDP and SCTP, so fwmark services (protocol 0) always show numeric
// ports. The result is cut to 59 bytes like ipvsadm's fixed buffer. A nil r
// resolves nothing.
func AddrPortText(addr netip.Addr, port uint16, p rules.Protocol, numeric bool, r names.Resolver) string {
	var buf [64]byte
	return string(AppendAddrPortText(buf[:0], addr, port, p, numeric, r))
}

// AppendAddrPortText appends the AddrPortText of its arguments to b.
func AppendAddrPortText(b []byte, addr netip.Addr, port uint16, p rules.Protocol, numeric bool, r names.Resolver) []byte {
	numeric = numeric || r == nil
	start := len(b)
	bracket := addr.IsValid() && !addr.Is4()
	if bracket {
		b = append(b, '[')
	}
	host := ""
	if !numeric && addr.IsValid() {
		if name, ok := r.HostName(addr); ok {
			host = name
		}
	}
	if host != "" {
		b = append(b, host...)
	} else {
		b = AppendAddrText(b, addr)
	}
	if bracket {
		b = append(b, ']')
	}
	b = append(b, ':')
	portName := ""
	if !numeric && (p == rules.TCP || p == rules.UDP || p == rules.SCTP) {
		if name, ok := r.PortName(port, p); ok {
			portName = name
		}
	}
	if portName != "" {
		b = append(b, portName...)
	} else {
		b = strconv.AppendUint(b, uint64(port), 10)
	}
	// Cut as snprintf into a fixed buffer does.
	if len(b)-start > addrTextMax {
		b = b[:start+addrTextMax]
	}
	return b
}
