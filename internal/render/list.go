package render

// Renderers for ipvsadm -L: the table listing in its six formats, the
// timeouts and the sync daemons. They only format; fetching, ordering of
// kernel calls and error handling belong to the caller. Lines are appended
// to a rules.ChunkWriter, which hands them to w in large pieces (or renders
// them straight into w's buffer when w is a *bufio.Writer). Output goes to
// w unchecked: w is expected to be a buffered writer whose sticky error the
// caller checks when it flushes, the way ipvsadm's stdio does.

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ipvsadm-go/ipvsadm/internal/names"
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
func listFormatOf(o ListOptions) listFormat {
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

// WriteList renders the full table as ipvsadm -L does: the version header,
// the title and every service with its real servers. entries must be in
// the kernel's dump order; unless o.NoSort they are sorted the way ipvsadm
// sorts them (entries itself is not modified).
func WriteList(w io.Writer, info rules.Info, entries []rules.ServiceEntry, o ListOptions, r names.Resolver) {
	lw := newListWriter(w, o, r)
	lw.cw.Next()
	lw.cw.B = appendListHeader(lw.cw.B, info)
	lw.cw.B = appendListTitle(lw.cw.B, o)
	if o.NoSort {
		for i := range entries {
			lw.serviceEntry(&entries[i])
		}
	} else {
		for _, i := range serviceOrder(entries) {
			lw.serviceEntry(&entries[i])
		}
	}
	lw.cw.Finish()
}

// WriteServiceList renders ipvsadm -L with a service: the title, the
// service line and its real servers, without the version header.
func WriteServiceList(w io.Writer, e rules.ServiceEntry, o ListOptions, r names.Resolver) {
	lw := newListWriter(w, o, r)
	lw.cw.Next()
	lw.cw.B = appendListTitle(lw.cw.B, o)
	lw.serviceEntry(&e)
	lw.cw.Finish()
}

// A listWriter renders the services of one listing into a ChunkWriter.
type listWriter struct {
	cw     ChunkWriter
	o      ListOptions
	format listFormat
	r      names.Resolver
	sorter destSorter
}

func newListWriter(w io.Writer, o ListOptions, r names.Resolver) listWriter {
	return listWriter{cw: NewChunkWriter(w), o: o, format: listFormatOf(o), r: r}
}

// serviceEntry renders one service line and its real servers, sorted
// unless o.NoSort (e is not modified).
func (lw *listWriter) serviceEntry(e *rules.ServiceEntry) {
	svc := &e.Service
	lw.cw.Next()
	lw.cw.B = appendServiceLine(lw.cw.B, svc, lw.format, lw.o, lw.r)

	if lw.o.NoSort {
		for i := range e.NumDests() {
			lw.destLine(e, i)
		}
		return
	}
	for _, i := range lw.sorter.order(e) {
		lw.destLine(e, int(i))
	}
}

// destLine renders the line of e's real server i.
func (lw *listWriter) destLine(e *rules.ServiceEntry, i int) {
	lw.cw.Next()
	if e.Brief != nil && lw.format == formatDefault {
		lw.cw.B = appendBriefDestLine(lw.cw.B, &e.Service, &e.Brief[i], lw.o, lw.r)
		return
	}
	var brief rules.Destination
	lw.cw.B = appendDestLine(lw.cw.B, &e.Service, destAt(e, i, &brief), lw.format, lw.o, lw.r)
}

// destAt returns e's real server i; a brief one is expanded into *tmp.
func destAt(e *rules.ServiceEntry, i int, tmp *rules.Destination) *rules.Destination {
	if e.Brief != nil {
		*tmp = e.Brief[i].Destination()
		return tmp
	}
	return &e.Dests[i]
}

// appendListHeader appends the first line of a full listing. ipvsadm
// prints it before it dumps the services, so it stays even if that fails.
func appendListHeader(b []byte, info rules.Info) []byte {
	v := info.Version
	b = append(b, "IP Virtual Server version "...)
	b = strconv.AppendUint(b, uint64(v>>16&0xff), 10)
	b = strconv.AppendUint(append(b, '.'), uint64(v>>8&0xff), 10)
	b = strconv.AppendUint(append(b, '.'), uint64(v&0xff), 10)
	b = strconv.AppendInt(append(b, " (size="...), int64(int32(info.ConnTableSize)), 10)
	return append(b, ")\n"...)
}

// appendListTitle appends the two title lines of the layout o selects.
func appendListTitle(b []byte, o ListOptions) []byte {
	const prot, remote = "Prot LocalAddress:Port", "  -> RemoteAddress:Port"
	switch listFormatOf(o) {
	case formatStats:
		return fmt.Appendf(b, "%-33s %8s %8s %8s %8s %8s\n%s\n", prot,
			"Conns", "InPkts", "OutPkts", "InBytes", "OutBytes", remote)
	case formatRate:
		return fmt.Appendf(b, "%-33s %8s %8s %8s %8s %8s\n%s\n", prot,
			"CPS", "InPPS", "OutPPS", "InBPS", "OutBPS", remote)
	case formatThresholds:
		return fmt.Appendf(b, "%-33s %-10s %-10s %-10s %-10s\n%s\n", prot,
			"Uthreshold", "Lthreshold", "ActiveConn", "InActConn", remote)
	case formatPersistentConn:
		return fmt.Appendf(b, "%-33s %-9s %-11s %-10s %-10s\n%s\n", prot,
			"Weight", "PersistConn", "ActiveConn", "InActConn", remote)
	case formatTunInfo:
		return append(b, prot+" Scheduler Flags\n"+remote+"           Forward TunnelInfo    Weight ActiveConn InActConn\n"...)
	}
	return append(b, prot+" Scheduler Flags\n"+remote+"           Forward Weight ActiveConn InActConn\n"...)
}

// appendServiceName appends ipvsadm's svc_name: "FWM  <mark>[ IPv6]" or
// the protocol and address text, cut to the column width for IPv4.
func appendServiceName(b []byte, s *rules.Service, numeric bool, r names.Resolver) []byte {
	if s.FWMark != 0 {
		// %d of the unsigned mark: marks of 2^31 and more print negative.
		b = strconv.AppendInt(append(b, "FWM  "...), int64(int32(s.FWMark)), 10)
		if s.Family == rules.IPv6 {
			b = append(b, " IPv6"...)
		}
		return b
	}
	start := len(b)
	switch s.Protocol {
	case rules.TCP:
		b = append(b, "TCP  "...)
	case rules.UDP:
		b = append(b, "UDP  "...)
	case rules.SCTP:
		b = append(b, "SCTP "...)
	default:
		b = append(b, "?    "...)
	}
	b = AppendAddrPortText(b, s.Addr, s.Port, s.Protocol, numeric, r)
	if s.Family == rules.IPv4 && len(b)-start > listServiceTextMax {
		b = b[:start+listServiceTextMax]
	}
	return b
}

// appendServiceLine appends the service line of one layout.
func appendServiceLine(b []byte, s *rules.Service, format listFormat, o ListOptions, r names.Resolver) []byte {
	start := len(b)
	b = appendServiceName(b, s, o.Numeric, r)
	switch format {
	case formatStats:
		st := kernelStats(s.Stats, s.Stats64)
		b = PadWidth(b, start, -33)
		return append(appendLargeNums(b, o.Exact,
			st.Conns, st.InPkts, st.OutPkts, st.InBytes, st.OutBytes), '\n')
	case formatRate:
		st := kernelStats(s.Stats, s.Stats64)
		b = PadWidth(b, start, -33)
		return append(appendLargeNums(b, o.Exact,
			st.CPS, st.InPPS, st.OutPPS, st.InBPS, st.OutBPS), '\n')
	}

	b = append(append(b, ' '), s.Scheduler...)
	if s.Flags&rules.FlagsSched != 0 {
		// Printed even when no bit has a name for the scheduler: " ()".
		b = sched.AppendFlags(append(b, " ("...), s.Scheduler, s.Flags)
		b = append(b, ')')
	}
	if s.Persistent() {
		b = strconv.AppendUint(append(b, " persistent "...), uint64(s.Timeout), 10)
		b = AppendNetmaskOption(b, " mask ", s)
		if s.PE != "" {
			b = append(append(b, " pe "...), s.PE...)
		}
	}
	if s.Flags&rules.FlagOnePacket != 0 {
		b = append(b, " ops"...)
	}
	return append(b, '\n')
}

// appendDestLine appends a real-server line of one layout.
func appendDestLine(b []byte, s *rules.Service, d *rules.Destination, format listFormat, o ListOptions, r names.Resolver) []byte {
	b = appendDestAddr(b, s, d.Addr, d.Port, d.Family, o, r)
	switch format {
	case formatStats:
		st := destStats(d)
		return append(appendLargeNums(b, o.Exact,
			st.Conns, st.InPkts, st.OutPkts, st.InBytes, st.OutBytes), '\n')
	case formatRate:
		// The packet and connection rates are never abbreviated.
		st := destStats(d)
		b = AppendUintWidth(append(b, ' '), st.CPS, 8)
		b = AppendUintWidth(append(b, ' '), st.InPPS, 8)
		b = AppendUintWidth(append(b, ' '), st.OutPPS, 8)
		return append(appendLargeNums(b, o.Exact, st.InBPS, st.OutBPS), '\n')
	case formatThresholds:
		b = AppendUintWidth(append(b, ' '), uint64(d.UpperThreshold), -10)
		b = AppendUintWidth(append(b, ' '), uint64(d.LowerThreshold), -10)
	case formatPersistentConn:
		// ipvsadm prints the weight %u here.
		b = AppendUintWidth(append(b, ' '), uint64(uint32(d.Weight)), -9)
		b = AppendUintWidth(append(b, ' '), uint64(d.PersistentConns), -11)
	case formatTunInfo:
		b = AppendStringWidth(append(b, ' '), forwardName(d.Forward), -7)
		b = append(b, ' ')
		tstart := len(b)
		b = PadWidth(appendTunnelInfo(b, d), tstart, -13)
		b = AppendIntWidth(append(b, ' '), int64(d.Weight), -6)
	default:
		return appendPlainDestTail(b, d.Forward, d.Weight, d.ActiveConns, d.InactiveConns)
	}
	b = AppendUintWidth(append(b, ' '), uint64(d.ActiveConns), -10)
	b = AppendUintWidth(append(b, ' '), uint64(d.InactiveConns), -10)
	return append(b, '\n')
}

// appendBriefDestLine is appendDestLine of a brief real server in the
// default layout, without making a Destination of it.
func appendBriefDestLine(b []byte, s *rules.Service, d *rules.BriefDestination, o ListOptions, r names.Resolver) []byte {
	if d.Family == rules.IPv4 && (o.Numeric || r == nil) {
		return appendIPv4DestLine(b, d)
	}
	b = appendDestAddr(b, s, d.Addr(), d.Port, d.Family, o, r)
	return appendPlainDestTail(b, d.Forward, d.Weight, d.ActiveConns, d.InactiveConns)
}

// appendDestAddr appends the start of a real-server line: the arrow and
// the address column.
func appendDestAddr(b []byte, s *rules.Service, addr netip.Addr, port uint16, family rules.Family, o ListOptions, r names.Resolver) []byte {
	// A fwmark service has no protocol, so its real servers' ports stay
	// numeric.
	proto := s.Protocol
	if s.FWMark != 0 {
		proto = 0
	}
	b = append(b, "  -> "...)
	start := len(b)
	b = AppendAddrPortText(b, addr, port, proto, o.Numeric, r)
	if family == 0 {
		family = s.Family
	}
	if family == rules.IPv4 && len(b)-start > listDestTextMax {
		b = b[:start+listDestTextMax]
	}
	return PadWidth(b, start, -28)
}

// appendPlainDestTail appends the rest of a real-server line of the
// default layout: method, weight and connection counts.
func appendPlainDestTail(b []byte, fwd rules.ForwardMethod, weight int32, active, inactive uint32) []byte {
	b = append(b, forwardColumn[fwd&7]...)
	b = AppendIntWidth(append(b, ' '), int64(weight), -6)
	b = AppendUintWidth(append(b, ' '), uint64(active), -10)
	b = AppendUintWidth(append(b, ' '), uint64(inactive), -10)
	return append(b, '\n')
}

// forwardColumn is " " and the Forward column of each method (fwd&7),
// padded to its width of seven as %-7s pads forwardName.
var forwardColumn = func() (c [8]string) {
	for m := range c {
		c[m] = string(AppendStringWidth([]byte{' '}, forwardName(rules.ForwardMethod(m)), -7))
	}
	return c
}()

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

// appendTunnelInfo appends the TunnelInfo column of --tun-info: "n/a"
// unless the real server is a tunnel of a known type.
func appendTunnelInfo(b []byte, d *rules.Destination) []byte {
	if d.Forward&7 != rules.Tunnel {
		return append(b, "n/a"...)
	}
	csum := "(null)"
	if int(d.TunnelFlags) < len(tunnelFlagTexts) {
		csum = tunnelFlagTexts[d.TunnelFlags]
	}
	start := len(b)
	switch d.TunnelType {
	case rules.TunnelIPIP:
		b = append(b, "ipip"...)
	case rules.TunnelGUE:
		b = strconv.AppendUint(append(b, "gue:"...), uint64(d.TunnelPort), 10)
		b = append(append(b, ':'), csum...)
	case rules.TunnelGRE:
		b = append(append(b, "gre:"...), csum...)
	default:
		b = append(b, "n/a"...)
	}
	if len(b)-start > tunnelInfoMax {
		b = b[:start+tunnelInfoMax]
	}
	return b
}

// kernelStats picks the counters ipvsadm shows: the 64-bit set. Kernels
// before 4.1 only send the 32-bit set, and then the 64-bit one is all zero;
// on newer kernels both hold the same counters, so an all-zero 64-bit set
// means the 32-bit one is zero too or is the only one there is.
func kernelStats(s32, s64 rules.Stats) rules.Stats {
	if isZeroStats(&s64) {
		return s32
	}
	return s64
}

// isZeroStats reports whether every counter of st is zero: s == Stats{}
// without the call to compare memory that the comparison compiles to.
func isZeroStats(st *rules.Stats) bool {
	return st.Conns|st.InPkts|st.OutPkts|st.InBytes|st.OutBytes|
		st.CPS|st.InPPS|st.OutPPS|st.InBPS|st.OutBPS == 0
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

// appendLargeNums appends print_largenum of each value.
func appendLargeNums(b []byte, exact bool, vs ...uint64) []byte {
	for _, v := range vs {
		b = AppendLargeNum(b, v, exact)
	}
	return b
}

// WriteTimeouts renders ipvsadm -L --timeout.
func WriteTimeouts(w io.Writer, t rules.Timeouts) {
	fmt.Fprintf(w, "Timeout (tcp tcpfin udp): %d %d %d\n", int32(t.TCP), int32(t.TCPFin), int32(t.UDP))
}

// WriteDaemons renders ipvsadm -L --daemon: one line per daemon in the
// kernel's order, with the optional parts only when set. No daemons print
// nothing.
func WriteDaemons(w io.Writer, ds []rules.Daemon) {
	for _, d := range ds {
		var sb strings.Builder
		fmt.Fprintf(&sb, "%s sync daemon (mcast=%s, syncid=%d", d.State, d.Interface, int32(d.SyncID))
		if d.SyncMaxLen != 0 {
			fmt.Fprintf(&sb, ", maxlen=%d", d.SyncMaxLen)
		}
		if d.Group.IsValid() {
			sb.WriteString(", group=" + AddrText(d.Group))
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
