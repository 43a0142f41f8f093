package render

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteConnCounts renders -L -c --conn-count (an extension): how many
// connections passed the filter, then by state and by protocol, each
// sorted by name.
func WriteConnCounts(w io.Writer, total uint64, byState, byProtocol map[string]uint64) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "IPVS connection counts\ntotal %d\n", total)
	for _, group := range []struct {
		name   string
		counts map[string]uint64
	}{{"state", byState}, {"protocol", byProtocol}} {
		keys := make([]string, 0, len(group.counts))
		for k := range group.counts {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&sb, "%s %s %d\n", group.name, k, group.counts[k])
		}
	}
	io.WriteString(w, sb.String())
}
