package cmdline

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ipvsadm-go/ipvsadm/internal/plan"
	"github.com/ipvsadm-go/ipvsadm/internal/sched"
)

// This file holds the options of this ipvsadm that ipvsadm 1.31 does not
// have. All are long options that 1.31 refuses as unknown, so no 1.31
// command line changes meaning: they have no option bit (ipvsadm's option
// checks and messages are untouched), are known only with
// Parser.Extensions, and are checked after everything 1.31 checks. The
// restore options are known only after -R and --full only after -S, and
// --help-extensions, --drain and --undrain only as the command, and the
// drain's options only after --drain: elsewhere the scanner refuses
// them exactly as popt refuses an unknown option.

// An extOption is one extension option.
type extOption int

const (
	extNone extOption = iota
	extJSON
	extPretty
	extNetNS
	extSystem
	extConnVirtual
	extConnReal
	extConnState
	extConnCount
	extTest
	extAtomic
	extReplace
	extDryRun
	extScope
	extFull
	extDrainTimeout
	extRemove
	extPredict
	extWith
	extWithout
	numExtOptions
)

// extNames are the extensions' option names, for messages.
var extNames = [numExtOptions]string{
	extJSON: "json", extPretty: "pretty", extNetNS: "netns", extSystem: "system",
	extConnVirtual: "conn-virtual", extConnReal: "conn-real", extConnState: "conn-state",
	extConnCount: "conn-count", extTest: "test", extAtomic: "atomic", extReplace: "replace",
	extDryRun: "dry-run", extScope: "scope", extFull: "full",
	extDrainTimeout: "drain-timeout", extRemove: "remove",
	extPredict: "predict", extWith: "with", extWithout: "without",
}

// Extensions are the extension options of a command line.
type Extensions struct {
	JSON   bool   // --json: JSON output, and JSON input for -R
	Pretty bool   // --pretty: indented JSON
	NetNS  string // --netns NAME|PATH: the network namespace to work on
	System bool   // -L --system: the system view
	// Predict is -L SERVICE --predict with its what-if options.
	Predict Prediction
}

// A Prediction is what --predict, --with and --without ask: the clients
// of a service's scheduler to predict and the hypothetical changes of its
// real servers.
type Prediction struct {
	// Clients are the --predict values in order: client sets (checked
	// here), or "@FILE" and "-" (standard input) for lists that the
	// command reads.
	Clients []string
	What    sched.WhatIf
}

// Active reports whether a prediction was asked for.
func (p Prediction) Active() bool { return p.Clients != nil }

// A RestoreMode is how -R applies its input when extension options are
// given; the zero RestoreMode is ipvsadm's own restore.
type RestoreMode struct {
	Test    bool // check everything, change nothing
	Atomic  bool // check first, then apply all or nothing
	Replace bool // the input is the desired table: apply the difference
	DryRun  bool // print the plan, change nothing
	// Scope limits what --replace may edit or delete; nil is everything.
	Scope plan.Scope
}

// DefaultDrainTimeout is how long --drain waits without --drain-timeout:
// long enough for UDP entries to expire after their last packet (the
// default UDP timeout is 300 seconds) and for most TCP requests to end.
const DefaultDrainTimeout = 10 * time.Minute

// DrainOptions are the options of --drain.
type DrainOptions struct {
	Timeout time.Duration // --drain-timeout: how long to wait at most
	Remove  bool          // --remove: delete the real server once drained
}

// Checked reports whether any extension mode is set, which replaces
// ipvsadm's line-by-line restore with a checked one.
func (m RestoreMode) Checked() bool { return m.Test || m.Atomic || m.Replace || m.DryRun }

// isExtension reports whether spec is an option 1.31 does not have.
func isExtension(spec *optSpec) bool {
	return spec.id == optExtension || spec.id == optCommand && spec.cmd >= CmdHelpExtensions
}

// extensionAllowed reports whether an extension option is known at this
// point of the command line.
func (s *scanner) extensionAllowed(spec *optSpec) bool {
	switch {
	case !s.ext:
		return false
	case spec.id == optCommand:
		return s.cmd == CmdNone
	}
	return spec.where == CmdNone || spec.where == s.cmd
}

// applyExtension records one extension option.
func (st *parseState) applyExtension(o *occurrence) *ArgError {
	x := o.spec.ext
	if st.extGiven[x] {
		return failf("multiple '--%s' options specified", extNames[x])
	}
	st.extGiven[x], st.anyExt = true, true
	c := st.cmd
	switch x {
	case extJSON:
		c.Ext.JSON = true
	case extPretty:
		c.Ext.Pretty = true
	case extNetNS:
		if o.val == "" {
			return failf("--netns needs a namespace name (under /run/netns) or the path of a namespace file")
		}
		c.Ext.NetNS = o.val
	case extSystem:
		c.Ext.System = true
	case extConnVirtual, extConnReal:
		ap, ok := parseEndpoint(o.val)
		if !ok {
			return failf("--%s needs a numeric address, address:port or [address]:port, not `%s'", extNames[x], o.val)
		}
		if x == extConnVirtual {
			c.List.Conn.Virtual = ap
		} else {
			c.List.Conn.Real = ap
		}
	case extConnState:
		if o.val == "" || strings.ContainsAny(o.val, " \t\n") {
			return failf("--conn-state needs a connection state such as ESTABLISHED, not `%s'", o.val)
		}
		c.List.Conn.State = strings.ToUpper(o.val)
	case extConnCount:
		c.List.Conn.Count = true
	case extTest:
		c.Restore.Test = true
	case extAtomic:
		c.Restore.Atomic = true
	case extReplace:
		c.Restore.Replace = true
	case extDryRun:
		c.Restore.DryRun = true
	case extScope:
		sc, err := plan.ParseScope(o.val)
		if err != nil {
			return failf("%s", err.Error())
		}
		c.Restore.Scope = append(c.Restore.Scope, sc...)
		st.extGiven[x] = false // --scope may repeat
	case extFull:
		c.SaveFull = true
	case extDrainTimeout:
		d, ok := parseDrainTimeout(o.val)
		if !ok {
			return failf("--drain-timeout needs a positive duration such as 90s, 10m or 1h30m (a plain number is seconds), not `%s'", o.val)
		}
		c.Drain.Timeout = d
	case extRemove:
		c.Drain.Remove = true
	case extPredict:
		if o.val == "" || o.val != "-" && !strings.HasPrefix(o.val, "@") {
			if _, err := sched.ParseClientSet(o.val); err != nil {
				return failf("--predict: %s, a list as @FILE or - (standard input)", err.Error())
			}
		} else if o.val == "@" {
			return failf("--predict: @ needs a file name")
		}
		c.Ext.Predict.Clients = append(c.Ext.Predict.Clients, o.val)
		st.extGiven[x] = false // may repeat
	case extWithout:
		ap, ok := parseEndpoint(o.val)
		if !ok {
			return failf("--without needs a real server as ADDR, ADDR:PORT or [ADDR]:PORT, not `%s'", o.val)
		}
		c.Ext.Predict.What.Without = append(c.Ext.Predict.What.Without, ap)
		st.extGiven[x] = false
	case extWith:
		rs, w, _ := strings.Cut(o.val, "=")
		ap, ok := parseEndpoint(rs)
		weight, err := strconv.ParseInt(w, 10, 32)
		if !ok || err != nil || weight < 0 {
			return failf("--with needs a real server and a weight as ADDR[:PORT]=WEIGHT ([ADDR]:PORT=WEIGHT for IPv6), the weight 0 to 2147483647, not `%s'", o.val)
		}
		c.Ext.Predict.What.With = append(c.Ext.Predict.What.With, sched.Reweight{Server: ap, Weight: int32(weight)})
		st.extGiven[x] = false
	}
	return nil
}

// parseDrainTimeout parses a positive duration: Go's form (90s, 1m30s)
// or whole seconds.
func parseDrainTimeout(s string) (time.Duration, bool) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return time.Duration(n) * time.Second, n > 0
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d > 0
}

// parseEndpoint parses a numeric address with an optional port: 10.0.0.1,
// 10.0.0.1:80, 2001:db8::1, [2001:db8::1]:80. Port 0 stands for any.
func parseEndpoint(s string) (netip.AddrPort, bool) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return netip.AddrPortFrom(a.Unmap(), 0), true
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Addr().Zone() != "" {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// checkExtensions refuses extension options where they mean nothing. It
// runs after ipvsadm's own checks, so a line that 1.31 refuses is refused
// with 1.31's message first.
func (st *parseState) checkExtensions() *ArgError {
	c := st.cmd
	// Every check below is about an extension option, but --drain's
	// default.
	if !st.anyExt && c.Kind != CmdDrain {
		return nil
	}
	if c.Ext.Pretty && !c.Ext.JSON {
		return failf("--pretty only indents the output of --json")
	}
	if c.Ext.Pretty && c.List.Connections && !c.List.Conn.Count {
		return failf("--pretty does not apply to -L -c --json, which writes one connection per line")
	}
	if c.Ext.JSON && c.Kind == CmdSave {
		return failf("-S writes ipvsadm's rules; use -L --json for the table as JSON")
	}
	l := &c.List
	if c.Ext.System && (c.Kind != CmdList || l.Connections || l.Timeout || l.Daemon || c.HasService ||
		l.Stats || l.Rate || l.Thresholds || l.PersistentConn || l.TunInfo) {
		return failf("--system is a view of its own: use it as -L --system [-n] [--json]")
	}
	if l.Conn.Active() && (c.Kind != CmdList || !l.Connections) {
		return failf("--conn-virtual, --conn-real, --conn-state and --conn-count select connections of -L -c")
	}
	if c.Restore.Scope != nil && !c.Restore.Replace {
		return failf("--scope needs --replace")
	}
	if c.Kind == CmdDrain {
		if c.Ext.Pretty {
			return failf("--pretty does not apply to --drain --json, which writes one event per line")
		}
		if c.Drain.Timeout == 0 {
			c.Drain.Timeout = DefaultDrainTimeout
		}
	}
	pr := &c.Ext.Predict
	if !pr.Active() && !pr.What.Empty() {
		return failf("--with and --without are what-ifs of --predict")
	}
	if pr.Active() && (c.Kind != CmdList || !c.HasService || l.Connections || l.Timeout || l.Daemon || c.Ext.System) {
		return failf("--predict asks about one virtual service: use it as -L -t|-u|--sctp-service|-f SERVICE --predict CLIENTS")
	}
	stdin := 0
	for _, v := range pr.Clients {
		if v == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return failf("--predict -: standard input can be read once")
	}
	return nil
}
