package ipvs

import (
	"bytes"
	"net/netip"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// parseIPv4DestLine parses the real-server line at the start of b if it
// is laid out exactly as the kernel prints an IPv4 one,
//
//	"  -> %08X:%04X      %-7s %-6d %-10d %-10d\n"
//
// with counts of at most nine digits, and returns its length with the
// newline. It returns 0 for any other line, and for one not yet whole in
// b, which the field-by-field parser then takes. Nearly every line of a
// large table is such a line: reading each byte once, instead of
// splitting the line into fields and then parsing them, halves a plain
// listing's user time in the parser.
func parseIPv4DestLine(d *rules.BriefDestination, b []byte) int {
	if len(b) < 34 || string(b[:5]) != "  -> " || b[13] != ':' || string(b[18:24]) != "      " || b[31] != ' ' {
		return 0
	}
	// The Forward column as the kernel pads it (%-7s): a comparison of
	// fixed size each, without trimming it first for procForward.
	var fwd rules.ForwardMethod
	switch string(b[24:31]) {
	case "Masq   ":
		fwd = rules.Masquerade
	case "Route  ":
		fwd = rules.Route
	case "Tunnel ":
		fwd = rules.Tunnel
	case "Local  ":
		fwd = rules.Local
	default:
		return 0
	}
	ip, ok1 := parseHex(b[5:13], 32)
	port, ok2 := parseHex(b[14:18], 16)
	if !ok1 || !ok2 {
		return 0
	}
	// Weight, active and inactive connections: digits, then blanks (at
	// least one between two numbers), then the newline.
	var counts [3]uint32
	i := 32
	for f := range counts {
		from := i
		var v uint32
		for i < len(b) && i-from < 9 && b[i]-'0' <= 9 {
			v = v*10 + uint32(b[i]-'0')
			i++
		}
		if i == from || i == len(b) || b[i] != ' ' && (f < 2 || b[i] != '\n') {
			return 0 // no digits, ten or more, or not followed by a blank
		}
		for i < len(b) && b[i] == ' ' {
			i++
		}
		counts[f] = v
	}
	if i == len(b) || b[i] != '\n' {
		return 0
	}
	*d = rules.BriefDestination{
		Family:        rules.IPv4,
		Port:          uint16(port),
		Forward:       fwd,
		Weight:        int32(counts[0]),
		ActiveConns:   counts[1],
		InactiveConns: counts[2],
	}
	d.IP[0], d.IP[1], d.IP[2], d.IP[3] = byte(ip>>24), byte(ip>>16), byte(ip>>8), byte(ip)
	return i + 1
}

// parseIPv4ServiceLine parses the service line at the start of b if it
// is laid out as the kernel prints an IPv4 TCP, UDP or SCTP one ("TCP  ",
// "%08X:%04X", a blank and the scheduler's name first), and returns its
// key and its length with the newline; 0 for any other line, or one not
// yet whole in b, which the field-by-field parser then takes.
func parseIPv4ServiceLine(b []byte) (procKey, int) {
	if len(b) < 21 || b[13] != ':' || b[18] != ' ' || b[19] == ' ' || b[19] == '\t' || b[19] == '\n' {
		return procKey{}, 0
	}
	var k procKey
	switch string(b[:5]) { // the names as the kernel pads them
	case "TCP  ":
		k.proto = rules.TCP
	case "UDP  ":
		k.proto = rules.UDP
	case "SCTP ":
		k.proto = rules.SCTP
	default:
		return procKey{}, 0
	}
	ip, ok1 := parseHex(b[5:13], 32)
	port, ok2 := parseHex(b[14:18], 16)
	end := bytes.IndexByte(b[20:], '\n')
	if !ok1 || !ok2 || end < 0 {
		return procKey{}, 0
	}
	k.addr = netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)})
	k.port = uint16(port)
	return k, 20 + end + 1
}
