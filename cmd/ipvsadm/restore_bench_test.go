package main

import (
	"bytes"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/benchrules"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/sched"
)

// BenchmarkRestoreParse is the reading and parsing of a 12,000-line
// restore (internal/ipvs's BenchmarkBatchQueue is its encoding).
func BenchmarkRestoreParse(b *testing.B) {
	text := benchrules.Rules(2000, 5)
	parser := &rules.Parser{Argv0: "ipvsadm", SchedFlags: sched.ParseFlags}
	b.ReportAllocs()
	for b.Loop() {
		sc := rules.NewRestoreScanner(bytes.NewReader(text))
		for sc.Scan() {
			if _, err := parser.Parse(sc.Args()); err != nil {
				b.Fatal(err)
			}
		}
	}
}
