package ipvs

import (
	"io"
	"os"
)

// connectionsPath is the kernel's connection table as text. IPVS has no
// netlink request for connections; ipvsadm -L -c reads this file, and so
// does Connections.
const connectionsPath = "/proc/net/ip_vs_conn"

// Connections opens the connection table for reading: that of the
// client's namespace when it was dialled with Config.NetNS (from a thread
// in that namespace), else /proc/net/ip_vs_conn, the calling process's, as
// ipvsadm reads it. The caller closes it. The
// file's format is the kernel's; package render prints it as ipvsadm does.
func (c *Client) Connections() (io.ReadCloser, error) {
	var f *os.File
	var err error
	if c.netns != 0 {
		f, err = c.openInNamespace(threadConnectionsPath)
	} else {
		f, err = os.Open(connectionsPath)
	}
	if err != nil {
		return nil, &Error{Op: OpConnections, Err: err}
	}
	return f, nil
}
