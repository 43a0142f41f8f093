package render

import (
	"bufio"
	"io"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/testkit"
)

// benchSaveTable is a numeric table of services TCP services with reals
// NAT real servers each, in a shuffled order as a kernel dump has them.
func benchSaveTable(services, reals int) []rules.ServiceEntry {
	rng := rand.New(rand.NewPCG(1, 2))
	entries := make([]rules.ServiceEntry, services)
	for i := range entries {
		dests := make([]rules.Destination, reals)
		for j := range dests {
			k := i*reals + j
			dests[j] = rules.Destination{Family: rules.IPv4,
				Addr: netip.AddrFrom4([4]byte{192, 168, byte(k >> 8), byte(k)}), Port: 8080,
				Forward: rules.Masquerade, Weight: int32(1 + j)}
		}
		entries[i] = rules.ServiceEntry{Service: rules.Service{
			ServiceKey: rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP,
				Addr: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), Port: 80},
			Scheduler: "wlc", Netmask: 0xffffffff}, Dests: dests}
	}
	rng.Shuffle(len(entries), func(i, j int) { entries[i], entries[j] = entries[j], entries[i] })
	return entries
}

// BenchmarkWriteSave is ipvsadm -Sn of 2,000 services with 5 real servers
// each, written to a buffered writer as the command's standard output is.
func BenchmarkWriteSave(b *testing.B) {
	benchWriteSave(b, benchSaveTable(2000, 5))
}

// BenchmarkWriteSaveBrief is BenchmarkWriteSave of a table read in brief,
// as -Sn reads it (real servers in ServiceEntry.Brief).
func BenchmarkWriteSaveBrief(b *testing.B) {
	entries := benchSaveTable(2000, 5)
	testkit.MakeBrief(entries)
	benchWriteSave(b, entries)
}

// benchWriteSave times ipvsadm -Sn of entries.
func benchWriteSave(b *testing.B, entries []rules.ServiceEntry) {
	w := bufio.NewWriterSize(io.Discard, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteSave(w, entries, true, nil); err != nil {
			b.Fatal(err)
		}
		w.Flush()
	}
}
