// Command ipvsadm administers the Linux kernel's IP Virtual Server (IPVS)
// load balancer. It is a drop-in replacement for ipvsadm 1.31: the same
// commands, options, messages, exit statuses and output formats, speaking
// generic netlink to the kernel directly.
//
// Invoked as ipvsadm-save or ipvsadm-restore it behaves as Debian's
// scripts of those names.
package main

import "os"

func main() {
	os.Exit(runProcess())
}
