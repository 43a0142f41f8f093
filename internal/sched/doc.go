// Package sched is the catalogue of IPVS schedulers and scheduler flags:
// the scheduler names ipvsadm knows (in the order of its help text) and the
// parsing and printing of the -b scheduler flags, with ipvsadm 1.31's exact
// rules and messages.
//
// It is internal to the ipvsadm command and not meant for other users.
package sched
