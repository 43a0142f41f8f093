package rules

import (
	"net/netip"
	"strconv"
	"strings"
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
	switch {
	case !addr.IsValid():
		return "0.0.0.0"
	case addr.Is4():
		return addr.String()
	}
	return inet6Text(addr.As16())
}

// inet6Text is glibc's inet_ntop for AF_INET6. Go's netip formats
// IPv4-compatible addresses as plain hex words, so it cannot be used as is.
func inet6Text(b [16]byte) string {
	var words [8]uint16
	for i := range words {
		words[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
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

	var sb strings.Builder
	for i := 0; i < 8; i++ {
		if bestBase >= 0 && i >= bestBase && i < bestBase+bestLen {
			if i == bestBase {
				sb.WriteByte(':')
			}
			continue
		}
		if i != 0 {
			sb.WriteByte(':')
		}
		if i == 6 && bestBase == 0 && (bestLen == 6 || (bestLen == 5 && words[5] == 0xffff)) {
			sb.WriteString(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}).String())
			break
		}
		sb.WriteString(strconv.FormatUint(uint64(words[i]), 16))
	}
	if bestBase >= 0 && bestBase+bestLen == 8 {
		sb.WriteByte(':')
	}
	return sb.String()
}

// AddrPortText renders an address and port the way ipvsadm's listing and
// save code does (its addrport_to_anyname): "host:port" for IPv4 and
// "[host]:port" for everything else, even when host is a name. Unless
// numeric is set, the host is replaced by its canonical name and the port by
// its official service name when r knows them; ports are only named for
// TCP, UDP and SCTP, so fwmark services (protocol 0) always show numeric
// ports. The result is cut to 59 bytes like ipvsadm's fixed buffer. A nil r
// resolves nothing.
func AddrPortText(addr netip.Addr, port uint16, p Protocol, numeric bool, r Resolver) string {
	if r == nil {
		numeric = true
	}
	host := ""
	if !numeric && addr.IsValid() {
		if name, ok := r.HostName(addr); ok {
			host = name
		}
	}
	if host == "" {
		host = AddrText(addr)
	}
	portText := ""
	if !numeric && (p == TCP || p == UDP || p == SCTP) {
		if name, ok := r.PortName(port, p); ok {
			portText = name
		}
	}
	if portText == "" {
		portText = strconv.FormatUint(uint64(port), 10)
	}
	var s string
	if !addr.IsValid() || addr.Is4() {
		s = host + ":" + portText
	} else {
		s = "[" + host + "]:" + portText
	}
	return cutBytes(s, addrTextMax)
}

// cutBytes cuts s to at most n bytes, as snprintf into a fixed buffer does.
func cutBytes(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
