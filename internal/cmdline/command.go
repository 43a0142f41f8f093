package cmdline

import (
	"github.com/ipvsadm-go/ipvsadm/internal/render"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// A CommandKind is one of ipvsadm's commands.
type CommandKind int

// Commands, named as ipvsadm names them in its messages.
const (
	CmdNone          CommandKind = iota
	CmdAddService                // -A, add-service
	CmdEditService               // -E, edit-service
	CmdDeleteService             // -D, delete-service
	CmdFlush                     // -C, flush
	CmdList                      // -L/-l, list
	CmdAddServer                 // -a, add-server
	CmdDeleteServer              // -d, delete-server
	CmdEditServer                // -e, edit-server
	CmdSetTimeouts               // --set, set
	CmdStartDaemon               // --start-daemon, start-daemon
	CmdStopDaemon                // --stop-daemon, stop-daemon
	CmdRestore                   // -R, restore
	CmdSave                      // -S, save
	CmdZero                      // -Z, zero
	CmdHelp                      // -h
	CmdVersion                   // -v
)

var commandNames = [...]string{
	CmdNone:          "none",
	CmdAddService:    "add-service",
	CmdEditService:   "edit-service",
	CmdDeleteService: "delete-service",
	CmdFlush:         "flush",
	CmdList:          "list",
	CmdAddServer:     "add-server",
	CmdDeleteServer:  "delete-server",
	CmdEditServer:    "edit-server",
	CmdSetTimeouts:   "set",
	CmdStartDaemon:   "start-daemon",
	CmdStopDaemon:    "stop-daemon",
	CmdRestore:       "restore",
	CmdSave:          "save",
	CmdZero:          "zero",
	CmdHelp:          "help",
	CmdVersion:       "version",
}

// The extension commands (extensions.go), numbered apart from ipvsadm's.
const (
	CmdHelpExtensions CommandKind = 100 + iota // --help-extensions
	CmdDrain                                   // --drain: weight 0, wait for the connections to end
	CmdUndrain                                 // --undrain: give a drained real server its weight back
)

// extCommandNames are the extension commands' names, for messages.
var extCommandNames = map[CommandKind]string{
	CmdHelpExtensions: "help-extensions", CmdDrain: "drain", CmdUndrain: "undrain",
}

// String is the name ipvsadm uses for the command in its messages.
func (k CommandKind) String() string {
	if name, ok := extCommandNames[k]; ok {
		return name
	}
	if k >= 0 && int(k) < len(commandNames) {
		return commandNames[k]
	}
	return "unknown"
}

// A Command is one parsed ipvsadm invocation (or one restore line), with
// ipvsadm's defaults applied.
type Command struct {
	Kind CommandKind

	// Service is the virtual service named with -t/-u/--sctp-service/-f,
	// with its options for -A and -E. HasService tells whether one was
	// given at all (it is optional for -L and -Z).
	Service    rules.Service
	HasService bool

	// Dest is the real server of -a/-e/-d.
	Dest rules.Destination

	List     render.ListOptions
	Timeouts rules.Timeouts // --set
	Daemon   rules.Daemon   // --start-daemon / --stop-daemon (State only)

	// Options 1.31 does not have; zero on its command lines. Restore holds
	// the extension options of -R, SaveFull that of -S, Drain those of
	// --drain, Ext the others.
	Restore  RestoreMode
	SaveFull bool
	Drain    DrainOptions
	Ext      Extensions
}
