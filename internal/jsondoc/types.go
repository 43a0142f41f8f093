package jsondoc

// SchemaVersion is the version of the documents' shape.
const SchemaVersion = 1

// A Document is what one -L --json (or -L --system --json, or
// -L -c --conn-count --json, or -L SERVICE --predict --json) writes. The
// view decides which of Services, Timeouts, Daemons, System,
// ConnectionCount and Prediction are filled; the others are null.
type Document struct {
	SchemaVersion   int              `json:"schema_version"`
	Generator       Generator        `json:"generator"`
	NetNS           NetNS            `json:"netns"`
	IPVS            IPVS             `json:"ipvs"`
	Services        []Service        `json:"services"`
	Timeouts        *Timeouts        `json:"timeouts"`
	Daemons         []Daemon         `json:"daemons"`
	System          *System          `json:"system"`
	ConnectionCount *ConnectionCount `json:"connection_count"`
	Prediction      *Prediction      `json:"prediction"`
}

// Generator names the program that wrote a document.
type Generator struct {
	Name           string `json:"name"`            // "ipvsadm"
	Version        string `json:"version"`         // this implementation's version
	CompatibleWith string `json:"compatible_with"` // "1.31"
	GoVersion      string `json:"go_version"`
}

// NetNS is the network namespace a document describes.
type NetNS struct {
	Name  *string `json:"name"` // the --netns name, null for a path or the caller's
	Path  string  `json:"path"`
	Inode uint64  `json:"inode"`
}

// IPVS is what the kernel says about IPVS itself.
type IPVS struct {
	Version             string `json:"version"`      // "1.2.1"
	VersionCode         uint32 `json:"version_code"` // 0x010201
	ConnectionTableSize uint32 `json:"connection_table_size"`
}

// A Service is a virtual service with its settings, counters and real
// servers.
type Service struct {
	Family    string  `json:"family"`   // "inet" or "inet6"
	Protocol  *string `json:"protocol"` // "tcp", "udp", "sctp"; null for fwmark
	Address   *string `json:"address"`  // null for fwmark
	Port      *uint16 `json:"port"`     // null for fwmark
	FWMark    *uint32 `json:"fwmark"`   // null unless fwmark
	Scheduler string  `json:"scheduler"`
	// SchedFlags are the -b names of the scheduler flags.
	SchedFlags                []string `json:"sched_flags"`
	OnePacket                 bool     `json:"one_packet"`
	Persistent                bool     `json:"persistent"`
	PersistenceTimeoutSeconds uint32   `json:"persistence_timeout_seconds"`
	// Netmask is the IPv4 persistence mask (null for IPv6);
	// PrefixLength its length, null for a non-contiguous IPv4 mask.
	Netmask           *string `json:"netmask"`
	PrefixLength      *int    `json:"prefix_length"`
	PersistenceEngine *string `json:"persistence_engine"`
	// Flags is the kernel's flag word (IP_VS_SVC_F_*, without HASHED).
	Flags       uint32       `json:"flags"`
	Counters    Counters     `json:"counters"`
	Rates       Rates        `json:"rates"`
	RealServers []RealServer `json:"real_servers"` // in the kernel's order
}

// Counters are totals since creation or the last zeroing.
type Counters struct {
	Connections uint64 `json:"connections"`
	InPackets   uint64 `json:"in_packets"`
	OutPackets  uint64 `json:"out_packets"`
	InBytes     uint64 `json:"in_bytes"`
	OutBytes    uint64 `json:"out_bytes"`
}

// Rates are the kernel's estimates over the last seconds.
type Rates struct {
	ConnectionsPerSecond uint64 `json:"connections_per_second"`
	InPacketsPerSecond   uint64 `json:"in_packets_per_second"`
	OutPacketsPerSecond  uint64 `json:"out_packets_per_second"`
	InBytesPerSecond     uint64 `json:"in_bytes_per_second"`
	OutBytesPerSecond    uint64 `json:"out_bytes_per_second"`
}

// A RealServer is a destination of a virtual service.
type RealServer struct {
	Family                string   `json:"family"`
	Address               string   `json:"address"`
	Port                  uint16   `json:"port"`
	Forwarding            string   `json:"forwarding"` // "masquerade", "local", "tunnel", "route"
	Weight                int32    `json:"weight"`
	UpperThreshold        uint32   `json:"upper_threshold"` // 0: no limit
	LowerThreshold        uint32   `json:"lower_threshold"`
	ActiveConnections     uint32   `json:"active_connections"`
	InactiveConnections   uint32   `json:"inactive_connections"`
	PersistentConnections uint32   `json:"persistent_connections"`
	Tunnel                *Tunnel  `json:"tunnel"` // null unless forwarding is "tunnel"
	Counters              Counters `json:"counters"`
	Rates                 Rates    `json:"rates"`
}

// Tunnel is a tunnel real server's encapsulation.
type Tunnel struct {
	Type     string `json:"type"`     // "ipip", "gue", "gre"
	Port     uint16 `json:"port"`     // GUE's destination port, else 0
	Checksum string `json:"checksum"` // "none", "checksum", "remote_checksum"
}

// Timeouts are the connection timeouts of --set.
type Timeouts struct {
	TCPSeconds    uint32 `json:"tcp_seconds"`
	TCPFinSeconds uint32 `json:"tcp_fin_seconds"`
	UDPSeconds    uint32 `json:"udp_seconds"`
}

// A Daemon is a running connection-sync daemon.
type Daemon struct {
	State          string  `json:"state"` // "master" or "backup"
	Interface      string  `json:"interface"`
	SyncID         uint32  `json:"sync_id"`
	SyncMaxLength  uint16  `json:"sync_max_length"`
	MulticastGroup *string `json:"multicast_group"`
	MulticastPort  uint16  `json:"multicast_port"`
	MulticastTTL   uint8   `json:"multicast_ttl"`
}

// System is the -L --system view: what decides IPVS behaviour beyond the
// table.
type System struct {
	KernelRelease      string            `json:"kernel_release"`
	Schedulers         []Module          `json:"schedulers"`
	PersistenceEngines []Module          `json:"persistence_engines"`
	Sysctls            map[string]string `json:"sysctls"` // net.ipv4.vs.*, text as the kernel prints it
}

// A Module is a scheduler or persistence engine and its kernel module.
type Module struct {
	Name   string `json:"name"`   // "rr", "sip"
	Module string `json:"module"` // "ip_vs_rr", "ip_vs_pe_sip"
	// State is "loaded", "built-in", "available" (a module file
	// exists, loaded on first use) or "missing".
	State string `json:"state"`
}

// A Connection is one entry of the connection table, one JSON line of
// -L -c --json.
type Connection struct {
	Protocol          string  `json:"protocol"` // "tcp", "udp", "sctp"; "ip" for a persistence template
	Template          bool    `json:"template"`
	ClientAddress     string  `json:"client_address"`
	ClientPort        uint16  `json:"client_port"`
	VirtualAddress    string  `json:"virtual_address"`
	VirtualPort       uint16  `json:"virtual_port"`
	RealAddress       string  `json:"real_address"`
	RealPort          uint16  `json:"real_port"`
	State             string  `json:"state"`
	ExpiresInSeconds  uint64  `json:"expires_in_seconds"`
	PersistenceEngine *string `json:"persistence_engine"`
	PersistenceData   *string `json:"persistence_data"`
}

// ConnectionCount is -L -c --conn-count: how many connections match, by
// state and by protocol.
type ConnectionCount struct {
	Total      uint64            `json:"total"`
	ByState    map[string]uint64 `json:"by_state"`
	ByProtocol map[string]uint64 `json:"by_protocol"`
}
