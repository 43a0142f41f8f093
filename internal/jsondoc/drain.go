package jsondoc

import (
	"strings"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// A DrainEvent is one line of --drain --json or --undrain --json: what
// happened to the real server, with the connection counts of the last
// read. Every key is present in every event.
type DrainEvent struct {
	// Event is start, warning, progress, drained, removed, timeout,
	// interrupted, vanished (someone else deleted the real server or its
	// service during the wait) or undrained.
	Event   string `json:"event"`
	Message string `json:"message"` // the text view's line
	// Sysctl is the net.ipv4.vs sysctl a warning is about, else null.
	Sysctl     *string       `json:"sysctl"`
	Service    ServiceRef    `json:"service"`
	RealServer RealServerRef `json:"real_server"`
	// Weight is the real server's weight now; PreviousWeight the one it
	// had before the command changed it.
	Weight         int32 `json:"weight"`
	PreviousWeight int32 `json:"previous_weight"`
	// The kernel's counters of the last read, and of them the ones the
	// drain waits for: active ones for TCP and SCTP, all for UDP and
	// fwmark services.
	ActiveConnections     uint32  `json:"active_connections"`
	InactiveConnections   uint32  `json:"inactive_connections"`
	PersistentConnections uint32  `json:"persistent_connections"`
	RemainingConnections  uint32  `json:"remaining_connections"`
	ElapsedSeconds        float64 `json:"elapsed_seconds"`
	TimeoutSeconds        float64 `json:"timeout_seconds"` // 0 for --undrain
	Remove                bool    `json:"remove"`          // --remove was given
}

// A ServiceRef names a virtual service.
type ServiceRef struct {
	Family   string  `json:"family"`
	Protocol *string `json:"protocol"` // null for fwmark
	Address  *string `json:"address"`  // null for fwmark
	Port     *uint16 `json:"port"`     // null for fwmark
	FWMark   *uint32 `json:"fwmark"`   // null unless fwmark
}

// A RealServerRef names a real server of a service.
type RealServerRef struct {
	Family  string `json:"family"`
	Address string `json:"address"`
	Port    uint16 `json:"port"`
}

// ServiceRefOf names the service k.
func ServiceRefOf(k rules.ServiceKey) ServiceRef {
	r := ServiceRef{Family: k.Family.String()}
	if k.IsFWMark() {
		r.FWMark = ptr(k.FWMark)
	} else {
		r.Protocol = ptr(strings.ToLower(k.Protocol.String()))
		r.Address = ptr(k.Addr.String())
		r.Port = ptr(k.Port)
	}
	return r
}

// RealServerRefOf names the real server d of the service of family f.
func RealServerRefOf(f rules.Family, d rules.Destination) RealServerRef {
	if d.Family != 0 {
		f = d.Family
	}
	return RealServerRef{Family: f.String(), Address: d.Addr.String(), Port: d.Port}
}
