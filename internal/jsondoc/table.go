package jsondoc

import (
	"math/bits"
	"net/netip"
	"strings"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/sched"
)

// Services converts entries (in the order given) to their JSON form.
// Real servers keep their order. The result is never nil.
func Services(entries []rules.ServiceEntry) []Service {
	out := make([]Service, len(entries))
	for i := range entries {
		out[i] = serviceOf(&entries[i])
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func serviceOf(e *rules.ServiceEntry) Service {
	s := &e.Service
	js := Service{
		Family:                    s.Family.String(),
		Scheduler:                 s.Scheduler,
		SchedFlags:                schedFlagNames(s),
		OnePacket:                 s.Flags&rules.FlagOnePacket != 0,
		Persistent:                s.Persistent(),
		PersistenceTimeoutSeconds: s.Timeout,
		Flags:                     uint32(s.Flags &^ rules.FlagHashed),
		RealServers:               make([]RealServer, len(e.Dests)),
	}
	if s.IsFWMark() {
		js.FWMark = ptr(s.FWMark)
	} else {
		js.Protocol = ptr(strings.ToLower(s.Protocol.String()))
		js.Address = ptr(s.Addr.String())
		js.Port = ptr(s.Port)
	}
	if s.Family == rules.IPv6 {
		js.PrefixLength = ptr(int(s.Netmask))
	} else {
		var b [4]byte
		m := s.Netmask
		b[0], b[1], b[2], b[3] = byte(m>>24), byte(m>>16), byte(m>>8), byte(m)
		js.Netmask = ptr(netip.AddrFrom4(b).String())
		if ones := bits.LeadingZeros32(^m); m<<ones == 0 {
			js.PrefixLength = ptr(ones)
		}
	}
	if s.PE != "" {
		js.PersistenceEngine = ptr(s.PE)
	}
	js.Counters, js.Rates = statsOf(s.Stats, s.Stats64)
	for i := range e.Dests {
		js.RealServers[i] = realServerOf(s, &e.Dests[i])
	}
	return js
}

// schedFlagNames are the -b names of s's scheduler flags, never nil.
func schedFlagNames(s *rules.Service) []string {
	text := string(sched.AppendFlags(nil, s.Scheduler, s.Flags))
	if text == "" {
		return []string{}
	}
	return strings.Split(text, ",")
}

// statsOf picks the kernel's 64-bit counters; kernels before 4.1 send
// only the 32-bit set, and then the 64-bit one is all zero.
func statsOf(s32, s64 rules.Stats) (Counters, Rates) {
	st := s64
	if st == (rules.Stats{}) {
		st = s32
	}
	return Counters{Connections: st.Conns, InPackets: st.InPkts, OutPackets: st.OutPkts, InBytes: st.InBytes, OutBytes: st.OutBytes},
		Rates{ConnectionsPerSecond: st.CPS, InPacketsPerSecond: st.InPPS, OutPacketsPerSecond: st.OutPPS,
			InBytesPerSecond: st.InBPS, OutBytesPerSecond: st.OutBPS}
}

// forwardingNames are the JSON names of the forwarding methods.
var forwardingNames = map[rules.ForwardMethod]string{
	rules.Masquerade: "masquerade", rules.Local: "local", rules.Tunnel: "tunnel", rules.Route: "route",
}

// checksumNames are the JSON names of the tunnel checksum settings.
var checksumNames = map[rules.TunnelFlags]string{
	rules.TunnelNoChecksum: "none", rules.TunnelChecksum: "checksum", rules.TunnelRemoteChecksum: "remote_checksum",
}

func realServerOf(s *rules.Service, d *rules.Destination) RealServer {
	f := d.Family
	if f == 0 {
		f = s.Family
	}
	rs := RealServer{
		Family:                f.String(),
		Address:               d.Addr.String(),
		Port:                  d.Port,
		Forwarding:            forwardingNames[d.Forward],
		Weight:                d.Weight,
		UpperThreshold:        d.UpperThreshold,
		LowerThreshold:        d.LowerThreshold,
		ActiveConnections:     d.ActiveConns,
		InactiveConnections:   d.InactiveConns,
		PersistentConnections: d.PersistentConns,
	}
	if rs.Forwarding == "" {
		rs.Forwarding = d.Forward.String()
	}
	if d.Forward == rules.Tunnel {
		cs, ok := checksumNames[d.TunnelFlags]
		if !ok {
			cs = "none"
		}
		rs.Tunnel = &Tunnel{Type: d.TunnelType.String(), Port: d.TunnelPort, Checksum: cs}
	}
	rs.Counters, rs.Rates = statsOf(d.Stats, d.Stats64)
	return rs
}

// TimeoutsOf converts the connection timeouts.
func TimeoutsOf(t rules.Timeouts) *Timeouts {
	return &Timeouts{TCPSeconds: t.TCP, TCPFinSeconds: t.TCPFin, UDPSeconds: t.UDP}
}

// DaemonsOf converts the sync daemons; never nil.
func DaemonsOf(ds []rules.Daemon) []Daemon {
	out := make([]Daemon, len(ds))
	for i, d := range ds {
		out[i] = Daemon{State: d.State.String(), Interface: d.Interface, SyncID: d.SyncID,
			SyncMaxLength: d.SyncMaxLen, MulticastPort: d.Port, MulticastTTL: d.TTL}
		if d.Group.IsValid() {
			out[i].MulticastGroup = ptr(d.Group.String())
		}
	}
	return out
}

// IPVSOf converts the kernel's IPVS info.
func IPVSOf(i rules.Info) IPVS {
	return IPVS{Version: i.VersionString(), VersionCode: i.Version, ConnectionTableSize: i.ConnTableSize}
}
