package render_test

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/cmdline"
	"github.com/ipvsadm-go/ipvsadm/internal/render"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/testkit"
)

// benchListTable is the table of testkit.BenchRules (the VM benchmark's
// rule file), in a shuffled order as a kernel dump has it.
func benchListTable(services, reals int) []rules.ServiceEntry {
	lines, err := cmdline.ReadRestoreLines(bytes.NewReader(testkit.BenchRules(services, reals)))
	if err != nil {
		panic(err)
	}
	parser := &cmdline.Parser{Argv0: "ipvsadm"}
	var entries []rules.ServiceEntry
	for _, args := range lines {
		cmd, err := parser.Parse(args)
		if err != nil {
			panic(err)
		}
		switch cmd.Kind {
		case cmdline.CmdAddService:
			entries = append(entries, rules.ServiceEntry{Service: cmd.Service})
		case cmdline.CmdAddServer:
			last := &entries[len(entries)-1]
			last.Dests = append(last.Dests, cmd.Dest)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(entries), func(i, j int) { entries[i], entries[j] = entries[j], entries[i] })
	return entries
}

// BenchmarkWriteList is ipvsadm -Ln of 2,000 services with 5 real servers
// each, written to a buffered writer as run's standard output is.
func BenchmarkWriteList(b *testing.B) {
	benchWriteList(b, benchListTable(2000, 5))
}

// BenchmarkWriteListStats is ipvsadm -Ln --stats of BenchmarkWriteList's
// table, with counters of every size (abbreviated from 100,000 on).
func BenchmarkWriteListStats(b *testing.B) {
	entries := benchListTable(2000, 5)
	n := uint64(1)
	for i := range entries {
		for j := range entries[i].Dests {
			d := &entries[i].Dests[j]
			n = n*2862933555777941757 + 3037000493
			st := rules.Stats{Conns: n >> 40, InPkts: n >> 30, OutPkts: n >> 32, InBytes: n >> 20, OutBytes: n >> 22}
			d.Stats, d.Stats64 = st, st
		}
	}
	benchWriteListWith(b, entries, render.ListOptions{Numeric: true, Stats: true})
}

// benchWriteList times ipvsadm -Ln of entries.
func benchWriteList(b *testing.B, entries []rules.ServiceEntry) {
	benchWriteListWith(b, entries, render.ListOptions{Numeric: true})
}

// benchWriteListWith times ipvsadm -L with o of entries.
func benchWriteListWith(b *testing.B, entries []rules.ServiceEntry, o render.ListOptions) {
	info := rules.Info{Version: 0x010201, ConnTableSize: 4096}
	w := bufio.NewWriterSize(io.Discard, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		render.WriteList(w, info, entries, o, nil)
		w.Flush()
	}
}

// BenchmarkWriteListBrief is BenchmarkWriteList of a table read in brief,
// as -Ln reads it (real servers in ServiceEntry.Brief).
func BenchmarkWriteListBrief(b *testing.B) {
	entries := benchListTable(2000, 5)
	testkit.MakeBrief(entries)
	benchWriteList(b, entries)
}
