package rules

import (
	"io"
	"net/netip"
	"strconv"
)

// schedFlagBits are the scheduler-owned service flags in the order ipvsadm
// names them.
var schedFlagBits = [3]ServiceFlags{FlagSched1, FlagSched2, FlagSched3}

// AppendSchedFlags appends the scheduler bits (0x38) of f the way ipvsadm
// prints them in listings and after -b in saves: for scheduler "sh"
// "sh-fallback" and "sh-port", for "mh" "mh-fallback" and "mh-port", for
// any other scheduler "flag-1", "flag-2" and "flag-3", joined with ",".
// Bits without a name for the scheduler (0x20 for sh and mh) are left out,
// so the text can be empty even though a bit is set.
//
// The table lives here rather than in package sched because sched imports
// rules.
func AppendSchedFlags(b []byte, scheduler string, f ServiceFlags) []byte {
	named := scheduler == "sh" || scheduler == "mh"
	first := true
	for i, bit := range schedFlagBits {
		if f&bit == 0 || named && i == 2 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		switch {
		case !named:
			b = append(b, "flag-"...)
			b = append(b, byte('1'+i))
		case i == 0:
			b = append(append(b, scheduler...), "-fallback"...)
		default:
			b = append(append(b, scheduler...), "-port"...)
		}
	}
	return b
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

	cw := NewChunkWriter(w)
	var svcBuf [128]byte
	// dests is one scratch copy for sorting each service's real servers.
	var dests []Destination
	for i := range sorted {
		svc := &sorted[i].Service
		// The service option starts the service's "-a" lines too.
		svcText := appendSaveService(svcBuf[:0], svc, numeric, r)
		cw.Next()
		cw.B = appendSaveServiceLine(cw.B, svc, svcText)

		dests = append(dests[:0], sorted[i].Dests...)
		SortDests(dests)
		for j := range dests {
			cw.Next()
			cw.B = appendSaveDestLine(cw.B, svc, svcText, &dests[j], numeric, r)
		}
	}
	return cw.Finish()
}

// appendSaveService appends the service-selecting part shared by "-A" and
// "-a" lines, e.g. "-t 10.0.0.1:80" or "-f 7 -6".
func appendSaveService(b []byte, s *Service, numeric bool, r Resolver) []byte {
	if s.FWMark != 0 {
		// %d of an unsigned mark: ipvsadm 1.31 prints large marks negative.
		b = strconv.AppendInt(append(b, "-f "...), int64(int32(s.FWMark)), 10)
		if s.Family == IPv6 {
			b = append(b, " -6"...)
		}
		return b
	}
	switch s.Protocol {
	case TCP:
		b = append(b, "-t "...)
	case UDP:
		b = append(b, "-u "...)
	case SCTP:
		b = append(b, "--sctp-service "...)
	default:
		b = append(b, "--xxx-service "...)
	}
	return AppendAddrPortText(b, s.Addr, s.Port, s.Protocol, numeric, r)
}

// appendSaveServiceLine appends an "-A" line.
func appendSaveServiceLine(b []byte, s *Service, svcText []byte) []byte {
	b = append(b, "-A "...)
	b = append(b, svcText...)
	b = append(b, " -s "...)
	b = append(b, s.Scheduler...)
	if s.Persistent() {
		b = strconv.AppendUint(append(b, " -p "...), uint64(s.Timeout), 10)
		b = AppendNetmaskOption(b, " -M ", s)
	}
	if s.PE != "" {
		// Written even for a non-persistent service, as ipvsadm does.
		b = append(append(b, " --pe "...), s.PE...)
	}
	if s.Flags&FlagOnePacket != 0 {
		b = append(b, " -o"...)
	}
	if s.Flags&FlagsSched != 0 {
		b = AppendSchedFlags(append(b, " -b "...), s.Scheduler, s.Flags)
	}
	return append(b, '\n')
}

// AppendNetmaskOption appends opt and the persistence netmask of s as
// ipvsadm lists and saves it: dotted quad for IPv4 (inet_ntoa), the prefix
// length printed %i for IPv6. It appends nothing for the default netmask
// (255.255.255.255, or 128 for IPv6), which ipvsadm leaves out.
func AppendNetmaskOption(b []byte, opt string, s *Service) []byte {
	if defaultNetmask(s) {
		return b
	}
	b = append(b, opt...)
	if s.Family == IPv6 {
		return strconv.AppendInt(b, int64(int32(s.Netmask)), 10)
	}
	m := s.Netmask
	return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}).AppendTo(b)
}

// defaultNetmask reports whether s has the netmask ipvsadm leaves out.
func defaultNetmask(s *Service) bool {
	if s.Family == IPv6 {
		return s.Netmask == 128
	}
	return s.Netmask == 0xffffffff
}

// appendSaveDestLine appends an "-a" line.
func appendSaveDestLine(b []byte, s *Service, svcText []byte, d *Destination, numeric bool, r Resolver) []byte {
	b = append(b, "-a "...)
	b = append(b, svcText...)
	b = AppendAddrPortText(append(b, " -r "...), d.Addr, d.Port, serviceProtocol(s), numeric, r)
	b = append(append(b, ' '), saveForwardOption(d.Forward)...)
	b = strconv.AppendInt(append(b, " -w "...), int64(d.Weight), 10)
	if d.Forward&7 == Tunnel {
		b = appendSaveTunnelOptions(b, d)
	}
	return append(b, '\n')
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

// appendSaveTunnelOptions appends the tunnel options of a Tunnel real
// server. ipvsadm looks the checksum option up by the flags value in a
// table, for gue and gre alike (so gre can save --tun-remcsum); it crashes
// on values of 3 and more, which only other tools can set. Those leave the
// option out here.
func appendSaveTunnelOptions(b []byte, d *Destination) []byte {
	csum := ""
	if int(d.TunnelFlags) < len(tunnelChecksumOptions) {
		csum = tunnelChecksumOptions[d.TunnelFlags]
	}
	switch d.TunnelType {
	case TunnelIPIP:
		return append(b, " --tun-type ipip"...)
	case TunnelGUE:
		b = strconv.AppendUint(append(b, " --tun-type gue --tun-port "...), uint64(d.TunnelPort), 10)
		return append(b, csum...)
	case TunnelGRE:
		return append(append(b, " --tun-type gre"...), csum...)
	}
	return b
}
