package cmdline

import (
	"github.com/ipvsadm-go/ipvsadm/internal/plan"
)

// Our extensions of ipvsadm's grammar: long options ipvsadm 1.31 refuses
// ("unknown option"), so that no command line it accepts changes meaning.
// They are known only where they apply (--help-extensions as the command,
// the restore options after -R, --full after -S) and only when the
// Parser's Extensions is set; anywhere else the scanner refuses them
// exactly as popt refuses an unknown option.

// CmdHelpExtensions is --help-extensions, numbered apart from ipvsadm's
// commands.
const CmdHelpExtensions CommandKind = 64

// Extension options; they have no bit in ipvsadm's option matrix.
const (
	optTest optID = optCommand + 1 + iota
	optAtomic
	optReplace
	optDryRun
	optScope
	optFull
)

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

// Checked reports whether any extension mode is set, which replaces
// ipvsadm's line-by-line restore with a checked one.
func (m RestoreMode) Checked() bool { return m.Test || m.Atomic || m.Replace || m.DryRun }

// extensionAllowed reports whether an extension option is known at this
// point of the command line.
func (s *scanner) extensionAllowed(spec *optSpec) bool {
	if !s.ext {
		return false
	}
	switch s.cmd {
	case CmdNone:
		return spec.id == optCommand
	case CmdRestore:
		return spec.id >= optTest && spec.id <= optScope
	case CmdSave:
		return spec.id == optFull
	}
	return false
}

// applyExtension records one extension option.
func (st *parseState) applyExtension(o *occurrence) *ArgError {
	m := &st.cmd.Restore
	switch o.spec.id {
	case optTest:
		m.Test = true
	case optAtomic:
		m.Atomic = true
	case optReplace:
		m.Replace = true
	case optDryRun:
		m.DryRun = true
	case optScope:
		sc, err := plan.ParseScope(o.val)
		if err != nil {
			return failf("%s", err.Error())
		}
		m.Scope = append(m.Scope, sc...)
	case optFull:
		st.cmd.SaveFull = true
	}
	return nil
}

// checkExtensions refuses combinations that mean nothing.
func (st *parseState) checkExtensions() *ArgError {
	m := st.cmd.Restore
	if m.Scope != nil && !m.Replace {
		return failf("--scope needs --replace")
	}
	return nil
}
