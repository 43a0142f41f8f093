package main

import (
	"bytes"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/cmdline"
	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/sched"
	"github.com/ipvsadm-go/ipvsadm/internal/testkit"
)

// BenchmarkRestoreParse is the reading and parsing of a 12,000-line
// restore (internal/ipvs's BenchmarkBatchQueue is its encoding).
func BenchmarkRestoreParse(b *testing.B) {
	text := testkit.BenchRules(2000, 5)
	parser := &cmdline.Parser{Argv0: "ipvsadm", SchedFlags: sched.ParseFlags}
	b.ReportAllocs()
	for b.Loop() {
		sc := cmdline.NewRestoreScanner(bytes.NewReader(text))
		var cmd cmdline.Command
		for sc.Scan() {
			if err := parser.ParseInto(&cmd, sc.Args()); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkRestoreQueue is a 12,000-line restore's work in user space
// short of the system calls: reading, parsing and queueing every line on
// a batch, which encodes its request.
func BenchmarkRestoreQueue(b *testing.B) {
	text := testkit.BenchRules(2000, 5)
	parser := &cmdline.Parser{Argv0: "ipvsadm", SchedFlags: sched.ParseFlags}
	b.ReportAllocs()
	for b.Loop() {
		// A batch of a client that is never used: nothing is sent.
		batch := new(ipvs.Client).NewBatch()
		sc := cmdline.NewRestoreScanner(bytes.NewReader(text))
		var cmd cmdline.Command
		for sc.Scan() {
			err := parser.ParseInto(&cmd, sc.Args())
			if err != nil || !queueChange(batch, &cmd) {
				b.Fatal(err)
			}
		}
	}
}
