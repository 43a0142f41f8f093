// Package rules is the model of an IPVS table: virtual services, their real
// servers (destinations), counters, timeouts and sync daemons, independent of
// how they reach the kernel.
//
// It is the leaf of the project: it imports no netlink code, so the
// save/restore text format, the command line and the kernel client all share
// one vocabulary. Values keep the kernel's units (seconds, raw flag bits) and
// leave presentation to the callers.
//
// Table is an in-memory IPVS table with the Linux 6.1 kernel's semantics:
// Apply gives the kernel's result and errno for each change, and the
// listing order the kernel dumps (a differential test in internal/ipvs
// holds it to the real kernel).
package rules
