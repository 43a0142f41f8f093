package ipvs

import (
	"io"
	"os"
)

// connectionsPath is the kernel's connection table as text. IPVS has no
// netlink request for connections; ipvsadm -L -c reads this file, and so
// does Connections.
const connectionsPath = "/proc/net/ip_vs_conn"

// Connections opens the connection table of the calling process's network
// namespace, /proc/net/ip_vs_conn, for reading. The caller closes it. The
// file's format is the kernel's; package render prints it as ipvsadm does.
func (c *Client) Connections() (io.ReadCloser, error) {
	f, err := os.Open(connectionsPath)
	if err != nil {
		return nil, &Error{Op: OpConnections, Err: err}
	}
	return f, nil
}
