package render

// ListOptions are the display options of -L (and -n of -S).
type ListOptions struct {
	Numeric        bool // -n
	Connections    bool // -c
	Timeout        bool // --timeout
	Daemon         bool // --daemon
	Stats          bool // --stats
	Rate           bool // --rate
	Thresholds     bool // --thresholds
	PersistentConn bool // --persistent-conn
	NoSort         bool // --nosort
	Exact          bool // --exact
	TunInfo        bool // --tun-info
}
