package jsondoc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/sched"
)

// Decode reads one document, as -R --json does. Keys it does not know are
// ignored (later versions of the same schema_version only add keys); a
// missing or different schema_version is refused.
func Decode(r io.Reader) (*Document, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var raw struct {
		SchemaVersion *int            `json:"schema_version"`
		Changes       json.RawMessage `json:"changes"`
	}
	var buf json.RawMessage
	if err := dec.Decode(&buf); err != nil {
		return nil, fmt.Errorf("not a JSON document: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one JSON document")
	}
	if err := json.Unmarshal(buf, &raw); err != nil {
		return nil, fmt.Errorf("not an ipvsadm document: %w", err)
	}
	if raw.SchemaVersion == nil {
		return nil, errors.New("not an ipvsadm document: no schema_version")
	}
	if *raw.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("schema_version %d is not supported (this ipvsadm reads %d)", *raw.SchemaVersion, SchemaVersion)
	}
	if raw.Changes != nil {
		return nil, errors.New("this is a plan (-R --dry-run --json), not a table as -L --json writes it")
	}
	var d Document
	if err := json.Unmarshal(buf, &d); err != nil {
		return nil, fmt.Errorf("not an ipvsadm document: %w", err)
	}
	return &d, nil
}

// Entries returns the settings of the document's services and real
// servers (counters are ignored), real servers in the document's order.
// Every value is checked; the error names the first bad one by its path.
func (d *Document) Entries() ([]rules.ServiceEntry, error) {
	out := make([]rules.ServiceEntry, len(d.Services))
	for i := range d.Services {
		e, err := d.Services[i].entry()
		if err != nil {
			return nil, fmt.Errorf("services[%d]%s", i, err)
		}
		out[i] = e
	}
	return out, nil
}

// fieldError is a bad value at a path below a service.
func fieldError(path, format string, a ...any) error {
	return fmt.Errorf(".%s: %s", path, fmt.Sprintf(format, a...))
}

var familyByName = map[string]rules.Family{"inet": rules.IPv4, "inet6": rules.IPv6}

var protocolByName = map[string]rules.Protocol{"tcp": rules.TCP, "udp": rules.UDP, "sctp": rules.SCTP}

func (js *Service) entry() (rules.ServiceEntry, error) {
	var e rules.ServiceEntry
	s := &e.Service
	f, ok := familyByName[js.Family]
	if !ok {
		return e, fieldError("family", "%q is neither inet nor inet6", js.Family)
	}
	s.Family = f
	switch {
	case js.FWMark != nil:
		if *js.FWMark == 0 || js.Protocol != nil || js.Address != nil || js.Port != nil {
			return e, fieldError("fwmark", "a fwmark service has a non-zero fwmark and null protocol, address and port")
		}
		s.FWMark = *js.FWMark
	case js.Protocol != nil && js.Address != nil && js.Port != nil:
		p, ok := protocolByName[*js.Protocol]
		if !ok {
			return e, fieldError("protocol", "%q is not tcp, udp or sctp", *js.Protocol)
		}
		a, err := netip.ParseAddr(*js.Address)
		if err != nil || a.Zone() != "" || rules.FamilyOf(a) != f {
			return e, fieldError("address", "%q is not a numeric %s address", *js.Address, js.Family)
		}
		s.Protocol, s.Addr, s.Port = p, a, *js.Port
	default:
		return e, fieldError("fwmark", "a service has either a fwmark or protocol, address and port")
	}
	if js.Scheduler == "" {
		return e, fieldError("scheduler", "empty")
	}
	s.Scheduler = js.Scheduler
	flags, err := sched.ParseFlags(js.Scheduler, strings.Join(js.SchedFlags, ","))
	if err != nil {
		return e, fieldError("sched_flags", "%v", err)
	}
	s.Flags = flags
	if js.OnePacket {
		s.Flags |= rules.FlagOnePacket
	}
	if js.Persistent {
		s.Flags |= rules.FlagPersistent
	}
	s.Timeout = js.PersistenceTimeoutSeconds
	if f == rules.IPv6 {
		if js.PrefixLength == nil || *js.PrefixLength < 1 || *js.PrefixLength > 128 {
			return e, fieldError("prefix_length", "an IPv6 service needs a prefix length of 1 to 128")
		}
		s.Netmask = uint32(*js.PrefixLength)
	} else {
		if js.Netmask == nil {
			return e, fieldError("netmask", "an IPv4 service needs a netmask")
		}
		m, err := netip.ParseAddr(*js.Netmask)
		if err != nil || !m.Is4() {
			return e, fieldError("netmask", "%q is not an IPv4 netmask", *js.Netmask)
		}
		b := m.As4()
		s.Netmask = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	}
	if js.PersistenceEngine != nil {
		s.PE = *js.PersistenceEngine
	}
	e.Dests = make([]rules.Destination, len(js.RealServers))
	for i := range js.RealServers {
		d, err := js.RealServers[i].destination(s)
		if err != nil {
			return e, fmt.Errorf(".real_servers[%d]%w", i, err)
		}
		e.Dests[i] = d
	}
	return e, nil
}

var forwardByName = func() map[string]rules.ForwardMethod {
	m := map[string]rules.ForwardMethod{}
	for k, v := range forwardingNames {
		m[v] = k
	}
	return m
}()

var tunnelByName = map[string]rules.TunnelType{"ipip": rules.TunnelIPIP, "gue": rules.TunnelGUE, "gre": rules.TunnelGRE}

var checksumByName = func() map[string]rules.TunnelFlags {
	m := map[string]rules.TunnelFlags{}
	for k, v := range checksumNames {
		m[v] = k
	}
	return m
}()

func (rs *RealServer) destination(s *rules.Service) (rules.Destination, error) {
	var d rules.Destination
	f, ok := familyByName[rs.Family]
	if !ok {
		return d, fieldError("family", "%q is neither inet nor inet6", rs.Family)
	}
	a, err := netip.ParseAddr(rs.Address)
	if err != nil || a.Zone() != "" || rules.FamilyOf(a) != f {
		return d, fieldError("address", "%q is not a numeric %s address", rs.Address, rs.Family)
	}
	fwd, ok := forwardByName[rs.Forwarding]
	if !ok {
		return d, fieldError("forwarding", "%q is not masquerade, local, tunnel or route", rs.Forwarding)
	}
	if rs.Weight < 0 {
		return d, fieldError("weight", "negative")
	}
	d = rules.Destination{Family: f, Addr: a, Port: rs.Port, Forward: fwd, Weight: rs.Weight,
		UpperThreshold: rs.UpperThreshold, LowerThreshold: rs.LowerThreshold}
	if fwd == rules.Tunnel && rs.Tunnel != nil {
		tt, ok := tunnelByName[rs.Tunnel.Type]
		if !ok {
			return d, fieldError("tunnel.type", "%q is not ipip, gue or gre", rs.Tunnel.Type)
		}
		cs, ok := checksumByName[rs.Tunnel.Checksum]
		if !ok {
			return d, fieldError("tunnel.checksum", "%q is not none, checksum or remote_checksum", rs.Tunnel.Checksum)
		}
		d.TunnelType, d.TunnelPort, d.TunnelFlags = tt, rs.Tunnel.Port, cs
	}
	return d, nil
}

// TimeoutsSetting returns the document's timeouts, if it has them (-R
// --json sets them).
func (d *Document) TimeoutsSetting() (rules.Timeouts, bool) {
	if d.Timeouts == nil {
		return rules.Timeouts{}, false
	}
	t := d.Timeouts
	return rules.Timeouts{TCP: t.TCPSeconds, TCPFin: t.TCPFinSeconds, UDP: t.UDPSeconds}, true
}
