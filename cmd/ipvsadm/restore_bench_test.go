package main

import (
	"bytes"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/sched"
)

// BenchmarkRestoreUserPath is the user-space part of a 12,000-line
// restore: tokenizing, parsing and encoding every line, nothing sent.
func BenchmarkRestoreUserPath(b *testing.B) {
	text := benchRules(2000, 5)
	parser := &rules.Parser{Argv0: "ipvsadm", SchedFlags: sched.ParseFlags}
	var c ipvs.Client
	b.ReportAllocs()
	for b.Loop() {
		sc := rules.NewRestoreScanner(bytes.NewReader(text))
		batch := c.NewBatch()
		for sc.Scan() {
			cmd, err := parser.Parse(sc.Args())
			if err != nil {
				b.Fatal(err)
			}
			queueChange(batch, cmd)
		}
	}
}
