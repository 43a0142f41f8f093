// Package ipvs is a client for the Linux kernel's "IPVS" generic-netlink
// family: virtual services, real servers, counters, timeouts, sync daemons,
// zeroing and flushing, as ipvsadm 1.31 uses them.
//
// A Client holds one netlink socket and resolves the family once. Its
// errors are *Error values that name the operation and unwrap to the
// kernel's errno, and match this package's sentinels with errors.Is.
//
// This package is internal to the ipvsadm project and not meant for other
// users.
package ipvs
