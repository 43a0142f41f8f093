package render

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// TestBriefEntries: a table read in brief (real servers in
// ServiceEntry.Brief) lists and saves exactly as the same table with full
// real servers that have only what brief ones keep, in every layout and
// with and without sorting.
func TestBriefEntries(t *testing.T) {
	for _, name := range []string{"b", "f", "h", "i"} {
		table := loadTable(t, name)
		full := make([]rules.ServiceEntry, len(table.Entries))
		brief := make([]rules.ServiceEntry, len(table.Entries))
		for i, e := range table.Entries {
			full[i].Service, brief[i].Service = e.Service, e.Service
			for j := range e.Dests {
				b := e.Dests[j].Brief()
				brief[i].Brief = append(brief[i].Brief, b)
				full[i].Dests = append(full[i].Dests, b.Destination())
			}
		}
		for _, o := range []ListOptions{
			{Numeric: true}, {Numeric: true, NoSort: true}, {Numeric: true, Stats: true},
			{Numeric: true, Rate: true}, {Numeric: true, Thresholds: true},
			{Numeric: true, PersistentConn: true}, {Numeric: true, TunInfo: true},
		} {
			var want, got bytes.Buffer
			WriteList(&want, table.Info, full, o, nil)
			WriteList(&got, table.Info, brief, o, nil)
			require.Equal(t, want.String(), got.String(), "%s %+v", name, o)
		}
		var want, got bytes.Buffer
		require.NoError(t, WriteSave(&want, full, true, nil))
		require.NoError(t, WriteSave(&got, brief, true, nil))
		require.Equal(t, want.String(), got.String(), name)
		require.NotEmpty(t, got.String())
	}
}
