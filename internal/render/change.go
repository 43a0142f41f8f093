package render

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/sched"
)

// AppendChangeLine appends c as one line of ipvsadm -R input, numeric,
// that ipvsadm 1.31's -R and ours both execute as c. Service and real
// server lines carry every setting that differs from ipvsadm's defaults,
// since -E and -e reset what they omit.
func AppendChangeLine(b []byte, c rules.Change) []byte {
	s := &c.Service
	switch c.Op {
	case rules.OpAddService, rules.OpEditService:
		b = append(b, "-A "...)
		if c.Op == rules.OpEditService {
			b[len(b)-2] = 'E'
		}
		b = appendServiceOption(b, s)
		b = appendServiceSettings(b, s)
	case rules.OpDelService:
		b = appendServiceOption(append(b, "-D "...), s)
	case rules.OpAddDest, rules.OpEditDest, rules.OpDelDest:
		op := map[rules.Op]string{rules.OpAddDest: "-a ", rules.OpEditDest: "-e ", rules.OpDelDest: "-d "}[c.Op]
		b = appendServiceOption(append(b, op...), s)
		b = AppendAddrPortText(append(b, " -r "...), c.Dest.Addr, c.Dest.Port, 0, true, nil)
		if c.Op != rules.OpDelDest {
			b = appendDestSettings(b, &c.Dest)
		}
	case rules.OpFlush:
		b = append(b, "-C"...)
	case rules.OpZeroAll:
		b = append(b, "-Z"...)
	case rules.OpZeroService:
		b = appendServiceOption(append(b, "-Z "...), s)
	case rules.OpSetTimeouts:
		t := c.Timeouts
		b = fmt.Appendf(b, "--set %d %d %d", t.TCP, t.TCPFin, t.UDP)
	case rules.OpStartDaemon:
		b = appendDaemon(b, &c.Daemon)
	case rules.OpStopDaemon:
		b = append(append(b, "--stop-daemon "...), c.Daemon.State.String()...)
	}
	return append(b, '\n')
}

// appendServiceOption appends the option naming s: "-t 10.0.0.1:80",
// "-f 7 -6", ... A fwmark is written unsigned (ipvsadm reads it so).
func appendServiceOption(b []byte, s *rules.Service) []byte {
	if s.FWMark != 0 {
		b = strconv.AppendUint(append(b, "-f "...), uint64(s.FWMark), 10)
		if s.Family == rules.IPv6 {
			b = append(b, " -6"...)
		}
		return b
	}
	switch s.Protocol {
	case rules.UDP:
		b = append(b, "-u "...)
	case rules.SCTP:
		b = append(b, "--sctp-service "...)
	default:
		b = append(b, "-t "...)
	}
	return AppendAddrPortText(b, s.Addr, s.Port, 0, true, nil)
}

// appendServiceSettings appends the options of an -A or -E line.
func appendServiceSettings(b []byte, s *rules.Service) []byte {
	b = append(append(b, " -s "...), s.Scheduler...)
	if s.Persistent() {
		b = strconv.AppendUint(append(b, " -p "...), uint64(s.Timeout), 10)
	}
	// Written whenever it is not the default, persistent or not: the
	// kernel keeps it either way.
	b = AppendNetmaskOption(b, " -M ", s)
	if s.PE != "" {
		b = append(append(b, " --pe "...), s.PE...)
	}
	if s.Flags&rules.FlagOnePacket != 0 {
		b = append(b, " -o"...)
	}
	if flags := sched.AppendFlags(nil, s.Scheduler, s.Flags); len(flags) > 0 {
		b = append(append(b, " -b "...), flags...)
	}
	return b
}

// appendDestSettings appends the options of an -a or -e line.
func appendDestSettings(b []byte, d *rules.Destination) []byte {
	b = append(append(b, ' '), saveForwardOption(d.Forward)...)
	b = strconv.AppendInt(append(b, " -w "...), int64(d.Weight), 10)
	if d.UpperThreshold != 0 || d.LowerThreshold != 0 {
		b = strconv.AppendUint(append(b, " -x "...), uint64(d.UpperThreshold), 10)
		b = strconv.AppendUint(append(b, " -y "...), uint64(d.LowerThreshold), 10)
	}
	if d.Forward&7 == rules.Tunnel && d.TunnelType != rules.TunnelIPIP {
		b = appendSaveTunnelOptions(b, d)
	}
	return b
}

// appendDaemon appends a --start-daemon line with every setting the
// kernel reports.
func appendDaemon(b []byte, d *rules.Daemon) []byte {
	b = append(append(b, "--start-daemon "...), d.State.String()...)
	b = append(append(b, " --mcast-interface "...), d.Interface...)
	b = strconv.AppendUint(append(b, " --syncid "...), uint64(d.SyncID), 10)
	if d.SyncMaxLen != 0 {
		b = strconv.AppendUint(append(b, " --sync-maxlen "...), uint64(d.SyncMaxLen), 10)
	}
	if d.Group.IsValid() {
		b = AppendAddrText(append(b, " --mcast-group "...), d.Group)
	}
	if d.Port != 0 {
		b = strconv.AppendUint(append(b, " --mcast-port "...), uint64(d.Port), 10)
	}
	if d.TTL != 0 {
		b = strconv.AppendUint(append(b, " --mcast-ttl "...), uint64(d.TTL), 10)
	}
	return b
}

// AppendChangeSummary appends a one-line human account of c applied to
// before (the table just before it): "+" for what it adds, "~" for what
// it changes with old -> new values, "-" for what it removes.
func AppendChangeSummary(b []byte, before *rules.Table, c rules.Change) []byte {
	k := c.Service.ServiceKey
	switch c.Op {
	case rules.OpAddService:
		b = fmt.Appendf(b, "+ service %s: %s", k, strings.Join(serviceFields(&c.Service), ", "))
	case rules.OpEditService:
		old, _ := before.Service(k)
		b = fmt.Appendf(b, "~ service %s: %s", k, changedFields(serviceFields(&old), serviceFields(&c.Service)))
	case rules.OpDelService:
		b = fmt.Appendf(b, "- service %s (with %d real servers)", k, len(before.Destinations(k)))
	case rules.OpAddDest:
		b = fmt.Appendf(b, "+ real server %s -> %s: %s", k, c.Dest.Key(), strings.Join(destFields(&c.Dest), ", "))
	case rules.OpEditDest:
		var old rules.Destination
		for _, d := range before.Destinations(k) {
			if d.Key() == c.Dest.Key() {
				old = d
			}
		}
		b = fmt.Appendf(b, "~ real server %s -> %s: %s", k, c.Dest.Key(), changedFields(destFields(&old), destFields(&c.Dest)))
	case rules.OpDelDest:
		b = fmt.Appendf(b, "- real server %s -> %s", k, c.Dest.Key())
	case rules.OpFlush:
		b = fmt.Appendf(b, "- every service (%d)", before.Len())
	case rules.OpZeroAll:
		b = append(b, "~ counters of every service: zeroed"...)
	case rules.OpZeroService:
		b = fmt.Appendf(b, "~ counters of service %s: zeroed", k)
	case rules.OpSetTimeouts:
		o, n := before.Timeouts(), c.Timeouts
		keep := func(v, old uint32) uint32 {
			if v == 0 {
				return old
			}
			return v
		}
		b = fmt.Appendf(b, "~ timeouts: %s", changedFields(
			[]string{fmt.Sprint("tcp ", o.TCP), fmt.Sprint("tcpfin ", o.TCPFin), fmt.Sprint("udp ", o.UDP)},
			[]string{fmt.Sprint("tcp ", keep(n.TCP, o.TCP)), fmt.Sprint("tcpfin ", keep(n.TCPFin, o.TCPFin)), fmt.Sprint("udp ", keep(n.UDP, o.UDP))}))
	case rules.OpStartDaemon:
		d := c.Daemon
		b = fmt.Appendf(b, "+ sync daemon %s: interface %s, syncid %d", d.State, d.Interface, d.SyncID)
	case rules.OpStopDaemon:
		b = fmt.Appendf(b, "- sync daemon %s", c.Daemon.State)
	}
	return append(b, '\n')
}

// serviceFields are a service's settings as "name value" texts, in a
// fixed order.
func serviceFields(s *rules.Service) []string {
	return []string{
		"scheduler " + s.Scheduler,
		fmt.Sprintf("flags %#x", uint32(s.Flags)),
		fmt.Sprint("persistence ", s.Timeout),
		"netmask " + netmaskText(s),
		"pe " + orNone(s.PE),
	}
}

func destFields(d *rules.Destination) []string {
	return []string{
		"forward " + d.Forward.String(),
		fmt.Sprint("weight ", d.Weight),
		fmt.Sprint("u-threshold ", d.UpperThreshold),
		fmt.Sprint("l-threshold ", d.LowerThreshold),
		fmt.Sprintf("tunnel %s:%d/%d", d.TunnelType, d.TunnelPort, d.TunnelFlags),
	}
}

func netmaskText(s *rules.Service) string {
	if s.Family == rules.IPv6 {
		return strconv.FormatUint(uint64(s.Netmask), 10)
	}
	m := s.Netmask
	return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}).String()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// changedFields renders the fields that differ as "name old -> new".
func changedFields(old, new []string) string {
	var parts []string
	for i := range old {
		if old[i] != new[i] {
			name, ov, _ := strings.Cut(old[i], " ")
			_, nv, _ := strings.Cut(new[i], " ")
			parts = append(parts, fmt.Sprintf("%s %s -> %s", name, ov, nv))
		}
	}
	if len(parts) == 0 {
		return "no setting changes"
	}
	return strings.Join(parts, ", ")
}
