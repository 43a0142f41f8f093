package rules

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// schedFlagBits are the scheduler-owned service flags in the order ipvsadm
// names them.
var schedFlagBits = [3]ServiceFlags{FlagSched1, FlagSched2, FlagSched3}

// SchedFlagsText renders the scheduler bits (0x38) of f the way ipvsadm
// prints them in listings and after -b in saves: for scheduler "sh"
// "sh-fallback" and "sh-port", for "mh" "mh-fallback" and "mh-port", for
// any other scheduler "flag-1", "flag-2" and "flag-3", joined with ",".
// Bits without a name for the scheduler (0x20 for sh and mh) are left out,
// so the text can be empty even though a bit is set.
//
// The table lives here rather than in package sched because sched imports
// rules; sched.FlagsText is the same function.
func SchedFlagsText(scheduler string, f ServiceFlags) string {
	var names [3]string
	switch scheduler {
	case "sh", "mh":
		names = [3]string{scheduler + "-fallback", scheduler + "-port", ""}
	default:
		names = [3]string{"flag-1", "flag-2", "flag-3"}
	}
	var parts []string
	for i, bit := range schedFlagBits {
		if f&bit != 0 && names[i] != "" {
			parts = append(parts, names[i])
		}
	}
	return strings.Join(parts, ",")
}

// WriteSave writes entries in ipvsadm's -S format: one "-A" line per
// service, each followed by an "-a" line per real server. Like -S it always
// sorts, so WriteSave sorts copies of the services and their real servers
// itself (entries is not modified); pass them in kernel dump order.
//
// Unless numeric is set, hosts and ports are written as names from r. The
// output keeps ipvsadm 1.31's round-trip defects on purpose: fwmarks of 2^31
// and more print negative, an empty flags text leaves "-b " with a trailing
// space, thresholds are never written, Local real servers save as -g and an
// unknown forwarding method as "(null)".
func WriteSave(w io.Writer, entries []ServiceEntry, numeric bool, r Resolver) error {
	sorted := make([]ServiceEntry, len(entries))
	copy(sorted, entries)
	SortServices(sorted)

	bw := bufio.NewWriter(w)
	for _, e := range sorted {
		svc := &e.Service
		svcText := saveServiceText(svc, numeric, r)
		bw.WriteString(saveServiceLine(svc, svcText))

		dests := make([]Destination, len(e.Dests))
		copy(dests, e.Dests)
		SortDests(dests)
		for i := range dests {
			bw.WriteString(saveDestLine(svc, svcText, &dests[i], numeric, r))
		}
	}
	return bw.Flush()
}

// saveServiceText is the service-selecting part shared by "-A" and "-a"
// lines, e.g. "-t 10.0.0.1:80" or "-f 7 -6".
func saveServiceText(s *Service, numeric bool, r Resolver) string {
	if s.FWMark != 0 {
		// %d of an unsigned mark: ipvsadm 1.31 prints large marks negative.
		text := fmt.Sprintf("-f %d", int32(s.FWMark))
		if s.Family == IPv6 {
			text += " -6"
		}
		return text
	}
	var opt string
	switch s.Protocol {
	case TCP:
		opt = "-t"
	case UDP:
		opt = "-u"
	case SCTP:
		opt = "--sctp-service"
	default:
		opt = "--xxx-service"
	}
	return opt + " " + AddrPortText(s.Addr, s.Port, s.Protocol, numeric, r)
}

// saveServiceLine renders an "-A" line.
func saveServiceLine(s *Service, svcText string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "-A %s -s %s", svcText, s.Scheduler)
	if s.Persistent() {
		fmt.Fprintf(&sb, " -p %d", s.Timeout)
		if mask, ok := NetmaskText(s); ok {
			sb.WriteString(" -M " + mask)
		}
	}
	if s.PE != "" {
		// Written even for a non-persistent service, as ipvsadm does.
		sb.WriteString(" --pe " + s.PE)
	}
	if s.Flags&FlagOnePacket != 0 {
		sb.WriteString(" -o")
	}
	if s.Flags&FlagsSched != 0 {
		sb.WriteString(" -b " + SchedFlagsText(s.Scheduler, s.Flags))
	}
	sb.WriteByte('\n')
	return sb.String()
}

// NetmaskText renders the persistence netmask of s as ipvsadm lists and
// saves it: dotted quad for IPv4 (inet_ntoa), the prefix length printed %i
// for IPv6. ok is false for the default (255.255.255.255, or 128 for IPv6),
// which ipvsadm leaves out.
func NetmaskText(s *Service) (text string, ok bool) {
	if s.Family == IPv6 {
		if s.Netmask == 128 {
			return "", false
		}
		return fmt.Sprintf("%d", int32(s.Netmask)), true
	}
	if s.Netmask == 0xffffffff {
		return "", false
	}
	m := s.Netmask
	return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}).String(), true
}

// saveDestLine renders an "-a" line.
func saveDestLine(s *Service, svcText string, d *Destination, numeric bool, r Resolver) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "-a %s -r %s %s -w %d", svcText,
		AddrPortText(d.Addr, d.Port, serviceProtocol(s), numeric, r),
		saveForwardOption(d.Forward), d.Weight)
	if d.Forward&7 == Tunnel {
		sb.WriteString(saveTunnelOptions(d))
	}
	sb.WriteByte('\n')
	return sb.String()
}

// serviceProtocol is the protocol the kernel reports for s: none for a
// fwmark service, so its real servers' ports are never named.
func serviceProtocol(s *Service) Protocol {
	if s.FWMark != 0 {
		return 0
	}
	return s.Protocol
}

// saveForwardOption maps the forwarding method to its ipvsadm option. glibc
// prints the NULL of an unknown method as "(null)".
func saveForwardOption(m ForwardMethod) string {
	switch m & 7 {
	case Masquerade:
		return "-m"
	case Tunnel:
		return "-i"
	case Route, Local:
		return "-g"
	}
	return "(null)"
}

// tunnelChecksumOptions are the -S options for the tunnel flag values
// ipvsadm knows, indexed by the flags.
var tunnelChecksumOptions = [...]string{" --tun-nocsum", " --tun-csum", " --tun-remcsum"}

// saveTunnelOptions renders the tunnel options of a Tunnel real server.
// ipvsadm looks the checksum option up by the flags value in a table, for
// gue and gre alike (so gre can save --tun-remcsum); it crashes on values of
// 3 and more, which only other tools can set. Those leave the option out
// here.
func saveTunnelOptions(d *Destination) string {
	csum := ""
	if int(d.TunnelFlags) < len(tunnelChecksumOptions) {
		csum = tunnelChecksumOptions[d.TunnelFlags]
	}
	switch d.TunnelType {
	case TunnelIPIP:
		return " --tun-type ipip"
	case TunnelGUE:
		return fmt.Sprintf(" --tun-type gue --tun-port %d%s", d.TunnelPort, csum)
	case TunnelGRE:
		return " --tun-type gre" + csum
	}
	return ""
}
