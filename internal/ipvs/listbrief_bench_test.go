package ipvs

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ipvsadm-go/ipvsadm/internal/render"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// benchProcText is /proc/net/ip_vs of benchTable.
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

func BenchmarkListBrief(b *testing.B) {
	k := benchTable(b)
	text := benchProcText()
	c := newClient(&replayTransport{k: k}, pageReadSize)
	c.openBig = func() (transport, error) { return &replayTransport{k: k}, nil }
	c.openProc = func() io.ReadCloser { return io.NopCloser(strings.NewReader(text)) }
	b.ReportAllocs()
	for b.Loop() {
		entries, err := c.Table(true)
		require.NoError(b, err)
		require.Len(b, entries, 10000)
		w := bufio.NewWriterSize(io.Discard, 64<<10)
		render.WriteList(w, rules.Info{}, entries, render.ListOptions{Numeric: true}, nil)
		w.Flush()
	}
}

func BenchmarkParseProcIPVS(b *testing.B) {
	text := benchProcText()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		_, err := parseProcIPVS(strings.NewReader(text))
		require.NoError(b, err)
	}
}
