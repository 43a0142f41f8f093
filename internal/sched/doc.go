// Package sched is the catalogue of IPVS schedulers and scheduler flags,
// and a userspace model of each scheduler.
//
// The catalogue holds the scheduler names ipvsadm knows (in the order of
// its help text) and the parsing and printing of the -b scheduler flags,
// with ipvsadm 1.31's exact rules and messages.
//
// A Model computes which real server the kernel's scheduler picks for a
// connection, as Linux 6.1 does on a 64-bit little-endian machine with
// Debian's configuration (sh table of 256 slots, mh table of 4093): exactly
// for the hashing schedulers (sh, dh, mh, with the sh-port, sh-fallback,
// mh-port and mh-fallback flags), for the counting schedulers (lc, wlc,
// sed, nq, fo, ovf) given the counters of the moment, and for rr and wrr
// given their position, which the kernel does not export. lblc and lblcr
// have no model: they depend on a table of recent destinations the kernel
// keeps to itself.
//
// It is internal to the ipvsadm command and not meant for other users.
package sched
