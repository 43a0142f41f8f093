package ipvs

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nlenc"
	"github.com/stretchr/testify/require"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// A replayKernel answers dumps with datagrams framed once, as the kernel
// sends them (a chunk of messages, then NLMSG_DONE in a datagram of its
// own), so that a benchmark measures the client's user-space work alone:
// the fake kernel's decoding would dwarf it.
type replayKernel struct {
	svcs  [][]byte // the services dump's datagrams, NLMSG_DONE last
	dests [][]byte // every real-server dump's datagrams, NLMSG_DONE last
}

// A replayTransport is one socket on a replayKernel.
type replayTransport struct {
	k     *replayKernel
	queue [][]byte
	seq   uint32
}

func (t *replayTransport) write(b []byte) error {
	t.seq = binary.NativeEndian.Uint32(b[8:])
	switch b[nlmsgHdrLen] {
	case cmdGetService:
		t.queue = t.k.svcs
	case cmdGetDest:
		t.queue = t.k.dests
	}
	return nil
}

func (t *replayTransport) read(b []byte, _ time.Duration) (int, bool, error) {
	d := t.queue[0]
	t.queue = t.queue[1:]
	n := copy(b, d)
	for m := b[:n]; len(m) >= nlmsgHdrLen; {
		binary.NativeEndian.PutUint32(m[8:], t.seq)
		m = m[(binary.NativeEndian.Uint32(m)+3)&^3:]
	}
	return n, n < len(d), nil
}

func (t *replayTransport) close() error { return nil }

// datagrams packs msgs into datagrams of at most size bytes, then the
// dump's NLMSG_DONE alone.
func datagrams(tb testing.TB, msgs []genetlink.Message, size int) [][]byte {
	var out [][]byte
	var d []byte
	for _, m := range multipart(tb, msgs) {
		b := frame(m)
		if len(d) > 0 && (len(d)+len(b) > size || m.Header.Type == netlink.Done) {
			out, d = append(out, d), nil
		}
		d = append(d, b...)
	}
	return append(out, d)
}

// benchTable is the 60,000-line bench table: 10,000 services of 5 real
// servers, with counters as the kernel sends them.
func benchTable(tb testing.TB) *replayKernel {
	var st rules.Stats
	svcs := make([]genetlink.Message, 10000)
	for i := range svcs {
		k := rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), Port: 80}
		svcs[i] = reply(tb, cmdNewService, func(ae *netlink.AttributeEncoder) {
			nest(ae, cmdAttrService, func(ae *netlink.AttributeEncoder) {
				keyAttrs(k)(ae)
				ae.Bytes(svcAttrSchedName, []byte("wlc\x00"))
				ae.Bytes(svcAttrFlags, svcFlags(0))
				ae.Bytes(svcAttrTimeout, nlenc.Uint32Bytes(0))
				ae.Bytes(svcAttrNetmask, mask4("255.255.255.255"))
				nest(ae, svcAttrStats, stats32(st))
				nest(ae, svcAttrStats64, stats64(st))
			})
		})
	}
	dests := make([]genetlink.Message, 5)
	for j := range dests {
		dests[j] = reply(tb, cmdNewDest, func(ae *netlink.AttributeEncoder) {
			nest(ae, cmdAttrDest, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(destAttrAddrFamily, nlenc.Uint16Bytes(2))
				ae.Bytes(destAttrAddr, inetAddr("172.16.0."+string(rune('1'+j))))
				ae.Bytes(destAttrPort, nbo16(8080))
				ae.Bytes(destAttrFwdMethod, nlenc.Uint32Bytes(0))
				ae.Bytes(destAttrWeight, nlenc.Uint32Bytes(1))
				ae.Bytes(destAttrUThresh, nlenc.Uint32Bytes(0))
				ae.Bytes(destAttrLThresh, nlenc.Uint32Bytes(0))
				ae.Bytes(destAttrActiveConns, nlenc.Uint32Bytes(0))
				ae.Bytes(destAttrInactConns, nlenc.Uint32Bytes(0))
				ae.Bytes(destAttrPersistConns, nlenc.Uint32Bytes(0))
				nest(ae, destAttrStats, stats32(st))
				nest(ae, destAttrStats64, stats64(st))
				ae.Bytes(destAttrTunType, []byte{0})
				ae.Bytes(destAttrTunPort, nbo16(0))
				ae.Bytes(destAttrTunFlags, nlenc.Uint16Bytes(0))
			})
		})
	}
	return &replayKernel{svcs: datagrams(tb, svcs, 32<<10), dests: datagrams(tb, dests, pageReadSize)}
}

// replayClient is a client whose sockets, the one for large dumps too,
// replay k.
func replayClient(k *replayKernel) *Client {
	c := newClient(&replayTransport{k: k}, pageReadSize)
	c.openBig = func() (transport, error) { return &replayTransport{k: k}, nil }
	return c
}

// BenchmarkTableStats is Table(false) of the 60,000-line table, every
// service's real servers dumped as for --stats: the client's user-space
// work per listing.
func BenchmarkTableStats(b *testing.B) {
	k := benchTable(b)
	c := replayClient(k)
	b.ReportAllocs()
	for b.Loop() {
		entries, err := c.Table(false)
		require.NoError(b, err)
		require.Len(b, entries, 10000)
		require.Len(b, entries[9999].Dests, 5)
	}
}

// TestTableParallelDumps: real-server dumps spread over several sockets
// give the listing one socket gives, and the sockets stay open for the
// next listing.
func TestTableParallelDumps(t *testing.T) {
	k := benchTable(t)
	serial := replayClient(k)
	want, err := serial.Table(false)
	require.NoError(t, err)
	require.Empty(t, serial.extra)

	parallel := newClient(&replayTransport{k: k}, pageReadSize)
	opened := 0
	parallel.openBig = func() (transport, error) { opened++; return &replayTransport{k: k}, nil }
	parallel.dumpSockets = 4
	for range 2 {
		got, err := parallel.Table(false)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	require.Len(t, parallel.extra, 3)
	require.Equal(t, 4, opened) // the services dump's socket and three for real servers
}

// TestEachEntry: the entries EachEntry hands out one at a time are those
// of Table(false), in its order, and none of them is kept.
func TestEachEntry(t *testing.T) {
	k := benchTable(t)
	want, err := replayClient(k).Table(false)
	require.NoError(t, err)
	var got []rules.ServiceEntry
	var last *rules.ServiceEntry
	require.NoError(t, replayClient(k).EachEntry(func(e *rules.ServiceEntry) {
		if last != nil {
			require.Nil(t, last.Dests, "the previous entry's real servers were let go")
		}
		last = e
		got = append(got, rules.ServiceEntry{Service: e.Service, Dests: slices.Clone(e.Dests)})
	}))
	require.Equal(t, want, got)
}

// benchProcText is /proc/net/ip_vs of benchTable, in the kernel's layout.
func benchProcText() string {
	var b strings.Builder
	b.WriteString("IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n")
	for i := range 10000 {
		fmt.Fprintf(&b, "TCP  0A00%04X:0050 wlc \n", i)
		for j := range 5 {
			fmt.Fprintf(&b, "  -> AC10%04X:1F90      Masq    %-6d 0          0         \n", i*5+j, j+1)
		}
	}
	return b.String()
}

// BenchmarkTableBrief is Table(true) of the 60,000-line table, real
// servers read from /proc as for -Ln and -Sn: the client's user-space work
// per plain listing.
func BenchmarkTableBrief(b *testing.B) {
	k := benchTable(b)
	text := benchProcText()
	c := replayClient(k)
	c.openProc = func() io.ReadCloser { return io.NopCloser(strings.NewReader(text)) }
	b.ReportAllocs()
	for b.Loop() {
		entries, err := c.Table(true)
		require.NoError(b, err)
		require.Len(b, entries, 10000)
		require.Len(b, entries[9999].Brief, 5)
	}
}

// BenchmarkParseProcIPVS parses /proc/net/ip_vs of the 60,000-line table.
func BenchmarkParseProcIPVS(b *testing.B) {
	text := benchProcText()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		_, err := parseProcIPVS(strings.NewReader(text))
		require.NoError(b, err)
	}
}
