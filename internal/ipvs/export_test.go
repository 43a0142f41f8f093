package ipvs

// SetWindow lets tests force small batch windows.
func SetWindow(c *Client, n int) { c.window = n }

// Window reports a client's batch window.
func Window(c *Client) int { return c.window }

// SetDumpSockets sets how many sockets a client's listings may dump real
// servers on at once, whatever the machine's CPUs.
func SetDumpSockets(c *Client, n int) { c.dumpSockets = n }
