package cmdline

import (
	"fmt"
	"math/bits"
	"net/netip"
	"strings"

	"github.com/ipvsadm-go/ipvsadm/internal/cparse"
	"github.com/ipvsadm-go/ipvsadm/internal/names"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// This file is ipvsadm 1.31's command-line grammar: popt's option scanning
// (clusters, optional arguments, "--", positionals), ipvsadm's value
// parsers and its validation order, with its exact messages. The same
// grammar parses each line of a restore.

// An ArgErrorKind tells how ipvsadm reacts to a refused command line.
type ArgErrorKind int

const (
	// ArgTry: the first option is not a command. ipvsadm prints the "Try"
	// hint and exits 255; a restore stops.
	ArgTry ArgErrorKind = iota
	// ArgPopt: popt refused an option (unknown, missing or unwanted
	// argument). Exit 255; a restore skips the line and goes on.
	ArgPopt
	// ArgFail: ipvsadm refused a value or combination. Exit 2; a restore
	// stops.
	ArgFail
)

// An ArgError is a command line ipvsadm refuses. Its Error text is exactly
// what ipvsadm prints, without the final newline.
type ArgError struct {
	Kind ArgErrorKind
	Msg  string
}

func (e *ArgError) Error() string { return e.Msg }

// ExitStatus is ipvsadm's exit status for the error.
func (e *ArgError) ExitStatus() int {
	if e.Kind == ArgFail {
		return 2
	}
	return 255
}

func failf(format string, a ...any) *ArgError {
	return &ArgError{Kind: ArgFail, Msg: fmt.Sprintf(format, a...)}
}

// TryMessage is ipvsadm's hint for a command line without a command.
func TryMessage(argv0 string) string {
	return fmt.Sprintf("Try `%s -h' or '%s --help' for more information.", argv0, argv0)
}

// Limits and defaults of ipvsadm 1.31 (Debian).
const (
	DefaultScheduler         = "wlc"
	DefaultPersistentTimeout = 360 // seconds, for -p without a value
	MaxTimeout               = 2678400
	DefaultMcastInterface    = "eth0"
	maxWeight                = 2147483647
)

type argKind int

const (
	argNone argKind = iota
	argRequired
	argOptional
)

// An optID is an option; those below numOptBits are ipvsadm's option bits,
// in the order its option check walks them.
type optID int

const (
	optNumeric optID = iota
	optConnection
	optService
	optScheduler
	optPersistent
	optNetmask
	optRealServer
	optForward
	optWeight
	optUThreshold
	optLThreshold
	optMcastIfn
	optTimeout
	optDaemon
	optStats
	optRate
	optThresholds
	optPersistConn
	optNoSort
	optSyncID
	optExact
	optOps
	optPE
	optSchedFlags
	optMcastGroup
	optMcastPort
	optMcastTTL
	optSyncMaxlen
	optTunInfo
	optTunType
	optTunPort
	optTunNoCsum
	optTunCsum
	optTunRemCsum
	numOptBits

	optIPv6 // -6: no bit, may repeat
	optSort // --sort: no bit, does nothing
	optCommand
	optExtension // an option 1.31 does not have: see extensions.go
)

// optNames are the option names used in ipvsadm's messages.
var optNames = [numOptBits]string{
	"numeric", "connection", "service-address", "scheduler", "persistent",
	"netmask", "real-server", "forwarding-method", "weight", "u-threshold",
	"l-threshold", "mcast-interface", "timeout", "daemon", "stats", "rate",
	"thresholds", "persistent-conn", "nosort", "syncid", "exact", "ops", "pe",
	"sched-flags", "mcast-group", "mcast-port", "mcast-ttl", "sync-maxlen",
	"tun-info", "tun-type", "tun-port", "tun-nocsum", "tun-csum", "tun-remcsum",
}

// optionMatrix is ipvsadm's command × option table, one character per
// option bit: '+' required, 'x' illegal, '1' mutually exclusive, '.'
// optional.
var optionMatrix = map[CommandKind]string{
	CmdAddService:    "xx+...xxxxxxxxxxxxxxx...xxxxxxxxxx",
	CmdEditService:   "xx+...xxxxxxxxxxxxxxx...xxxxxxxxxx",
	CmdDeleteService: "xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	CmdFlush:         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	CmdList:          ".11xxxxxxxxx11.......xxxxxxx.xxxxx",
	CmdAddServer:     "xx+xxx+....xxxxxxxxxxxxxxxxxx.....",
	CmdDeleteServer:  "xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx",
	CmdEditServer:    "xx+xxx+....xxxxxxxxxxxxxxxxxx.....",
	CmdSetTimeouts:   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	CmdStartDaemon:   "xxxxxxxxxxx.xxxxxxx.xxxx....xxxxxx",
	CmdStopDaemon:    "xxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxx",
	CmdRestore:       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	CmdSave:          ".xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	CmdZero:          "xx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	// Extensions: a drain names one real server, as -d does; an undrain
	// also needs the weight to give back.
	CmdDrain:   "xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx",
	CmdUndrain: "xx+xxx+x+xxxxxxxxxxxxxxxxxxxxxxxxx",
}

// An optSet is a set of option bits.
type optSet uint64

// The option bits fit an optSet.
var _ [64 - numOptBits]struct{}

func (s optSet) has(id optID) bool { return s&(1<<id) != 0 }

// rowMasks is a row of an option table as sets: its '+', 'x' and '1'
// options.
type rowMasks struct{ required, illegal, exclusive optSet }

func masksOf(row string, cols []optID) (m rowMasks) {
	for i, id := range cols {
		switch row[i] {
		case '+':
			m.required |= 1 << id
		case 'x':
			m.illegal |= 1 << id
		case '1':
			m.exclusive |= 1 << id
		}
	}
	return m
}

// pass reports whether checkRow finds no problem with the options given:
// every required one, no illegal one, at most one of the exclusive ones.
func (m rowMasks) pass(given optSet) bool {
	return given&m.required == m.required && given&m.illegal == 0 && bits.OnesCount64(uint64(given&m.exclusive)) <= 1
}

// optionRowMasks are the rows of optionMatrix as masks.
var optionRowMasks = func() (masks [CmdUndrain + 1]rowMasks) {
	for k, row := range optionMatrix {
		masks[k] = masksOf(row, allOptions[:])
	}
	return masks
}()

// optionRows is optionMatrix as an array indexed by command, for the
// lookup of every restore line; "" for commands without a row.
var optionRows = func() (rows [CmdUndrain + 1]string) {
	for k, row := range optionMatrix {
		rows[k] = row
	}
	return rows
}()

// An optSpec is one entry of the option table.
type optSpec struct {
	long  string
	short byte
	arg   argKind
	id    optID
	cmd   CommandKind    // for id == optCommand
	proto rules.Protocol // -t/-u/--sctp-service; 0 with -f
	fwd   rules.ForwardMethod
	// ext is our extension's number (id optExtension); where, if set, is
	// the one command after which it is known (elsewhere it is refused
	// as popt refuses an unknown option).
	ext   extOption
	where CommandKind
}

var optTable = []optSpec{
	{long: "add-service", short: 'A', id: optCommand, cmd: CmdAddService},
	{long: "edit-service", short: 'E', id: optCommand, cmd: CmdEditService},
	{long: "delete-service", short: 'D', id: optCommand, cmd: CmdDeleteService},
	{long: "clear", short: 'C', id: optCommand, cmd: CmdFlush},
	{long: "list", short: 'L', id: optCommand, cmd: CmdList},
	{short: 'l', id: optCommand, cmd: CmdList},
	{long: "add-server", short: 'a', id: optCommand, cmd: CmdAddServer},
	{long: "delete-server", short: 'd', id: optCommand, cmd: CmdDeleteServer},
	{long: "edit-server", short: 'e', id: optCommand, cmd: CmdEditServer},
	{long: "set", id: optCommand, cmd: CmdSetTimeouts},
	{long: "start-daemon", arg: argRequired, id: optCommand, cmd: CmdStartDaemon},
	{long: "stop-daemon", arg: argRequired, id: optCommand, cmd: CmdStopDaemon},
	{long: "restore", short: 'R', id: optCommand, cmd: CmdRestore},
	{long: "save", short: 'S', id: optCommand, cmd: CmdSave},
	{long: "zero", short: 'Z', id: optCommand, cmd: CmdZero},
	{long: "help", short: 'h', id: optCommand, cmd: CmdHelp},
	{long: "version", short: 'v', id: optCommand, cmd: CmdVersion},

	{long: "numeric", short: 'n', id: optNumeric},
	{long: "connection", short: 'c', id: optConnection},
	{long: "tcp-service", short: 't', arg: argRequired, id: optService, proto: rules.TCP},
	{long: "udp-service", short: 'u', arg: argRequired, id: optService, proto: rules.UDP},
	{long: "sctp-service", arg: argRequired, id: optService, proto: rules.SCTP},
	{long: "fwmark-service", short: 'f', arg: argRequired, id: optService},
	{long: "scheduler", short: 's', arg: argRequired, id: optScheduler},
	{long: "persistent", short: 'p', arg: argOptional, id: optPersistent},
	{long: "netmask", short: 'M', arg: argRequired, id: optNetmask},
	{long: "real-server", short: 'r', arg: argRequired, id: optRealServer},
	{long: "gatewaying", short: 'g', id: optForward, fwd: rules.Route},
	{long: "ipip", short: 'i', id: optForward, fwd: rules.Tunnel},
	{long: "masquerading", short: 'm', id: optForward, fwd: rules.Masquerade},
	{long: "weight", short: 'w', arg: argRequired, id: optWeight},
	{long: "u-threshold", short: 'x', arg: argRequired, id: optUThreshold},
	{long: "l-threshold", short: 'y', arg: argRequired, id: optLThreshold},
	{long: "mcast-interface", arg: argRequired, id: optMcastIfn},
	{long: "timeout", id: optTimeout},
	{long: "daemon", id: optDaemon},
	{long: "stats", id: optStats},
	{long: "rate", id: optRate},
	{long: "thresholds", id: optThresholds},
	{long: "persistent-conn", id: optPersistConn},
	{long: "nosort", id: optNoSort},
	{long: "syncid", arg: argRequired, id: optSyncID},
	{long: "exact", short: 'X', id: optExact},
	{long: "ops", short: 'o', id: optOps},
	{long: "pe", arg: argRequired, id: optPE},
	{long: "sched-flags", short: 'b', arg: argRequired, id: optSchedFlags},
	{long: "mcast-group", arg: argRequired, id: optMcastGroup},
	{long: "mcast-port", arg: argRequired, id: optMcastPort},
	{long: "mcast-ttl", arg: argRequired, id: optMcastTTL},
	{long: "sync-maxlen", arg: argRequired, id: optSyncMaxlen},
	{long: "tun-info", id: optTunInfo},
	{long: "tun-type", arg: argRequired, id: optTunType},
	{long: "tun-port", arg: argRequired, id: optTunPort},
	{long: "tun-nocsum", id: optTunNoCsum},
	{long: "tun-csum", id: optTunCsum},
	{long: "tun-remcsum", id: optTunRemCsum},
	{long: "ipv6", short: '6', id: optIPv6},
	{long: "sort", id: optSort},
	// Extensions (extensions.go): known only with Parser.Extensions,
	// else unknown as in 1.31.
	{long: "help-extensions", id: optCommand, cmd: CmdHelpExtensions},
	{long: "json", id: optExtension, ext: extJSON},
	{long: "pretty", id: optExtension, ext: extPretty},
	{long: "netns", arg: argRequired, id: optExtension, ext: extNetNS},
	{long: "system", id: optExtension, ext: extSystem},
	{long: "conn-virtual", arg: argRequired, id: optExtension, ext: extConnVirtual},
	{long: "conn-real", arg: argRequired, id: optExtension, ext: extConnReal},
	{long: "conn-state", arg: argRequired, id: optExtension, ext: extConnState},
	{long: "conn-count", id: optExtension, ext: extConnCount},
	{long: "test", id: optExtension, ext: extTest, where: CmdRestore},
	{long: "atomic", id: optExtension, ext: extAtomic, where: CmdRestore},
	{long: "replace", id: optExtension, ext: extReplace, where: CmdRestore},
	{long: "dry-run", id: optExtension, ext: extDryRun, where: CmdRestore},
	{long: "scope", arg: argRequired, id: optExtension, ext: extScope, where: CmdRestore},
	{long: "full", id: optExtension, ext: extFull, where: CmdSave},
	{long: "drain", id: optCommand, cmd: CmdDrain},
	{long: "undrain", id: optCommand, cmd: CmdUndrain},
	{long: "drain-timeout", arg: argRequired, id: optExtension, ext: extDrainTimeout, where: CmdDrain},
	{long: "remove", id: optExtension, ext: extRemove, where: CmdDrain},
	{long: "predict", arg: argRequired, id: optExtension, ext: extPredict, where: CmdList},
	{long: "with", arg: argRequired, id: optExtension, ext: extWith, where: CmdList},
	{long: "without", arg: argRequired, id: optExtension, ext: extWithout, where: CmdList},
}

func lookupLong(name string) *optSpec {
	for i := range optTable {
		if optTable[i].long != "" && optTable[i].long == name {
			return &optTable[i]
		}
	}
	return nil
}

func lookupShort(c byte) *optSpec { return shortOptions[c] }

// shortOptions indexes optTable by short option letter.
var shortOptions = func() (index [256]*optSpec) {
	for i := range optTable {
		if c := optTable[i].short; c != 0 && index[c] == nil {
			index[c] = &optTable[i]
		}
	}
	return index
}()

// A Parser parses ipvsadm command lines. It is not safe for concurrent
// use.
type Parser struct {
	// Argv0 is the program name as invoked; it appears in the "Try" hint.
	Argv0 string
	// Resolver looks up host and service names; nil resolves nothing.
	Resolver names.Resolver
	// SchedFlags parses a -b value for the given scheduler, returning an
	// error whose text is ipvsadm's message (see package sched). Nil
	// refuses any non-empty -b.
	SchedFlags func(scheduler, text string) (rules.ServiceFlags, error)
	// Extensions enables our options that ipvsadm 1.31 refuses (see
	// extensions.go); without it they are unknown, as to ipvsadm. A
	// restore's lines are parsed without them.
	Extensions bool
	// PosixlyCorrect stops option scanning at the first argument that is
	// not an option, as popt does when POSIXLY_CORRECT or POSIX_ME_HARDER
	// is set in the environment (the caller decides).
	PosixlyCorrect bool

	// serviceAddr remembers the last service address parsed: a restore's
	// lines name the same service over and over.
	serviceAddr addrMemo
}

// An addrMemo is parseAddrPort with a memory of its last numeric result.
// Only a result found without the resolver is kept, so the memory never
// stands in for a lookup, whose answer may change.
type addrMemo struct {
	text    string
	proto   rules.Protocol
	defPort uint16
	addr    netip.Addr
	port    uint16
	valid   bool
}

func (m *addrMemo) parse(text string, p rules.Protocol, defPort uint16, r names.Resolver) (netip.Addr, uint16, bool) {
	if m.valid && text == m.text && p == m.proto && defPort == m.defPort {
		return m.addr, m.port, true
	}
	// Without the resolver parseAddrPort consults nothing, and when it
	// succeeds so, the resolver would not have been asked either.
	if addr, port, ok := parseAddrPort(text, p, defPort, nil); ok {
		*m = addrMemo{text: text, proto: p, defPort: defPort, addr: addr, port: port, valid: true}
		return addr, port, true
	}
	return parseAddrPort(text, p, defPort, r)
}

// maxPositional is how many positional arguments the scanner keeps.
const maxPositional = 4

// scanner walks argv the way popt does.
type scanner struct {
	args       []string
	i          int
	cluster    string // the short-option cluster being read
	pos        int    // next character of cluster
	dashdash   bool
	posix      bool // the first non-option ends option scanning
	positional []string
	dropped    map[int]bool // elements taken by "!#:+", not positional
	// ext enables our extension options; cmd is the command once the
	// first option named it (see extensionAllowed).
	ext bool
	cmd CommandKind
}

// occurrence is one option found on the command line.
type occurrence struct {
	spec   *optSpec
	val    string
	hasVal bool
	elem   string // the argv element it came from, for messages
	last   string // the last argv element it consumed (popt's "bad option")
}

func poptError(elem, what string) *ArgError {
	return &ArgError{Kind: ArgPopt, Msg: elem + ": " + what}
}

// next reads the next option into *o; ok is false at the end. *o is the
// caller's, filled in place: returning occurrences by value copied them
// twice per option, a good part of parsing a restore line in the test VM.
// After an error or at the end, *o is undefined.
func (s *scanner) next(o *occurrence) (ok bool, err *ArgError) {
	for {
		if s.cluster != "" && s.pos < len(s.cluster) {
			return s.nextShort(o)
		}
		s.cluster = ""
		if s.i >= len(s.args) {
			return false, nil
		}
		e := s.args[s.i]
		s.i++
		switch {
		case s.dashdash || e == "-" || !strings.HasPrefix(e, "-"):
			// An element taken by "!#:+" is skipped altogether.
			if !s.dropped[s.i-1] {
				// Only the first few matter (--set's three, then one to
				// name in "unexpected argument"); a line of millions of
				// words must not be held twice.
				if len(s.positional) < maxPositional {
					s.positional = append(s.positional, e)
				}
				s.dashdash = s.dashdash || s.posix
			}
		case e == "--":
			s.dashdash = true
		case strings.HasPrefix(e, "--"):
			return s.nextLong(e, o)
		default:
			s.cluster, s.pos = e, 1
		}
	}
}

func (s *scanner) nextLong(e string, o *occurrence) (bool, *ArgError) {
	name, val, hasEq := strings.Cut(e[2:], "=")
	spec := lookupLong(name)
	if spec == nil || isExtension(spec) && !s.extensionAllowed(spec) {
		return false, poptError(e, "unknown option")
	}
	*o = occurrence{spec: spec, elem: e, last: e}
	switch spec.arg {
	case argNone:
		if hasEq {
			return false, poptError(e, "option does not take an argument")
		}
	case argRequired:
		if hasEq {
			o.val, o.hasVal = val, true
		} else if s.i < len(s.args) {
			s.takeNext(o)
		} else {
			return false, poptError(e, "missing argument")
		}
	case argOptional:
		if hasEq {
			o.val, o.hasVal = val, true
		} else if s.i < len(s.args) && !strings.HasPrefix(s.args[s.i], "-") {
			s.takeNext(o)
		}
	}
	s.expand(o)
	return true, nil
}

// takeNext makes the next argv element the option's argument.
func (s *scanner) takeNext(o *occurrence) {
	o.val, o.hasVal, o.last = s.args[s.i], true, s.args[s.i]
	s.i++
}

func (s *scanner) nextShort(o *occurrence) (bool, *ArgError) {
	e := s.cluster
	c := e[s.pos]
	s.pos++
	spec := lookupShort(c)
	if spec == nil {
		s.cluster = ""
		return false, poptError(e, "unknown option")
	}
	*o = occurrence{spec: spec, elem: e, last: e}
	rest := e[s.pos:]
	switch spec.arg {
	case argNone:
		if strings.HasPrefix(rest, "=") {
			s.cluster = ""
			return false, poptError(e, "option does not take an argument")
		}
		return true, nil
	case argRequired:
		s.cluster = ""
		if rest != "" {
			o.val, o.hasVal = strings.TrimPrefix(rest, "="), true
		} else if s.i < len(s.args) {
			s.takeNext(o)
		} else {
			return false, poptError(e, "missing argument")
		}
	case argOptional:
		s.cluster = ""
		if rest != "" {
			o.val, o.hasVal = strings.TrimPrefix(rest, "="), true
		} else if s.i < len(s.args) && !strings.HasPrefix(s.args[s.i], "-") {
			s.takeNext(o)
		}
	}
	s.expand(o)
	return true, nil
}

// expand applies popt's "!#:+" substitution: in an option argument it
// stands for the next argv element that does not start with '-'. That
// element is found once per argument (every "!#:+" in it gets the same
// word) and is then only dropped from the positional arguments: an
// option that takes the next element as its argument still gets it.
func (s *scanner) expand(o *occurrence) {
	// IndexByte first: it is much the cheaper search, and restore lines
	// hardly ever hold a '!'.
	if !o.hasVal || strings.IndexByte(o.val, '!') < 0 || !strings.Contains(o.val, "!#:+") {
		return
	}
	for j := s.i; j < len(s.args); j++ {
		if !strings.HasPrefix(s.args[j], "-") {
			o.val = strings.ReplaceAll(o.val, "!#:+", s.args[j])
			if s.dropped == nil {
				s.dropped = make(map[int]bool)
			}
			s.dropped[j] = true
			return
		}
	}
}

// parseState is what ipvsadm accumulates while reading options.
type parseState struct {
	p       *Parser
	cmd     *Command
	given   optSet
	proto   rules.Protocol // protocol for service-name lookups: TCP for -f
	bflags  string
	tunType rules.TunnelType
	// extGiven are the extension options seen (extensions.go); anyExt
	// tells whether there is one.
	extGiven [numExtOptions]bool
	anyExt   bool
}

// Parse parses the arguments after the program name. An empty argument
// list lists the table, as ipvsadm does. Errors are *ArgError.
func (p *Parser) Parse(args []string) (Command, error) {
	var cmd Command
	if err := p.ParseInto(&cmd, args); err != nil {
		return Command{}, err
	}
	return cmd, nil
}

// ParseInto is Parse writing the command to *cmd, all of which it sets;
// after an error *cmd is undefined. A restore parses every line into one
// Command: a Command is large, and copying it for each of tens of
// thousands of lines is a good part of the restore's work.
func (p *Parser) ParseInto(cmd *Command, args []string) error {
	*cmd = Command{}
	if len(args) == 0 {
		cmd.Kind = CmdList
		return nil
	}
	st := parseState{p: p, cmd: cmd}
	cmd.Service.Family = rules.IPv4
	cmd.Service.Netmask = 0xffffffff
	cmd.Dest.Weight = 1
	cmd.Dest.Forward = rules.Route
	cmd.Daemon.Interface = DefaultMcastInterface

	sc := scanner{args: args, posix: p.PosixlyCorrect, ext: p.Extensions}
	var first occurrence
	ok, perr := sc.next(&first)
	if perr != nil || !ok || first.spec.id != optCommand {
		return &ArgError{Kind: ArgTry, Msg: TryMessage(p.Argv0)}
	}
	cmd.Kind = first.spec.cmd
	sc.cmd = cmd.Kind
	switch cmd.Kind {
	case CmdHelp, CmdVersion, CmdHelpExtensions:
		return nil
	case CmdStartDaemon, CmdStopDaemon:
		switch first.val {
		case "master":
			cmd.Daemon.State = rules.Master
		case "backup":
			cmd.Daemon.State = rules.Backup
		default:
			if cmd.Kind == CmdStartDaemon {
				return failf("illegal start-daemon parameter specified")
			}
			return failf("illegal start_daemon specified")
		}
	}

	var o occurrence
	for {
		ok, perr := sc.next(&o)
		if perr != nil {
			return perr
		}
		if !ok {
			break
		}
		if err := st.apply(&o); err != nil {
			return err
		}
	}
	if err := st.finish(sc.positional); err != nil {
		return err
	}
	if err := st.checkExtensions(); err != nil {
		return err
	}
	return nil
}

// apply records one option, checking its value as ipvsadm does.
func (st *parseState) apply(o *occurrence) *ArgError {
	id := o.spec.id
	if id == optCommand {
		return failf("invalid option `%s'", o.last)
	}
	if id < numOptBits {
		if st.given.has(id) {
			return failf("multiple '%s' options specified", optNames[id])
		}
		st.given |= 1 << id
	}
	c := st.cmd
	svc := &c.Service
	if id == optExtension {
		return st.applyExtension(o)
	}
	if id < numOptBits && numericOptions[id].msg != "" {
		n := &numericOptions[id]
		v, ok := cparse.StringToNumber(o.val, n.min, n.max)
		if !ok {
			return failf("%s", n.msg)
		}
		c.setNumber(id, v)
		return nil
	}
	switch id {
	case optNumeric:
		c.List.Numeric = true
	case optConnection:
		c.List.Connections = true
	case optTimeout:
		c.List.Timeout = true
	case optDaemon:
		c.List.Daemon = true
	case optStats:
		c.List.Stats = true
	case optRate:
		c.List.Rate = true
	case optThresholds:
		c.List.Thresholds = true
	case optPersistConn:
		c.List.PersistentConn = true
	case optNoSort:
		c.List.NoSort = true
	case optExact:
		c.List.Exact = true
	case optTunInfo:
		c.List.TunInfo = true
	case optSort:
	case optService:
		c.HasService = true
		if o.spec.long == "fwmark-service" {
			v, ok := cparse.StringToNumber(o.val, 1, 4294967295)
			if !ok {
				return failf("invalid fwmark value `%s' specified", o.val)
			}
			svc.FWMark = uint32(v)
			svc.Family = rules.IPv4
			st.proto = rules.TCP
			return nil
		}
		st.proto = o.spec.proto
		addr, port, ok := st.p.serviceAddr.parse(o.val, st.proto, svc.Port, st.p.Resolver)
		if !ok {
			return failf("illegal virtual server address[:port] specified")
		}
		svc.Protocol, svc.Addr, svc.Port = o.spec.proto, addr, port
		svc.Family = rules.FamilyOf(addr)
		if svc.Family == rules.IPv6 {
			svc.Netmask = 128
		}
	case optIPv6:
		if svc.FWMark == 0 {
			return failf("-6 used before -f\n")
		}
		svc.Family, svc.Netmask = rules.IPv6, 128
	case optScheduler:
		svc.Scheduler = truncate(o.val, 15)
	case optPersistent:
		svc.Flags |= rules.FlagPersistent
		svc.Timeout = DefaultPersistentTimeout
		if o.hasVal {
			v, ok := cparse.StringToNumber(o.val, 1, MaxTimeout)
			if !ok {
				return failf("invalid timeout value `%s' specified", o.val)
			}
			svc.Timeout = uint32(v)
		}
	case optNetmask:
		if svc.Family == rules.IPv6 {
			v := cparse.Atoi(o.val)
			if v < 1 || v > 128 {
				return failf("illegal ipv6 netmask specified")
			}
			svc.Netmask = uint32(v)
			return nil
		}
		a, ok := cparse.InetAton(o.val)
		if !ok && st.p.Resolver != nil {
			a, ok = st.p.Resolver.LookupHost4(o.val)
		}
		if !ok {
			return failf("illegal virtual server persistent mask specified")
		}
		b := a.As4()
		svc.Netmask = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	case optRealServer:
		addr, port, ok := parseAddrPort(o.val, st.proto, svc.Port, st.p.Resolver)
		if !ok {
			return failf("illegal real server address[:port] specified")
		}
		c.Dest.Addr, c.Dest.Port, c.Dest.Family = addr, port, rules.FamilyOf(addr)
	case optForward:
		c.Dest.Forward = o.spec.fwd
	case optMcastIfn:
		c.Daemon.Interface = truncate(o.val, 15)
	case optOps:
		svc.Flags |= rules.FlagOnePacket
	case optPE:
		svc.PE = truncate(o.val, 16)
	case optSchedFlags:
		st.bflags = truncate(o.val, 127)
	case optMcastGroup:
		if strings.Contains(o.val, ":") {
			a, ok := cparse.InetPton6(o.val)
			// IN6_IS_ADDR_MULTICAST looks at the first byte only, so a
			// v4-mapped group is not multicast.
			if !ok || a.As16()[0] != 0xff {
				return failf("invalid IPv6 mcast-group `%s'", o.val)
			}
			c.Daemon.Group = a
			return nil
		}
		a, ok := cparse.InetPton4(o.val)
		if !ok || !a.IsMulticast() {
			return failf("invalid IPv4 mcast-group `%s'", o.val)
		}
		c.Daemon.Group = a
	case optTunType:
		switch o.val {
		case "ipip":
			st.tunType = rules.TunnelIPIP
		case "gue":
			st.tunType = rules.TunnelGUE
		case "gre":
			st.tunType = rules.TunnelGRE
		default:
			return failf("illegal tunnel type specified")
		}
		c.Dest.TunnelType = st.tunType
	case optTunNoCsum:
		c.Dest.TunnelFlags = rules.TunnelNoChecksum
	case optTunCsum:
		c.Dest.TunnelFlags = rules.TunnelChecksum
	case optTunRemCsum:
		c.Dest.TunnelFlags = rules.TunnelRemoteChecksum
	}
	return nil
}

// numericOptions are the options whose value is a whole number in a
// range, with ipvsadm's message for anything else; the others have no
// message.
var numericOptions = [numOptBits]struct {
	min, max int64
	msg      string
}{
	optWeight:     {0, maxWeight, "illegal weight specified"},
	optUThreshold: {0, maxWeight, "illegal u_threshold specified"},
	optLThreshold: {0, maxWeight, "illegal l_threshold specified"},
	optSyncID:     {0, 255, "illegal syncid specified"},
	optMcastPort:  {1, 65535, "illegal mcast-port specified"},
	optMcastTTL:   {1, 255, "illegal mcast-ttl specified"},
	optSyncMaxlen: {1, 65507, "illegal sync-maxlen specified"},
	optTunPort:    {1, 65535, "illegal tunnel port specified"},
}

// setNumber stores the value of a numeric option, already range-checked.
func (c *Command) setNumber(id optID, v int64) {
	switch id {
	case optWeight:
		c.Dest.Weight = int32(v)
	case optUThreshold:
		c.Dest.UpperThreshold = uint32(v)
	case optLThreshold:
		c.Dest.LowerThreshold = uint32(v)
	case optSyncID:
		c.Daemon.SyncID = uint32(v)
	case optMcastPort:
		c.Daemon.Port = uint16(v)
	case optMcastTTL:
		c.Daemon.TTL = uint8(v)
	case optSyncMaxlen:
		c.Daemon.SyncMaxLen = uint16(v)
	case optTunPort:
		c.Dest.TunnelPort = uint16(v)
	}
}

// truncate keeps the first n bytes, as ipvsadm's fixed-size copies do.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// finish runs ipvsadm's checks that follow option parsing, in its order.
func (st *parseState) finish(positional []string) *ArgError {
	c := st.cmd
	if c.Kind == CmdSetTimeouts {
		if len(positional) < 3 {
			return failf("--set option requires 3 timeout values")
		}
		var v [3]uint32
		for i := range v {
			n, ok := cparse.StringToNumber(positional[i], 0, MaxTimeout)
			if !ok {
				return failf("invalid timeout value `%s' specified", positional[i])
			}
			v[i] = uint32(n)
		}
		c.Timeouts = rules.Timeouts{TCP: v[0], TCPFin: v[1], UDP: v[2]}
		positional = positional[3:]
	}
	if len(positional) > 0 {
		return failf("unexpected argument %s", positional[0])
	}
	if st.given.has(optSchedFlags) {
		sched := c.Service.Scheduler
		if sched == "" {
			sched = DefaultScheduler
		}
		var flags rules.ServiceFlags
		switch {
		case st.p.SchedFlags != nil:
			f, err := st.p.SchedFlags(sched, st.bflags)
			if err != nil {
				return failf("%s", err.Error())
			}
			flags = f
		case st.bflags != "":
			return failf("invalid scheduler flag `%s'", st.bflags)
		}
		c.Service.Flags = c.Service.Flags&^rules.FlagsSched | flags&rules.FlagsSched
	}
	if err := st.checkOptions(); err != nil {
		return err
	}
	if c.Daemon.Interface == "" {
		c.Daemon.Interface = DefaultMcastInterface
	}
	svc := &c.Service
	switch c.Kind {
	case CmdAddService, CmdEditService:
		if svc.Scheduler == "" {
			svc.Scheduler = DefaultScheduler
		}
		if svc.FWMark == 0 && svc.Port == 0 && !st.given.has(optPersistent) {
			return failf("Zero port specified for non-persistent service")
		}
		if svc.Flags&rules.FlagOnePacket != 0 && svc.FWMark == 0 && svc.Protocol != rules.UDP {
			return failf("One-Packet Scheduling is only for UDP virtual services")
		}
	case CmdAddServer, CmdEditServer:
		d := &c.Dest
		if svc.FWMark == 0 && (d.Forward == rules.Route || d.Forward == rules.Tunnel) {
			d.Port = svc.Port
		}
		if d.Family != svc.Family && d.Forward != rules.Tunnel {
			return failf("Different address family is allowed only for tunneling servers")
		}
		if st.anyTunnelOption() && d.Forward != rules.Tunnel {
			return failf("Tunnel options conflict with forward method")
		}
		if err := st.checkTunnel(); err != nil {
			return err
		}
	case CmdList:
		l := c.List
		if (l.Connections || l.Timeout || l.Daemon) && (l.Stats || l.Rate || l.Thresholds) ||
			(l.Timeout || l.Daemon) && l.PersistentConn {
			return failf("options conflicts in the list command")
		}
	}
	return nil
}

// checkOptions is ipvsadm's generic option check over the command's row
// of optionMatrix.
func (st *parseState) checkOptions() *ArgError {
	row := optionRows[st.cmd.Kind]
	if row == "" {
		return nil
	}
	// Most lines pass: tell that from the row's masks at once, and walk
	// the row only to find the message.
	if optionRowMasks[st.cmd.Kind].pass(st.given) {
		return nil
	}
	return st.checkRow(row, allOptions[:], func() string { return fmt.Sprintf("'%s' command", st.cmd.Kind) })
}

// allOptions are the columns of optionMatrix.
var allOptions = func() (cols [numOptBits]optID) {
	for i := range cols {
		cols[i] = optID(i)
	}
	return cols
}()

// checkRow walks one row of ipvsadm's option tables ('+' required, 'x'
// illegal, '1' mutually exclusive, '.' optional) over the options cols;
// the first problem in column order wins. where gives the end of the
// messages ("'list' command", "'gue' tunnel type"), built only for one.
func (st *parseState) checkRow(row string, cols []optID, whereText func() string) *ArgError {
	exclusive := optID(-1)
	for i, id := range cols {
		given := st.given.has(id)
		switch row[i] {
		case '+':
			if !given {
				return failf("You need to supply the '%s' option for the %s", optNames[id], whereText())
			}
		case 'x':
			if given {
				return failf("Illegal '%s' option with the %s", optNames[id], whereText())
			}
		case '1':
			if given {
				if exclusive >= 0 {
					return failf("The option '%s' conflicts with the '%s' option in the %s", optNames[id], optNames[exclusive], whereText())
				}
				exclusive = id
			}
		}
	}
	return nil
}

func (st *parseState) anyTunnelOption() bool {
	return st.given&(1<<optTunType|1<<optTunPort|1<<optTunNoCsum|1<<optTunCsum|1<<optTunRemCsum) != 0
}

// tunnelMatrix is ipvsadm's tunnel-type × option table over tun-port,
// tun-nocsum, tun-csum and tun-remcsum.
var tunnelMatrix = map[rules.TunnelType]string{
	rules.TunnelIPIP: "xxxx",
	rules.TunnelGUE:  "+111",
	rules.TunnelGRE:  "x11x",
}

func (st *parseState) checkTunnel() *ArgError {
	if st.cmd.Dest.Forward != rules.Tunnel {
		return nil
	}
	cols := []optID{optTunPort, optTunNoCsum, optTunCsum, optTunRemCsum}
	return st.checkRow(tunnelMatrix[st.tunType], cols, func() string { return fmt.Sprintf("'%s' tunnel type", st.tunType) })
}

// allDigits reports whether s is made of decimal digits only (or empty).
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseAddrPort parses host[:port] as ipvsadm's parse_service does, with
// its quirks: unbracketed IPv6 never has a port, a bracketed non-IPv6 host
// loses its port, hosts resolve to IPv4 only, port names resolve for the
// given protocol. defPort is the port when none is given.
func parseAddrPort(text string, p rules.Protocol, defPort uint16, r names.Resolver) (netip.Addr, uint16, bool) {
	if allDigits(text) {
		return netip.Addr{}, 0, false
	}
	host, portText, hasPort := text, "", false
	if strings.HasPrefix(text, "[") {
		end := strings.IndexByte(text, ']')
		if end < 0 || end+1 >= len(text) || text[end+1] != ':' {
			return netip.Addr{}, 0, false
		}
		host, portText, hasPort = text[1:end], text[end+2:], true
	}
	var addr netip.Addr
	if a, ok := cparse.InetPton6(host); ok {
		addr = a
	} else {
		// The port is whatever follows the last colon of the host text,
		// so "[1.2.3.4]:80" has none.
		portText, hasPort = "", false
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			host, portText, hasPort = host[:i], host[i+1:], true
		}
		a, ok := cparse.InetAton(host)
		if !ok && r != nil {
			a, ok = r.LookupHost4(host)
		}
		if !ok {
			return netip.Addr{}, 0, false
		}
		addr = a
	}
	if !hasPort {
		return addr, defPort, true
	}
	if v, ok := cparse.StringToNumber(portText, 0, 65535); ok {
		return addr, uint16(v), true
	}
	if r != nil && (p == rules.TCP || p == rules.UDP || p == rules.SCTP) {
		if v, ok := r.LookupPort(portText, p); ok {
			return addr, v, true
		}
	}
	return netip.Addr{}, 0, false
}
