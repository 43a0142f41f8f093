package main

// Renderers for ipvsadm -L: the table listing in its six formats, the
// timeouts and the sync daemons. They only format; fetching, ordering of
// kernel calls and error handling belong to the caller. Output goes to w
// unchecked: w is expected to be a buffered writer whose sticky error the
// caller checks when it flushes, the way ipvsadm's stdio does.

import (
	"fmt"
	"io"
	"strings"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/sched"
)

// Column limits of ipvsadm's listing buffers (§4.3): the IPv4 service
// column and IPv4 real-server names are cut; IPv6 text never is.
const (
	listServiceTextMax = 33
	listDestTextMax    = 28
)

// A listFormat is the one layout a listing uses.
type listFormat int

const (
	formatDefault listFormat = iota
	formatTunInfo
	formatPersistentConn
	formatThresholds
	formatRate
	formatStats
)

// listFormatOf picks the layout from the options with ipvsadm's priority:
// stats > rate > thresholds > persistent-conn > tun-info > default.
func listFormatOf(o rules.ListOptions) listFormat {
	switch {
	case o.Stats:
		return formatStats
	case o.Rate:
		return formatRate
	case o.Thresholds:
		return formatThresholds
	case o.PersistentConn:
		return formatPersistentConn
	case o.TunInfo:
		return formatTunInfo
	}
	return formatDefault
}

// writeList renders the full table as ipvsadm -L does: the version header,
// the title and every service with its real servers. entries must be in
// the kernel's dump order; unless o.NoSort they are sorted the way ipvsadm
// sorts them (entries itself is not modified).
func writeList(w io.Writer, info rules.Info, entries []rules.ServiceEntry, o rules.ListOptions, r rules.Resolver) {
	writeListHeader(w, info)
	writeListTitle(w, o)
	if !o.NoSort {
		sorted := make([]rules.ServiceEntry, len(entries))
		copy(sorted, entries)
		rules.SortServices(sorted)
		entries = sorted
	}
	for _, e := range entries {
		writeServiceEntry(w, e, o, r)
	}
}

// writeServiceList renders ipvsadm -L with a service: the title, the
// service line and its real servers, without the version header.
func writeServiceList(w io.Writer, e rules.ServiceEntry, o rules.ListOptions, r rules.Resolver) {
	writeListTitle(w, o)
	writeServiceEntry(w, e, o, r)
}

// writeListHeader writes the first line of a full listing. ipvsadm prints
// it before it dumps the services, so it stays even if that fails.
func writeListHeader(w io.Writer, info rules.Info) {
	v := info.Version
	fmt.Fprintf(w, "IP Virtual Server version %d.%d.%d (size=%d)\n",
		v>>16&0xff, v>>8&0xff, v&0xff, int32(info.ConnTableSize))
}

// writeListTitle writes the two title lines of the layout o selects.
func writeListTitle(w io.Writer, o rules.ListOptions) {
	const prot, remote = "Prot LocalAddress:Port", "  -> RemoteAddress:Port"
	switch listFormatOf(o) {
	case formatStats:
		fmt.Fprintf(w, "%-33s %8s %8s %8s %8s %8s\n%s\n", prot,
			"Conns", "InPkts", "OutPkts", "InBytes", "OutBytes", remote)
	case formatRate:
		fmt.Fprintf(w, "%-33s %8s %8s %8s %8s %8s\n%s\n", prot,
			"CPS", "InPPS", "OutPPS", "InBPS", "OutBPS", remote)
	case formatThresholds:
		fmt.Fprintf(w, "%-33s %-10s %-10s %-10s %-10s\n%s\n", prot,
			"Uthreshold", "Lthreshold", "ActiveConn", "InActConn", remote)
	case formatPersistentConn:
		fmt.Fprintf(w, "%-33s %-9s %-11s %-10s %-10s\n%s\n", prot,
			"Weight", "PersistConn", "ActiveConn", "InActConn", remote)
	case formatTunInfo:
		fmt.Fprintf(w, "%s Scheduler Flags\n%s           Forward TunnelInfo    Weight ActiveConn InActConn\n", prot, remote)
	default:
		fmt.Fprintf(w, "%s Scheduler Flags\n%s           Forward Weight ActiveConn InActConn\n", prot, remote)
	}
}

// writeServiceEntry writes one service line and its real servers, sorted
// unless o.NoSort (e.Dests is not modified). A caller emulating ipvsadm's
// behaviour when a real-server dump fails writes the entries fetched so far
// with it and stops.
func writeServiceEntry(w io.Writer, e rules.ServiceEntry, o rules.ListOptions, r rules.Resolver) {
	var sb strings.Builder
	format := listFormatOf(o)
	svc := &e.Service
	sb.WriteString(serviceLine(svc, format, o, r))

	dests := e.Dests
	if !o.NoSort {
		dests = make([]rules.Destination, len(e.Dests))
		copy(dests, e.Dests)
		rules.SortDests(dests)
	}
	for i := range dests {
		sb.WriteString(destLine(svc, &dests[i], format, o, r))
	}
	io.WriteString(w, sb.String())
}

// serviceName is ipvsadm's svc_name: "FWM  <mark>[ IPv6]" or the protocol
// and address text, cut to the column width for IPv4.
func serviceName(s *rules.Service, numeric bool, r rules.Resolver) string {
	if s.FWMark != 0 {
		// %d of the unsigned mark: marks of 2^31 and more print negative.
		name := fmt.Sprintf("FWM  %d", int32(s.FWMark))
		if s.Family == rules.IPv6 {
			name += " IPv6"
		}
		return name
	}
	proto := "?"
	switch s.Protocol {
	case rules.TCP, rules.UDP, rules.SCTP:
		proto = s.Protocol.String()
	}
	name := fmt.Sprintf("%-4s %s", proto, rules.AddrPortText(s.Addr, s.Port, s.Protocol, numeric, r))
	if s.Family == rules.IPv4 && len(name) > listServiceTextMax {
		name = name[:listServiceTextMax]
	}
	return name
}

// serviceLine renders the service line of one layout.
func serviceLine(s *rules.Service, format listFormat, o rules.ListOptions, r rules.Resolver) string {
	name := serviceName(s, o.Numeric, r)
	switch format {
	case formatStats:
		st := kernelStats(s.Stats, s.Stats64)
		return fmt.Sprintf("%-33s", name) + largeNums(o.Exact,
			st.Conns, st.InPkts, st.OutPkts, st.InBytes, st.OutBytes) + "\n"
	case formatRate:
		st := kernelStats(s.Stats, s.Stats64)
		return fmt.Sprintf("%-33s", name) + largeNums(o.Exact,
			st.CPS, st.InPPS, st.OutPPS, st.InBPS, st.OutBPS) + "\n"
	}

	var sb strings.Builder
	sb.WriteString(name + " " + s.Scheduler)
	if s.Flags&rules.FlagsSched != 0 {
		// Printed even when no bit has a name for the scheduler: " ()".
		sb.WriteString(" (" + sched.FlagsText(s.Scheduler, s.Flags) + ")")
	}
	if s.Persistent() {
		fmt.Fprintf(&sb, " persistent %d", s.Timeout)
		if mask, ok := rules.NetmaskText(s); ok {
			sb.WriteString(" mask " + mask)
		}
		if s.PE != "" {
			sb.WriteString(" pe " + s.PE)
		}
	}
	if s.Flags&rules.FlagOnePacket != 0 {
		sb.WriteString(" ops")
	}
	sb.WriteByte('\n')
	return sb.String()
}

// destLine renders a real-server line of one layout.
func destLine(s *rules.Service, d *rules.Destination, format listFormat, o rules.ListOptions, r rules.Resolver) string {
	// A fwmark service has no protocol, so its real servers' ports stay
	// numeric.
	proto := s.Protocol
	if s.FWMark != 0 {
		proto = 0
	}
	name := rules.AddrPortText(d.Addr, d.Port, proto, o.Numeric, r)
	family := d.Family
	if family == 0 {
		family = s.Family
	}
	if family == rules.IPv4 && len(name) > listDestTextMax {
		name = name[:listDestTextMax]
	}

	switch format {
	case formatStats:
		st := destStats(d)
		return fmt.Sprintf("  -> %-28s", name) + largeNums(o.Exact,
			st.Conns, st.InPkts, st.OutPkts, st.InBytes, st.OutBytes) + "\n"
	case formatRate:
		// The packet and connection rates are never abbreviated.
		st := destStats(d)
		return fmt.Sprintf("  -> %-28s %8d %8d %8d", name, st.CPS, st.InPPS, st.OutPPS) +
			largeNums(o.Exact, st.InBPS, st.OutBPS) + "\n"
	case formatThresholds:
		return fmt.Sprintf("  -> %-28s %-10d %-10d %-10d %-10d\n", name,
			d.UpperThreshold, d.LowerThreshold, d.ActiveConns, d.InactiveConns)
	case formatPersistentConn:
		// ipvsadm prints the weight %u here.
		return fmt.Sprintf("  -> %-28s %-9d %-11d %-10d %-10d\n", name,
			uint32(d.Weight), d.PersistentConns, d.ActiveConns, d.InactiveConns)
	case formatTunInfo:
		return fmt.Sprintf("  -> %-28s %-7s %-13s %-6d %-10d %-10d\n", name,
			forwardName(d.Forward), tunnelInfo(d), d.Weight, d.ActiveConns, d.InactiveConns)
	}
	return fmt.Sprintf("  -> %-28s %-7s %-6d %-10d %-10d\n", name,
		forwardName(d.Forward), d.Weight, d.ActiveConns, d.InactiveConns)
}

// forwardName is the Forward column. glibc prints ipvsadm's NULL for an
// unknown method as "(null)".
func forwardName(m rules.ForwardMethod) string {
	switch m & 7 {
	case rules.Masquerade, rules.Local, rules.Tunnel, rules.Route:
		return (m & 7).String()
	}
	return "(null)"
}

// tunnelFlagTexts is how --tun-info shows tunnel flag values, indexed by
// the flags. ipvsadm looks them up in a table without a bounds check; what
// it shows for 3 to 6 was observed in the project VM (3 is a NULL, 4 to 6
// read the -S option table that follows; only the prefix "--tun-" of 5 and 6
// fits in the column, the rest is inferred). It crashes on larger values,
// which only other tools can set; we show "(null)" for them.
var tunnelFlagTexts = [...]string{"-c", "+c", "r+c", "(null)", "--tun-nocsum", "--tun-csum", "--tun-remcsum"}

// tunnelInfoMax is the width of ipvsadm's TunnelInfo buffer (16 bytes with
// the NUL): longer texts are cut, e.g. "gue:65535:(null".
const tunnelInfoMax = 15

// tunnelInfo is the TunnelInfo column of --tun-info: "n/a" unless the real
// server is a tunnel of a known type.
func tunnelInfo(d *rules.Destination) string {
	if d.Forward&7 != rules.Tunnel {
		return "n/a"
	}
	csum := "(null)"
	if int(d.TunnelFlags) < len(tunnelFlagTexts) {
		csum = tunnelFlagTexts[d.TunnelFlags]
	}
	var s string
	switch d.TunnelType {
	case rules.TunnelIPIP:
		s = "ipip"
	case rules.TunnelGUE:
		s = fmt.Sprintf("gue:%d:%s", d.TunnelPort, csum)
	case rules.TunnelGRE:
		s = "gre:" + csum
	default:
		s = "n/a"
	}
	if len(s) > tunnelInfoMax {
		s = s[:tunnelInfoMax]
	}
	return s
}

// kernelStats picks the counters ipvsadm shows: the 64-bit set. Kernels
// before 4.1 only send the 32-bit set, and then the 64-bit one is all zero;
// on newer kernels both hold the same counters, so an all-zero 64-bit set
// means the 32-bit one is zero too or is the only one there is.
func kernelStats(s32, s64 rules.Stats) rules.Stats {
	if s64 == (rules.Stats{}) {
		return s32
	}
	return s64
}

// destStats are a real server's counters as ipvsadm 1.31 shows them:
// libipvs reads the connection, packet and all rate counters of the 64-bit
// set with a 32-bit getter, so only their low 32 bits survive; the byte
// counters keep 64 bits.
func destStats(d *rules.Destination) rules.Stats {
	st := kernelStats(d.Stats, d.Stats64)
	low := func(v uint64) uint64 { return uint64(uint32(v)) }
	return rules.Stats{
		Conns:    low(st.Conns),
		InPkts:   low(st.InPkts),
		OutPkts:  low(st.OutPkts),
		InBytes:  st.InBytes,
		OutBytes: st.OutBytes,
		CPS:      low(st.CPS),
		InPPS:    low(st.InPPS),
		OutPPS:   low(st.OutPPS),
		InBPS:    low(st.InBPS),
		OutBPS:   low(st.OutBPS),
	}
}

// largeNums concatenates print_largenum of each value.
func largeNums(exact bool, vs ...uint64) string {
	var sb strings.Builder
	for _, v := range vs {
		sb.WriteString(rules.FormatLargeNum(v, exact))
	}
	return sb.String()
}

// writeTimeouts renders ipvsadm -L --timeout.
func writeTimeouts(w io.Writer, t rules.Timeouts) {
	fmt.Fprintf(w, "Timeout (tcp tcpfin udp): %d %d %d\n", int32(t.TCP), int32(t.TCPFin), int32(t.UDP))
}

// writeDaemons renders ipvsadm -L --daemon: one line per daemon in the
// kernel's order, with the optional parts only when set. No daemons print
// nothing.
func writeDaemons(w io.Writer, ds []rules.Daemon) {
	for _, d := range ds {
		var sb strings.Builder
		fmt.Fprintf(&sb, "%s sync daemon (mcast=%s, syncid=%d", d.State, d.Interface, int32(d.SyncID))
		if d.SyncMaxLen != 0 {
			fmt.Fprintf(&sb, ", maxlen=%d", d.SyncMaxLen)
		}
		if d.Group.IsValid() {
			sb.WriteString(", group=" + rules.AddrText(d.Group))
		}
		if d.Port != 0 {
			fmt.Fprintf(&sb, ", port=%d", d.Port)
		}
		if d.TTL != 0 {
			fmt.Fprintf(&sb, ", ttl=%d", d.TTL)
		}
		sb.WriteString(")\n")
		io.WriteString(w, sb.String())
	}
}
