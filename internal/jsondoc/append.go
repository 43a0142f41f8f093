package jsondoc

import (
	"bytes"
	"encoding/json"
	"io"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/sched"
)

// The table's services are encoded by hand, straight from the table
// model: encoding/json's reflection over the converted Service values
// cost six times the text listing (a 60,000-line table is some 20 MB of
// JSON). The bytes are those encoding/json writes for Services(entries)
// (TestAppendServicesIsEncodingJSON holds them to it), so the types in
// types.go remain the shape's definition.

// WriteTable writes d with services as its Services (d.Services is
// ignored), compact or indented by two spaces with pretty, and a newline.
// The services are encoded and written in pieces, never held whole.
func WriteTable(w io.Writer, d *Document, services []rules.ServiceEntry, pretty bool) error {
	if pretty {
		// Indenting needs the whole document; --pretty is for people.
		var compact bytes.Buffer
		if err := WriteTable(&compact, d, services, false); err != nil {
			return err
		}
		var out bytes.Buffer
		if err := json.Indent(&out, bytes.TrimSuffix(compact.Bytes(), []byte("\n")), "", "  "); err != nil {
			return err
		}
		out.WriteByte('\n')
		_, err := w.Write(out.Bytes())
		return err
	}
	b := make([]byte, 0, 64<<10)
	b = append(b, `{"schema_version":`...)
	b = strconv.AppendInt(b, int64(d.SchemaVersion), 10)
	b = appendKeyValue(b, "generator", d.Generator)
	b = appendKeyValue(b, "netns", d.NetNS)
	b = appendKeyValue(b, "ipvs", d.IPVS)
	b = append(b, `,"services":[`...)
	for i := range services {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendService(b, &services[i])
		if len(b) >= 60<<10 {
			if _, err := w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	b = append(b, ']')
	b = appendKeyValue(b, "timeouts", d.Timeouts)
	b = appendKeyValue(b, "daemons", d.Daemons)
	b = appendKeyValue(b, "system", d.System)
	b = appendKeyValue(b, "connection_count", d.ConnectionCount)
	b = appendKeyValue(b, "prediction", d.Prediction)
	b = append(b, "}\n"...)
	_, err := w.Write(b)
	return err
}

// appendKeyValue appends `,"key":` and v as encoding/json writes it.
func appendKeyValue(b []byte, key string, v any) []byte {
	b = append(append(append(b, ",\""...), key...), "\":"...)
	return appendMarshal(b, v)
}

// appendMarshal appends v as encoding/json writes it, without HTML
// escaping. The values given cannot fail to encode.
func appendMarshal(b []byte, v any) []byte {
	buf := bytes.NewBuffer(b)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	out := buf.Bytes()
	return out[:len(out)-1] // Encode's newline
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return appendMarshal(b, s)
		}
	}
	return append(append(append(b, '"'), s...), '"')
}

func appendUint(b []byte, key string, v uint64) []byte {
	b = append(append(append(b, ",\""...), key...), "\":"...)
	return strconv.AppendUint(b, v, 10)
}

func appendBool(b []byte, key string, v bool) []byte {
	b = append(append(append(b, ",\""...), key...), "\":"...)
	return strconv.AppendBool(b, v)
}

func appendAddr(b []byte, a netip.Addr) []byte {
	return append(a.AppendTo(append(b, '"')), '"')
}

// appendService appends serviceOf(e) as encoding/json writes it.
func appendService(b []byte, e *rules.ServiceEntry) []byte {
	s := &e.Service
	b = append(b, `{"family":`...)
	b = appendString(b, s.Family.String())
	if s.IsFWMark() {
		b = append(b, `,"protocol":null,"address":null,"port":null,"fwmark":`...)
		b = strconv.AppendUint(b, uint64(s.FWMark), 10)
	} else {
		b = append(b, `,"protocol":`...)
		switch s.Protocol {
		case rules.TCP:
			b = append(b, `"tcp"`...)
		case rules.UDP:
			b = append(b, `"udp"`...)
		case rules.SCTP:
			b = append(b, `"sctp"`...)
		default:
			b = appendString(b, strings.ToLower(s.Protocol.String()))
		}
		b = append(b, `,"address":`...)
		b = appendAddr(b, s.Addr)
		b = appendUint(b, "port", uint64(s.Port))
		b = append(b, `,"fwmark":null`...)
	}
	b = append(b, `,"scheduler":`...)
	b = appendString(b, s.Scheduler)
	b = append(b, `,"sched_flags":[`...)
	n := len(b)
	b = sched.AppendFlags(b, s.Scheduler, s.Flags)
	if len(b) > n {
		// Names are plain ASCII: quote each one.
		names := string(b[n:])
		b = b[:n]
		start := 0
		for i := 0; i <= len(names); i++ {
			if i == len(names) || names[i] == ',' {
				if start > 0 {
					b = append(b, ',')
				}
				b = appendString(b, names[start:i])
				start = i + 1
			}
		}
	}
	b = append(b, ']')
	b = appendBool(b, "one_packet", s.Flags&rules.FlagOnePacket != 0)
	b = appendBool(b, "persistent", s.Persistent())
	b = appendUint(b, "persistence_timeout_seconds", uint64(s.Timeout))
	if s.Family == rules.IPv6 {
		b = append(b, `,"netmask":null,"prefix_length":`...)
		b = strconv.AppendInt(b, int64(int(s.Netmask)), 10)
	} else {
		m := s.Netmask
		b = append(b, `,"netmask":`...)
		b = appendAddr(b, netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}))
		b = append(b, `,"prefix_length":`...)
		if ones := bits.LeadingZeros32(^m); m<<ones == 0 {
			b = strconv.AppendInt(b, int64(ones), 10)
		} else {
			b = append(b, "null"...)
		}
	}
	b = append(b, `,"persistence_engine":`...)
	if s.PE != "" {
		b = appendString(b, s.PE)
	} else {
		b = append(b, "null"...)
	}
	b = appendUint(b, "flags", uint64(uint32(s.Flags&^rules.FlagHashed)))
	b = appendStats(b, s.Stats, s.Stats64)
	b = append(b, `,"real_servers":[`...)
	for i := range e.Dests {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRealServer(b, s, &e.Dests[i])
	}
	return append(b, "]}"...)
}

// appendStats appends the counters and rates of statsOf(s32, s64).
func appendStats(b []byte, s32, s64 rules.Stats) []byte {
	st := s64
	if st == (rules.Stats{}) {
		st = s32
	}
	b = append(b, `,"counters":{"connections":`...)
	b = strconv.AppendUint(b, st.Conns, 10)
	b = appendUint(b, "in_packets", st.InPkts)
	b = appendUint(b, "out_packets", st.OutPkts)
	b = appendUint(b, "in_bytes", st.InBytes)
	b = appendUint(b, "out_bytes", st.OutBytes)
	b = append(b, `},"rates":{"connections_per_second":`...)
	b = strconv.AppendUint(b, st.CPS, 10)
	b = appendUint(b, "in_packets_per_second", st.InPPS)
	b = appendUint(b, "out_packets_per_second", st.OutPPS)
	b = appendUint(b, "in_bytes_per_second", st.InBPS)
	b = appendUint(b, "out_bytes_per_second", st.OutBPS)
	return append(b, '}')
}

// appendRealServer appends realServerOf(s, d) as encoding/json writes it.
func appendRealServer(b []byte, s *rules.Service, d *rules.Destination) []byte {
	f := d.Family
	if f == 0 {
		f = s.Family
	}
	b = append(b, `{"family":`...)
	b = appendString(b, f.String())
	b = append(b, `,"address":`...)
	b = appendAddr(b, d.Addr)
	b = appendUint(b, "port", uint64(d.Port))
	b = append(b, `,"forwarding":`...)
	if name, ok := forwardingNames[d.Forward]; ok {
		b = appendString(b, name)
	} else {
		b = appendString(b, d.Forward.String())
	}
	b = append(b, `,"weight":`...)
	b = strconv.AppendInt(b, int64(d.Weight), 10)
	b = appendUint(b, "upper_threshold", uint64(d.UpperThreshold))
	b = appendUint(b, "lower_threshold", uint64(d.LowerThreshold))
	b = appendUint(b, "active_connections", uint64(d.ActiveConns))
	b = appendUint(b, "inactive_connections", uint64(d.InactiveConns))
	b = appendUint(b, "persistent_connections", uint64(d.PersistentConns))
	if d.Forward == rules.Tunnel {
		cs, ok := checksumNames[d.TunnelFlags]
		if !ok {
			cs = "none"
		}
		b = append(b, `,"tunnel":{"type":`...)
		b = appendString(b, d.TunnelType.String())
		b = appendUint(b, "port", uint64(d.TunnelPort))
		b = append(b, `,"checksum":`...)
		b = appendString(b, cs)
		b = append(b, '}')
	} else {
		b = append(b, `,"tunnel":null`...)
	}
	b = appendStats(b, d.Stats, d.Stats64)
	return append(b, '}')
}
