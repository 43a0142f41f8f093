package ipvs

// SetWindow lets tests force small batch windows.
func SetWindow(c *Client, n int) { c.window = n }

// Window reports a client's batch window.
func Window(c *Client) int { return c.window }
