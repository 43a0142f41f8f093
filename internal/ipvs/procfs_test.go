package ipvs

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

func Test_parseProcIPVS(t *testing.T) {
	text := `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
TCP  0A000001:0050 wlc  
  -> C0A80102:1F90      Masq    3      1          2         
  -> C0A80101:0050      Route   0      0          0         
UDP  [2001:0db8:0000:0000:0000:0000:0000:0001]:0035 rr persistent 75000 80000000
  -> [2001:0db8:0001:0000:0000:0000:0000:0010]:0035      Tunnel  1      0          7         
FWM  00000007 wlc 
  -> C0A80105:0000      Local   -1     0          0         
FWM  00000009 rr 
FWM  00000009 rr 
  -> C0A80106:0000      Route   1      0          0         
SCTP 0A000002:1388 sh  
`
	table, ambiguous, err := parseProcIPVS(strings.NewReader(text))
	require.NoError(t, err)
	v4 := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	require.Equal(t, []rules.Destination{
		{Family: rules.IPv4, Addr: v4("192.168.1.2"), Port: 8080, Forward: rules.Masquerade, Weight: 3, ActiveConns: 1, InactiveConns: 2},
		{Family: rules.IPv4, Addr: v4("192.168.1.1"), Port: 80, Forward: rules.Route},
	}, table[procKey{proto: rules.TCP, addr: v4("10.0.0.1"), port: 80}])
	require.Equal(t, []rules.Destination{
		{Family: rules.IPv6, Addr: v4("2001:db8:1::10"), Port: 53, Forward: rules.Tunnel, Weight: 1, InactiveConns: 7},
	}, table[procKey{proto: rules.UDP, addr: v4("2001:db8::1"), port: 53}])
	require.Equal(t, []rules.Destination{
		{Family: rules.IPv4, Addr: v4("192.168.1.5"), Forward: rules.Local, Weight: -1},
	}, table[procKey{fwmark: 7}])
	k := procKey{proto: rules.SCTP, addr: v4("10.0.0.2"), port: 5000}
	require.Contains(t, table, k)
	require.Empty(t, table[k])
	// Two fwmark services of mark 9 (IPv4 and IPv6) cannot be told apart.
	require.True(t, ambiguous[procKey{fwmark: 9}])
	require.NotContains(t, table, procKey{fwmark: 9})

	for name, bad := range map[string]string{
		"no header":     "TCP  0A000001:0050 wlc\n",
		"bad method":    text[:170] + "  -> C0A80102:1F90      Bypass  3      1          2\n",
		"dest first":    "IP Virtual Server version 1.2.1 (size=4096)\na\nb\n  -> C0A80102:1F90      Masq    3      1          2\n",
		"short address": "IP Virtual Server version 1.2.1 (size=4096)\na\nb\nTCP  0A0001:0050 wlc\n",
		"unknown proto": "IP Virtual Server version 1.2.1 (size=4096)\na\nb\nIP_4 0A000001:0050 wlc\n",
	} {
		_, _, err := parseProcIPVS(strings.NewReader(bad))
		require.ErrorIs(t, err, errProcFormat, name)
	}
}
