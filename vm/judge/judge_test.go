package main

import (
	"bytes"
	"cmp"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestJudge judges recorded results (testdata/CASE: test2json streams of
// real test binaries, their exit statuses, the guest's "done" marker) and
// compares the report with testdata/CASE/judge.golden.
func TestJudge(t *testing.T) {
	tests := []struct {
		name     string // the directory under testdata
		golden   string // default judge.golden
		names    []string
		vmStatus int
		pass     bool
	}{
		{name: "pass", names: []string{"alpha", "beta"}, pass: true},
		{name: "skip", names: []string{"alpha"}},
		{name: "fail", names: []string{"alpha"}, vmStatus: 1},
		{name: "crash", names: []string{"alpha"}, vmStatus: 1},
		{name: "exit", names: []string{"alpha"}, vmStatus: 1},
		{name: "no-tests", names: []string{"alpha"}},
		{name: "never-reported", names: []string{"alpha", "beta"}, vmStatus: vmNeverReported},
		{name: "deadline", names: []string{"alpha", "beta"}, vmStatus: 1},
		// Everything passed, but the run is judged against its packages:
		// one that never came back fails it.
		{name: "pass", golden: "judge-missing.golden", names: []string{"alpha", "beta", "gamma"}},
	}
	for _, tt := range tests {
		dir := filepath.Join("testdata", tt.name)
		golden := filepath.Join(dir, cmp.Or(tt.golden, "judge.golden"))
		t.Run(tt.name+"/"+filepath.Base(golden), func(t *testing.T) {
			var out bytes.Buffer
			passed := readRun(dir, tt.names, tt.vmStatus).report(&out, "6.1.0-test")
			if passed != tt.pass {
				t.Errorf("%s: passed = %v, want %v", tt.name, passed, tt.pass)
			}
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("%s: report differs from %s (go test -update to accept):\n%s", tt.name, golden, out.String())
			}
		})
	}
}
