// Command ipvsadm administers the Linux kernel's IP Virtual Server (IPVS)
// load balancer. It is a drop-in replacement for ipvsadm 1.31: the same
// commands, options, messages, exit statuses and output formats, speaking
// generic netlink to the kernel directly.
//
// Invoked as ipvsadm-save or ipvsadm-restore it behaves as Debian's
// scripts of those names.
package main

import "os"

// beforeExit runs just before the process exits; a profiling build
// (profile.go, build tag pprof) sets it to write its profile.
var beforeExit = func() {}

func main() {
	code := runProcess()
	beforeExit()
	os.Exit(code)
}
