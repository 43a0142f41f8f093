package ipvs

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

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
	table, err := parseProcIPVS(strings.NewReader(text))
	require.NoError(t, err)
	dests := func(k procKey) []rules.Destination {
		d, ok := table.lookup(k)
		require.True(t, ok, "%v", k)
		var full []rules.Destination
		for i := range d {
			full = append(full, d[i].Destination())
		}
		return full
	}
	v4 := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	require.Equal(t, []rules.Destination{
		{Family: rules.IPv4, Addr: v4("192.168.1.2"), Port: 8080, Forward: rules.Masquerade, Weight: 3, DestinationCounters: rules.DestinationCounters{ActiveConns: 1, InactiveConns: 2}},
		{Family: rules.IPv4, Addr: v4("192.168.1.1"), Port: 80, Forward: rules.Route},
	}, dests(procKey{proto: rules.TCP, addr: v4("10.0.0.1"), port: 80}))
	require.Equal(t, []rules.Destination{
		{Family: rules.IPv6, Addr: v4("2001:db8:1::10"), Port: 53, Forward: rules.Tunnel, Weight: 1, DestinationCounters: rules.DestinationCounters{InactiveConns: 7}},
	}, dests(procKey{proto: rules.UDP, addr: v4("2001:db8::1"), port: 53}))
	require.Equal(t, []rules.Destination{
		{Family: rules.IPv4, Addr: v4("192.168.1.5"), Forward: rules.Local, Weight: -1},
	}, dests(procKey{fwmark: 7}))
	k := procKey{proto: rules.SCTP, addr: v4("10.0.0.2"), port: 5000}
	require.Empty(t, dests(k))
	// Two fwmark services of mark 9 (IPv4 and IPv6) cannot be told apart.
	_, ok := table.lookup(procKey{fwmark: 9})
	require.False(t, ok)
	_, ok = table.lookup(procKey{fwmark: 10})
	require.False(t, ok, "not in the table")

	for name, bad := range map[string]string{
		"no header":     "TCP  0A000001:0050 wlc\n",
		"bad method":    text[:170] + "  -> C0A80102:1F90      Bypass  3      1          2\n",
		"dest first":    "IP Virtual Server version 1.2.1 (size=4096)\na\nb\n  -> C0A80102:1F90      Masq    3      1          2\n",
		"short address": "IP Virtual Server version 1.2.1 (size=4096)\na\nb\nTCP  0A0001:0050 wlc\n",
		"bad weight":    "IP Virtual Server version 1.2.1 (size=4096)\na\nb\nFWM  00000007 wlc\n  -> C0A80102:1F90      Masq    3x      1          2\n",
		"empty":         "",
		"unknown proto": "IP Virtual Server version 1.2.1 (size=4096)\na\nb\nIP_4 0A000001:0050 wlc\n",
	} {
		_, err := parseProcIPVS(strings.NewReader(bad))
		require.ErrorIs(t, err, errProcFormat, name)
	}
}

// TestParseProcIPVSBlocks checks real servers of services that straddle
// the table's storage blocks.
func TestParseProcIPVSBlocks(t *testing.T) {
	var b strings.Builder
	b.WriteString("IP Virtual Server version 1.2.1 (size=4096)\nProt\n  ->\n")
	const services, reals = 1500, 7 // 10,500 real servers: three blocks
	for i := range services {
		fmt.Fprintf(&b, "TCP  0A00%04X:0050 wlc\n", i)
		for j := range reals {
			fmt.Fprintf(&b, "  -> AC10%04X:1F90      Masq    %d      0          0\n", i, j)
		}
	}
	table, err := parseProcIPVS(strings.NewReader(b.String()))
	require.NoError(t, err)
	for i := range services {
		d, ok := table.lookup(procKey{proto: rules.TCP, addr: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), port: 80})
		require.True(t, ok, i)
		require.Len(t, d, reals, i)
		for j := range d {
			require.Equal(t, netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)}), d[j].Addr(), i)
			require.Equal(t, int32(j), d[j].Weight, i)
		}
	}
}

// FuzzParseProcIPVS checks the /proc parser on arbitrary text (no panics,
// spans inside the table) and its number parsers against strconv's.
func FuzzParseProcIPVS(f *testing.F) {
	f.Add("IP Virtual Server version 1.2.1 (size=4096)\na\nb\nTCP  0A000001:0050 wlc\n  -> C0A80102:1F90      Masq    -3      1          2\n", "-2147483648")
	f.Add("IP Virtual Server version 1.2.1\n\n\nFWM  00000009 rr\nFWM  00000009 rr\n  -> C0A80106:0000 Route 1 0 0\n", "4294967296")
	f.Fuzz(func(t *testing.T, text, num string) {
		table, err := parseProcIPVS(strings.NewReader(text))
		// Reads of any size give the same table: lines that straddle
		// reads are put together.
		small, smallErr := parseProcIPVS(iotest.OneByteReader(strings.NewReader(text)))
		if (err == nil) != (smallErr == nil) {
			t.Fatalf("one-byte reads: error %v, whole text: %v", smallErr, err)
		}
		if err == nil {
			require.Equal(t, table.keys, small.keys)
			require.Equal(t, table.spans, small.spans)
			for i, k := range table.keys {
				d, ok := table.at(i)
				// Capped, so that appending to one service's real
				// servers cannot overwrite another's.
				if ok && cap(d) != len(d) {
					t.Fatalf("span of %v has spare capacity", k)
				}
				// Where the key is unique, lookup finds the same span.
				if ld, lok := table.lookup(k); lok && (!ok || len(ld) != len(d) || len(d) > 0 && &ld[0] != &d[0]) {
					t.Fatalf("lookup(%v) differs from at(%d)", k, i)
				}
			}
		}
		b := []byte(num)
		for _, bits := range []int{16, 32} {
			want, werr := strconv.ParseUint(num, 16, bits)
			got, ok := parseHex(b, bits)
			if ok != (werr == nil && !strings.HasPrefix(num, "+")) || ok && got != want {
				t.Errorf("parseHex(%q, %d) = %d, %v; strconv %d, %v", num, bits, got, ok, want, werr)
			}
		}
		wantS, errS := strconv.ParseInt(num, 10, 32)
		gotS, okS := parseDec(b, true, 32)
		if okS != (errS == nil && !strings.HasPrefix(num, "+")) || okS && gotS != wantS {
			t.Errorf("parseDec(%q, signed) = %d, %v; strconv %d, %v", num, gotS, okS, wantS, errS)
		}
		wantU, errU := strconv.ParseUint(num, 10, 32)
		gotU, okU := parseDec(b, false, 32)
		if okU != (errU == nil && !strings.HasPrefix(num, "+")) || okU && uint64(gotU) != wantU {
			t.Errorf("parseDec(%q) = %d, %v; strconv %d, %v", num, gotU, okU, wantU, errU)
		}
	})
}

// FuzzParseIPv4DestLine checks the fast path for the kernel's IPv4
// real-server lines against the field-by-field parser: whatever it takes,
// the other takes too, with the same result.
func FuzzParseIPv4DestLine(f *testing.F) {
	f.Add("  -> AC100001:1F90      Masq    1      0          0         \n")
	f.Add("  -> C0A80105:0000      Local   -1     0          0         \n")
	f.Add("  -> C0A80105:0000      Tunnel  123456789 4294967295 7\n")
	f.Add("  -> c0a80105:ffff      Route   7      1234567890 0\n")
	f.Fuzz(func(t *testing.T, line string) {
		var fast rules.BriefDestination
		n := parseIPv4DestLine(&fast, []byte(line))
		if n == 0 {
			return
		}
		if n > len(line) || line[n-1] != '\n' || strings.IndexByte(line, '\n') != n-1 {
			t.Fatalf("took %d bytes of %q, not its first line", n, line)
		}
		first, rest := nextField([]byte(line[:n-1]))
		require.Equal(t, "->", string(first))
		var slow rules.BriefDestination
		require.NoError(t, parseProcDest(&slow, rest), "the field-by-field parser refuses %q", line)
		require.Equal(t, slow, fast)
	})
}

// TestParseIPv4DestLineFallback lists lines the fast path leaves to the
// field-by-field parser.
func TestParseIPv4DestLineFallback(t *testing.T) {
	for _, line := range []string{
		"  -> AC100001:1F90      Masq    1      0          0         ",   // no newline yet
		"  -> AC100001:1F90      Masq    1      0          0\t\n",        // a tab
		"  -> AC100001:1F90      Masq    -1     0          0         \n", // negative weight
		"  -> AC100001:1F90      Masq    1      1234567890 0         \n", // ten digits
		"  -> AC10000G:1F90      Masq    1      0          0         \n", // not hexadecimal
		"  -> AC100001:1F90      Bypass  1      0          0         \n",
		"  -> [2001:0db8:0001:0000:0000:0000:0000:0010]:0035      Tunnel  1      0          7         \n",
		"  -> AC100001:1F90      Masq    1      0          0          1\n", // a field too many
		"  -> AC100001:1F90      Masq    1      0\n",
	} {
		var d rules.BriefDestination
		require.Zero(t, parseIPv4DestLine(&d, []byte(line)), "%q", line)
	}
	var d rules.BriefDestination
	line := "  -> AC100001:1F90      Route   7      12         345       \nTCP"
	require.Equal(t, len(line)-3, parseIPv4DestLine(&d, []byte(line)))
	require.Equal(t, rules.BriefDestination{IP: [16]byte{172, 16, 0, 1}, Family: rules.IPv4, Port: 8080, Forward: rules.Route, Weight: 7, ActiveConns: 12, InactiveConns: 345}, d)
}

// FuzzParseIPv4ServiceLine checks the fast path for the kernel's IPv4
// service lines against the field-by-field parser, as
// FuzzParseIPv4DestLine does for real servers.
func FuzzParseIPv4ServiceLine(f *testing.F) {
	f.Add("TCP  0A000001:0050 wlc  \n")
	f.Add("UDP  C0A80001:0035 rr persistent 360 FFFFFFFF\n")
	f.Add("SCTP 0a000002:1388 sh \n")
	f.Fuzz(func(t *testing.T, line string) {
		k, n := parseIPv4ServiceLine([]byte(line))
		if n == 0 {
			return
		}
		if n > len(line) || strings.IndexByte(line, '\n') != n-1 {
			t.Fatalf("took %d bytes of %q, not its first line", n, line)
		}
		p := procParser{t: &procTable{}, n: 3}
		require.NoError(t, p.line([]byte(line[:n-1])), "the field-by-field parser refuses %q", line)
		require.Equal(t, []procKey{k}, p.t.keys)
	})
}
