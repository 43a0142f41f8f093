package render

import (
	"io"
	"net/netip"
	"strconv"

	"github.com/ipvsadm-go/ipvsadm/internal/names"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/sched"
)

// WriteSave writes entries in ipvsadm's -S format: one "-A" line per
// service, each followed by an "-a" line per real server. Like -S it always
// sorts, so WriteSave writes the services and their real servers in sorted
// order itself (entries is not modified); pass them in kernel dump order.
//
// Unless numeric is set, hosts and ports are written as names from r. The
// output keeps ipvsadm 1.31's round-trip defects on purpose: fwmarks of 2^31
// and more print negative, an empty flags text leaves "-b " with a trailing
// space, thresholds are never written, Local real servers save as -g and an
// unknown forwarding method as "(null)".
func WriteSave(w io.Writer, entries []rules.ServiceEntry, numeric bool, r names.Resolver) error {
	cw := NewChunkWriter(w)
	appendSave(&cw, entries, numeric, r, false)
	return cw.Finish()
}

// appendSave writes the service and real server lines of a save to cw;
// with thresholds, real server lines carry -x and -y (see WriteSaveFull).
func appendSave(cw *ChunkWriter, entries []rules.ServiceEntry, numeric bool, r names.Resolver, thresholds bool) {
	var (
		svcBuf [128]byte
		sorter destSorter
	)
	for _, i := range serviceOrder(entries) {
		e := &entries[i]
		svc := &e.Service
		// The service option starts the service's "-a" lines too.
		svcText := appendSaveService(svcBuf[:0], svc, numeric, r)
		cw.Next()
		cw.B = appendSaveServiceLine(cw.B, svc, svcText)

		var tmp rules.Destination
		for _, j := range sorter.order(e) {
			cw.Next()
			// A brief real server has no thresholds, and tunnel options
			// (which Table never leaves brief) only as zero.
			if e.Brief != nil && e.Brief[j].Forward&7 != rules.Tunnel {
				d := &e.Brief[j]
				cw.B = append(appendSaveDestStart(cw.B, svc, svcText, d.Addr(), d.Port, d.Forward, d.Weight, numeric, r), '\n')
				continue
			}
			cw.B = appendSaveDestLine(cw.B, svc, svcText, destAt(e, int(j), &tmp), numeric, r, thresholds)
		}
	}
}

// appendSaveService appends the service-selecting part shared by "-A" and
// "-a" lines, e.g. "-t 10.0.0.1:80" or "-f 7 -6".
func appendSaveService(b []byte, s *rules.Service, numeric bool, r names.Resolver) []byte {
	if s.FWMark != 0 {
		// %d of an unsigned mark: ipvsadm 1.31 prints large marks negative.
		b = strconv.AppendInt(append(b, "-f "...), int64(int32(s.FWMark)), 10)
		if s.Family == rules.IPv6 {
			b = append(b, " -6"...)
		}
		return b
	}
	switch s.Protocol {
	case rules.TCP:
		b = append(b, "-t "...)
	case rules.UDP:
		b = append(b, "-u "...)
	case rules.SCTP:
		b = append(b, "--sctp-service "...)
	default:
		b = append(b, "--xxx-service "...)
	}
	return AppendAddrPortText(b, s.Addr, s.Port, s.Protocol, numeric, r)
}

// appendSaveServiceLine appends an "-A" line.
func appendSaveServiceLine(b []byte, s *rules.Service, svcText []byte) []byte {
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
	if s.Flags&rules.FlagOnePacket != 0 {
		b = append(b, " -o"...)
	}
	if s.Flags&rules.FlagsSched != 0 {
		b = sched.AppendFlags(append(b, " -b "...), s.Scheduler, s.Flags)
	}
	return append(b, '\n')
}

// AppendNetmaskOption appends opt and the persistence netmask of s as
// ipvsadm lists and saves it: dotted quad for IPv4 (inet_ntoa), the prefix
// length printed %i for IPv6. It appends nothing for the default netmask
// (255.255.255.255, or 128 for IPv6), which ipvsadm leaves out.
func AppendNetmaskOption(b []byte, opt string, s *rules.Service) []byte {
	if defaultNetmask(s) {
		return b
	}
	b = append(b, opt...)
	if s.Family == rules.IPv6 {
		return strconv.AppendInt(b, int64(int32(s.Netmask)), 10)
	}
	m := s.Netmask
	return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}).AppendTo(b)
}

// defaultNetmask reports whether s has the netmask ipvsadm leaves out.
func defaultNetmask(s *rules.Service) bool {
	if s.Family == rules.IPv6 {
		return s.Netmask == 128
	}
	return s.Netmask == 0xffffffff
}

// appendSaveDestLine appends an "-a" line.
func appendSaveDestLine(b []byte, s *rules.Service, svcText []byte, d *rules.Destination, numeric bool, r names.Resolver, thresholds bool) []byte {
	b = appendSaveDestStart(b, s, svcText, d.Addr, d.Port, d.Forward, d.Weight, numeric, r)
	if thresholds && (d.UpperThreshold != 0 || d.LowerThreshold != 0) {
		b = strconv.AppendUint(append(b, " -x "...), uint64(d.UpperThreshold), 10)
		b = strconv.AppendUint(append(b, " -y "...), uint64(d.LowerThreshold), 10)
	}
	if d.Forward&7 == rules.Tunnel {
		b = appendSaveTunnelOptions(b, d)
	}
	return append(b, '\n')
}

// appendSaveDestStart appends an "-a" line up to its weight: all of it
// for a real server without thresholds or tunnel options.
func appendSaveDestStart(b []byte, s *rules.Service, svcText []byte, addr netip.Addr, port uint16, fwd rules.ForwardMethod, weight int32, numeric bool, r names.Resolver) []byte {
	b = append(b, "-a "...)
	b = append(b, svcText...)
	if addr.Is4() && (numeric || r == nil) {
		ip := addr.As4()
		b = appendIPv4Port(append(b, " -r "...), &ip, port)
	} else {
		b = AppendAddrPortText(append(b, " -r "...), addr, port, serviceProtocol(s), numeric, r)
	}
	b = append(append(b, ' '), saveForwardOption(fwd)...)
	return strconv.AppendInt(append(b, " -w "...), int64(weight), 10)
}

// serviceProtocol is the protocol the kernel reports for s: none for a
// fwmark service, so its real servers' ports are never named.
func serviceProtocol(s *rules.Service) rules.Protocol {
	if s.FWMark != 0 {
		return 0
	}
	return s.Protocol
}

// saveForwardOption maps the forwarding method to its ipvsadm option. glibc
// prints the NULL of an unknown method as "(null)".
func saveForwardOption(m rules.ForwardMethod) string {
	switch m & 7 {
	case rules.Masquerade:
		return "-m"
	case rules.Tunnel:
		return "-i"
	case rules.Route, rules.Local:
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
func appendSaveTunnelOptions(b []byte, d *rules.Destination) []byte {
	csum := ""
	if int(d.TunnelFlags) < len(tunnelChecksumOptions) {
		csum = tunnelChecksumOptions[d.TunnelFlags]
	}
	switch d.TunnelType {
	case rules.TunnelIPIP:
		return append(b, " --tun-type ipip"...)
	case rules.TunnelGUE:
		b = strconv.AppendUint(append(b, " --tun-type gue --tun-port "...), uint64(d.TunnelPort), 10)
		return append(b, csum...)
	case rules.TunnelGRE:
		return append(append(b, " --tun-type gre"...), csum...)
	}
	return b
}
