package render

import (
	"fmt"
	"io"
	"slices"

	"github.com/ipvsadm-go/ipvsadm/internal/names"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// WriteSaveFull writes what -S --full saves: the lines of WriteSave with
// each real server's thresholds (-x, -y) when it has any, then the
// connection timeouts as a --set line, then a --start-daemon line per sync
// daemon, master first, with every setting the kernel reports. Every line
// is one that ipvsadm 1.31's -R executes, and the order is stable (sorted
// as -S sorts), so saves of equal tables are equal.
func WriteSaveFull(w io.Writer, entries []rules.ServiceEntry, timeouts rules.Timeouts, daemons []rules.Daemon, numeric bool, r names.Resolver) error {
	cw := NewChunkWriter(w)
	appendSave(&cw, entries, numeric, r, true)
	cw.Next()
	cw.B = fmt.Appendf(cw.B, "--set %d %d %d\n", timeouts.TCP, timeouts.TCPFin, timeouts.UDP)
	daemons = slices.Clone(daemons)
	slices.SortFunc(daemons, func(a, b rules.Daemon) int { return int(a.State) - int(b.State) })
	for i := range daemons {
		cw.Next()
		cw.B = append(appendDaemon(cw.B, &daemons[i]), '\n')
	}
	return cw.Finish()
}
