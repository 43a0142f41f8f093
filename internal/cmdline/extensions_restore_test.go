package cmdline

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ipvsadm-go/ipvsadm/internal/plan"
)

func extParser() *Parser {
	p := testParser()
	p.Extensions = true
	return p
}

// The extensions are known only where they apply; everywhere else they
// are refused exactly as ipvsadm 1.31 refuses them.
func TestExtensionsOnlyWhereTheyApply(t *testing.T) {
	try := "Try `ipvsadm -h' or 'ipvsadm --help' for more information."
	tests := []struct {
		args string
		kind ArgErrorKind
		msg  string
	}{
		{"--test", ArgTry, try},
		{"--full -S", ArgTry, try},
		{"-A -t 10.0.0.1:80 --test", ArgPopt, "--test: unknown option"},
		{"-L --full", ArgPopt, "--full: unknown option"},
		{"-R --full", ArgPopt, "--full: unknown option"},
		{"-S --replace", ArgPopt, "--replace: unknown option"},
		{"-L --help-extensions", ArgPopt, "--help-extensions: unknown option"},
		{"-R --help-extensions", ArgPopt, "--help-extensions: unknown option"},
		{"-Z --scope 10.0.0.0/8", ArgPopt, "--scope: unknown option"},
		{"-R --scope 10.0.0.0/8", ArgFail, "--scope needs --replace"},
		{"-R --replace --scope", ArgPopt, "--scope: missing argument"},
		{"-R --replace --scope 300.0.0.0/8", ArgFail, "invalid --scope item `300.0.0.0/8': want an address prefix"},
		{"-R --test=1", ArgPopt, "--test=1: option does not take an argument"},
		{"-R --test -n", ArgFail, "Illegal 'numeric' option with the 'restore' command"},
	}
	for _, tc := range tests {
		t.Run(tc.args, func(t *testing.T) {
			_, err := extParser().Parse(strings.Fields(tc.args))
			var ae *ArgError
			require.ErrorAs(t, err, &ae)
			require.Equal(t, tc.msg, ae.Msg)
			require.Equal(t, tc.kind, ae.Kind)
		})
	}
	// Without Extensions (ipvsadm's own grammar, and restore lines) they
	// are unknown even after -R and -S.
	for _, args := range []string{"-R --test", "-S --full", "-R --replace --scope 10.0.0.0/8"} {
		_, err := testParser().Parse(strings.Fields(args))
		var ae *ArgError
		require.ErrorAs(t, err, &ae)
		require.Equal(t, ArgPopt, ae.Kind, args)
		require.True(t, strings.HasSuffix(ae.Msg, ": unknown option"), ae.Msg)
	}
	_, err := testParser().Parse([]string{"--help-extensions"})
	require.EqualError(t, err, try)
}

func TestRestoreExtensionsParse(t *testing.T) {
	cmd, err := extParser().Parse(strings.Fields("-R --replace --atomic --test --dry-run --scope 10.0.0.0/8,fwmark:3 --scope=::1"))
	require.NoError(t, err)
	require.Equal(t, CmdRestore, cmd.Kind)
	require.Equal(t, RestoreMode{Test: true, Atomic: true, Replace: true, DryRun: true, Scope: plan.Scope{
		{Prefix: netip.MustParsePrefix("10.0.0.0/8")}, {FWMarkLo: 3, FWMarkHi: 3}, {Prefix: netip.MustParsePrefix("::1/128")},
	}}, cmd.Restore)
	require.True(t, cmd.Restore.Checked())

	cmd, err = extParser().Parse(strings.Fields("-S --full -n"))
	require.NoError(t, err)
	require.True(t, cmd.SaveFull)
	require.True(t, cmd.List.Numeric)

	cmd, err = extParser().Parse([]string{"--help-extensions", "--bogus"})
	require.NoError(t, err)
	require.Equal(t, CmdHelpExtensions, cmd.Kind)

	cmd, err = extParser().Parse([]string{"-R"})
	require.NoError(t, err)
	require.False(t, cmd.Restore.Checked())
}
