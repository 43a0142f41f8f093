package main

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"syscall"

	"github.com/moby/ipvs"
)

// list writes every service and its real servers, with their counters:
//
//	TCP 10.0.0.1:80 wlc CONNS INPKTS OUTPKTS INBYTES OUTBYTES
//	  -> 172.16.0.1:8080 Masq WEIGHT ACTIVE INACTIVE CONNS INPKTS OUTPKTS INBYTES OUTBYTES
//
// The lines are built with strconv into one buffer, so that the cost
// measured is the library's, not this formatting's.
func list(h *ipvs.Handle, w io.Writer) error {
	svcs, err := h.GetServices()
	if err != nil {
		return fmt.Errorf("GetServices: %w", err)
	}
	var b []byte
	for _, s := range svcs {
		dests, err := h.GetDestinations(s)
		if err != nil {
			return fmt.Errorf("GetDestinations %s: %w", serviceName(s), err)
		}
		b = append(b[:0], serviceName(s)...)
		b = append(b, ' ')
		b = append(b, s.SchedName...)
		b = appendStats(b, ipvs.DstStats(s.Stats))
		b = append(b, '\n')
		for _, d := range dests {
			b = append(b, "  -> "...)
			b = appendHostPort(b, d.Address, d.Port)
			b = append(b, ' ')
			b = append(b, forwarding(d.ConnectionFlags)...)
			for _, v := range []int{d.Weight, d.ActiveConnections, d.InactiveConnections} {
				b = append(b, ' ')
				b = strconv.AppendInt(b, int64(v), 10)
			}
			b = appendStats(b, d.Stats)
			b = append(b, '\n')
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// serviceName is "TCP 10.0.0.1:80" or "FWM 7".
func serviceName(s *ipvs.Service) string {
	if s.FWMark != 0 {
		return "FWM " + strconv.FormatUint(uint64(s.FWMark), 10)
	}
	proto := "proto" + strconv.Itoa(int(s.Protocol))
	switch s.Protocol {
	case syscall.IPPROTO_TCP:
		proto = "TCP"
	case syscall.IPPROTO_UDP:
		proto = "UDP"
	case 132: // SCTP
		proto = "SCTP"
	}
	return string(appendHostPort([]byte(proto+" "), s.Address, s.Port))
}

func appendHostPort(b []byte, ip net.IP, port uint16) []byte {
	if ip.To4() == nil {
		b = append(b, '[')
		b = append(b, ip.String()...)
		b = append(b, ']')
	} else {
		b = append(b, ip.String()...)
	}
	b = append(b, ':')
	return strconv.AppendUint(b, uint64(port), 10)
}

func appendStats(b []byte, st ipvs.DstStats) []byte {
	for _, v := range []uint64{uint64(st.Connections), uint64(st.PacketsIn), uint64(st.PacketsOut), st.BytesIn, st.BytesOut} {
		b = append(b, ' ')
		b = strconv.AppendUint(b, v, 10)
	}
	return b
}

// forwarding names a real server's forwarding method.
func forwarding(flags uint32) string {
	switch flags & ipvs.ConnectionFlagFwdMask {
	case ipvs.ConnectionFlagMasq:
		return "Masq"
	case ipvs.ConnectionFlagLocalNode:
		return "Local"
	case ipvs.ConnectionFlagTunnel:
		return "Tunnel"
	case ipvs.ConnectionFlagDirectRoute:
		return "Route"
	}
	return "fwd" + strconv.FormatUint(uint64(flags&ipvs.ConnectionFlagFwdMask), 10)
}
