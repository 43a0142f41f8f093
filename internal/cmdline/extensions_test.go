package cmdline

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ipvsadm-go/ipvsadm/internal/render"
)

// Without Parser.Extensions the extensions are what 1.31 makes of them.
func TestExtensionsUnknownWithout(t *testing.T) {
	p := &Parser{Argv0: "ipvsadm"}
	for _, args := range [][]string{
		{"-L", "--json"}, {"-L", "--pretty"}, {"-L", "--netns", "x"}, {"-L", "--system"},
		{"-L", "--conn-count", "-c"}, {"-L", "--conn-state", "NONE", "-c"},
	} {
		_, err := p.Parse(args)
		require.Equal(t, &ArgError{Kind: ArgPopt, Msg: args[1] + ": unknown option"}, err, "%q", args)
	}
	_, err := p.Parse([]string{"--help-extensions"})
	require.Equal(t, &ArgError{Kind: ArgTry, Msg: TryMessage("ipvsadm")}, err)
}

func TestExtensionsParse(t *testing.T) {
	p := &Parser{Argv0: "ipvsadm", Extensions: true}
	for _, tc := range []struct {
		args []string
		want func(*Command)
	}{
		{[]string{"-Ln", "--json", "--pretty"}, func(c *Command) { c.List.Numeric = true; c.Ext.JSON, c.Ext.Pretty = true, true }},
		{[]string{"--netns", "lb0", "-L"}, nil}, // the first option must be a command, as in 1.31
		{[]string{"-A", "-t", "1.2.3.4:80", "--netns=/proc/1/ns/net"}, func(c *Command) {
			c.Kind = CmdAddService
			c.HasService = true
			c.Service.Protocol, c.Service.Addr, c.Service.Port = 6, netip.MustParseAddr("1.2.3.4"), 80
			c.Service.Scheduler = DefaultScheduler
			c.Ext.NetNS = "/proc/1/ns/net"
		}},
		{[]string{"-L", "--system"}, func(c *Command) { c.Ext.System = true }},
		{[]string{"-L", "-c", "--conn-virtual", "[2001:db8::1]:80", "--conn-real", "10.0.0.1", "--conn-state", "syn_recv", "--conn-count"}, func(c *Command) {
			c.List.Connections = true
			c.List.Conn = render.ConnFilter{Virtual: netip.MustParseAddrPort("[2001:db8::1]:80"), Real: netip.MustParseAddrPort("10.0.0.1:0"), State: "SYN_RECV", Count: true}
		}},
		{[]string{"-R", "--json"}, func(c *Command) { c.Kind = CmdRestore; c.Ext.JSON = true }},
		{[]string{"--help-extensions", "--bogus"}, func(c *Command) { c.Kind = CmdHelpExtensions }},
	} {
		got, err := p.Parse(tc.args)
		if tc.want == nil {
			require.Error(t, err, "%q", tc.args)
			continue
		}
		require.NoError(t, err, "%q", tc.args)
		want, _ := p.Parse([]string{"-L"})
		if !strings.HasPrefix(tc.args[0], "-L") {
			want = Command{Kind: CmdList}
			want.Service.Family, want.Service.Netmask = 2, 0xffffffff
			want.Dest.Weight, want.Dest.Forward = 1, 3
			want.Daemon.Interface = DefaultMcastInterface
		}
		tc.want(&want)
		if want.Kind == CmdHelpExtensions {
			require.Equal(t, CmdHelpExtensions, got.Kind)
			continue
		}
		require.Equal(t, want, got, "%q", tc.args)
	}
}

func TestDrainParse(t *testing.T) {
	p := &Parser{Argv0: "ipvsadm", Extensions: true}
	c, err := p.Parse([]string{"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "--drain-timeout", "90", "--remove", "--json"})
	require.NoError(t, err)
	require.Equal(t, CmdDrain, c.Kind)
	require.Equal(t, netip.MustParseAddr("10.0.0.2"), c.Dest.Addr)
	require.Equal(t, uint16(80), c.Dest.Port, "the port defaults to the service's, as with -a")
	require.Equal(t, DrainOptions{Timeout: 90 * time.Second, Remove: true}, c.Drain)

	c, err = p.Parse([]string{"--drain", "-f", "7", "-r", "[2001:db8::2]:8080"})
	require.NoError(t, err)
	require.Equal(t, DefaultDrainTimeout, c.Drain.Timeout)
	require.Equal(t, uint32(7), c.Service.FWMark)

	c, err = p.Parse([]string{"--undrain", "-u", "10.0.0.1:53", "-r", "10.0.0.2", "-w", "9"})
	require.NoError(t, err)
	require.Equal(t, CmdUndrain, c.Kind)
	require.Equal(t, int32(9), c.Dest.Weight)
	require.Equal(t, "undrain", c.Kind.String())

	for _, args := range [][]string{
		{"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "--drain-timeout", "-5s"},
		{"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "--drain-timeout", "1fortnight"},
		{"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-m"},
		{"--drain", "-r", "10.0.0.2"},
		{"--undrain", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "--drain-timeout", "5s"},
		{"-L", "--undrain"},
	} {
		_, err := p.Parse(args)
		require.Error(t, err, "%q", args)
	}
	// Without extensions they are unknown, as in 1.31.
	_, err = (&Parser{Argv0: "ipvsadm"}).Parse([]string{"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.2"})
	require.Equal(t, &ArgError{Kind: ArgTry, Msg: TryMessage("ipvsadm")}, err)
	_, err = (&Parser{Argv0: "ipvsadm"}).Parse([]string{"-d", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "--remove"})
	require.Equal(t, &ArgError{Kind: ArgPopt, Msg: "--remove: unknown option"}, err)
}

// FuzzParseDrainTimeout: a value is accepted only as a positive duration,
// and the duration prints back to itself.
func FuzzParseDrainTimeout(f *testing.F) {
	for _, s := range []string{"90", "90s", "1h30m", "0", "-1s", "1.5m", "", "4294967296", "9999999h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseDrainTimeout(s)
		if !ok {
			return
		}
		require.Positive(t, d, "%q", s)
		back, ok := parseDrainTimeout(d.String())
		require.True(t, ok, "%q -> %s", s, d)
		require.Equal(t, d, back)
	})
}
