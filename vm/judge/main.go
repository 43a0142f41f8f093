// Command judge decides whether a kernel-test run in the VM passed, from
// the test2json event streams of the test binaries (vm/vm.sh kernel-test
// runs it on the host; see vm/README.md).
//
//	judge [-vm-status N] [-kernel VERSION] DIR NAME...
//
// DIR holds what the guest's run-kernel-tests brought back, converted on
// the host: for every NAME, NAME.json (go tool test2json -t of the
// binary's -test.v=test2json output; -t also gives the elapsed times) and
// NAME.status (the binary's exit status), and the file "done" that the
// guest writes after the last binary. -vm-status
// is vm/vm.sh run's exit status (125: the VM never reported one).
//
// The run passes only when the guest reported, every binary ran and exited
// 0, at least one top-level TestKernel* test passed in every package, and no
// test failed, was skipped (inside the VM a skip means a missing kernel
// feature) or was left unfinished. It prints a summary per package, the
// output of every test that did not pass, and exits 0 (passed), 1 (failed)
// or 2 (usage).
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	fs := flag.NewFlagSet("judge", flag.ContinueOnError)
	vmStatus := fs.Int("vm-status", 0, "exit status of vm/vm.sh run (125: the VM never reported)")
	kernel := fs.String("kernel", "", "kernel version, for the summary")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: judge [-vm-status N] [-kernel VERSION] DIR NAME...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if fs.NArg() < 2 {
		fs.Usage()
		os.Exit(2)
	}
	r := readRun(fs.Arg(0), fs.Args()[1:], *vmStatus)
	if !r.report(os.Stdout, *kernel) {
		os.Exit(1)
	}
}
