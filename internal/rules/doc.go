// Package rules is the model of an IPVS table: virtual services, their real
// servers (destinations), counters, timeouts and sync daemons, independent of
// how they reach the kernel or how they are written as text.
//
// It is the leaf of the project: it imports no netlink code, so the command
// line (package cmdline), the text output (package render) and the kernel
// client (package ipvs) share one vocabulary. Values keep the kernel's units
// (seconds, raw flag bits) and leave presentation to the callers. Settings
// and counters are kept apart (ServiceCounters, DestinationCounters), and
// SameSettings is the one definition of "unchanged".
//
// Table is an in-memory IPVS table with the Linux 6.1 kernel's semantics:
// Apply gives the kernel's result and errno for each change, and the
// listing order the kernel dumps (a differential test in internal/ipvs
// holds it to the real kernel).
package rules
