// Package testkit holds the helpers that tests of several packages share:
// golden files, table fixtures and the benchmark's rule file. It is
// imported only by tests and by the benchmark driver.
package testkit

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// update is the -update flag of every test binary that imports testkit.
var update = flag.Bool("update", false, "rewrite golden files instead of comparing with them")

// Updating reports whether -update was given.
func Updating() bool { return *update }

// Golden checks got against the golden file at path, or rewrites the file
// with -update. Differences are shown with line ends marked by "|", so that
// trailing spaces are visible.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s:\n got:\n%s\nwant:\n%s", path, MarkEnds(string(got)), MarkEnds(string(want)))
	}
}

// MarkEnds makes trailing spaces visible the way the reference document
// does, with "|" at the end of every line.
func MarkEnds(s string) string { return strings.ReplaceAll(s, "\n", "|\n") }

// RefLines splits reference text whose lines end in "|" into plain lines.
func RefLines(t testing.TB, ref string) []string {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(strings.Trim(ref, "\n"), "\n") {
		if !strings.HasSuffix(l, "|") {
			t.Fatalf("reference line %q does not end in |", l)
		}
		lines = append(lines, strings.TrimSuffix(l, "|"))
	}
	return lines
}

// A Table is a kernel dump fixture (testdata/tables/*.json of package
// render): what the kernel reports about IPVS and its services.
type Table struct {
	Info    rules.Info
	Entries []rules.ServiceEntry
}

// LoadTable reads a table fixture.
func LoadTable(t testing.TB, path string) Table {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tt Table
	if err := json.Unmarshal(b, &tt); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return tt
}

// BenchAddr is the n-th (from 0) host address after base, skipping .0 and
// .255.
func BenchAddr(base uint32, n int) string {
	a := base + uint32(n/254)<<8 + uint32(n%254) + 1
	return fmt.Sprintf("%d.%d.%d.%d", a>>24, a>>16&255, a>>8&255, a&255)
}

// BenchRules is the benchmark's rule file, as `ipvsadm -Sn` prints it (same
// order): TCP services on distinct VIPs 10.0.x.y:80, two thirds wlc and one
// third rr, each with reals NAT real servers 172.16.x.y:8080 of weights
// 1..5.
func BenchRules(services, reals int) []byte {
	var b bytes.Buffer
	for i := 0; i < services; i++ {
		vip := BenchAddr(10<<24, i)
		sched := "wlc"
		if i%3 == 2 {
			sched = "rr"
		}
		fmt.Fprintf(&b, "-A -t %s:80 -s %s\n", vip, sched)
		for j := 0; j < reals; j++ {
			fmt.Fprintf(&b, "-a -t %s:80 -r %s:8080 -m -w %d\n", vip, BenchAddr(172<<24|16<<16, i*reals+j), 1+(i+j)%5)
		}
	}
	return b.Bytes()
}

// MakeBrief moves the real servers of entries into their Brief lists, as
// a plain listing reads them (from /proc, without counters).
func MakeBrief(entries []rules.ServiceEntry) {
	for i := range entries {
		e := &entries[i]
		for j := range e.Dests {
			e.Brief = append(e.Brief, e.Dests[j].Brief())
		}
		e.Dests = nil
	}
}
