package rules

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBriefDestination: a real server kept in brief comes back with its
// identity, method, weight and connection counts, and nothing else.
func TestBriefDestination(t *testing.T) {
	for _, tt := range []struct {
		d, want Destination
	}{
		{
			d:    Destination{Family: IPv4, Addr: netip.MustParseAddr("10.1.2.3"), Port: 80, Forward: Route, Weight: -1, UpperThreshold: 9, DestinationCounters: DestinationCounters{ActiveConns: 1, InactiveConns: 2, PersistentConns: 3, Stats: Stats{Conns: 4}}},
			want: Destination{Family: IPv4, Addr: netip.MustParseAddr("10.1.2.3"), Port: 80, Forward: Route, Weight: -1, DestinationCounters: DestinationCounters{ActiveConns: 1, InactiveConns: 2}},
		},
		{
			d:    Destination{Family: IPv6, Addr: netip.MustParseAddr("2001:db8::1"), Port: 443, Forward: Masquerade, Weight: 7},
			want: Destination{Family: IPv6, Addr: netip.MustParseAddr("2001:db8::1"), Port: 443, Forward: Masquerade, Weight: 7},
		},
		{
			d:    Destination{Family: IPv6, Addr: netip.MustParseAddr("::ffff:10.0.0.1"), Forward: Tunnel, TunnelType: TunnelGUE},
			want: Destination{Family: IPv6, Addr: netip.MustParseAddr("::ffff:10.0.0.1"), Forward: Tunnel},
		},
		{
			d:    Destination{Addr: netip.MustParseAddr("2001:db8::2"), Port: 1},
			want: Destination{Family: IPv6, Addr: netip.MustParseAddr("2001:db8::2"), Port: 1},
		},
	} {
		b := tt.d.Brief()
		require.Equal(t, tt.want.Addr, b.Addr())
		require.Equal(t, tt.want, b.Destination())
	}
	e := ServiceEntry{Brief: []BriefDestination{{Family: IPv4, Port: 1}, {Family: IPv4, Port: 2}}}
	require.Equal(t, 2, e.NumDests())
	require.Len(t, e.AppendDests(nil), 2)
}
