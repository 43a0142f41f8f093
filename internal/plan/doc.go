// Package plan turns a desired IPVS table into the changes that reach it
// from the live one, and changes into their undo. It works on the table
// model (package rules) only: the caller reads the live table, simulates
// the plan on a clone of it to find what the kernel would refuse, and
// sends the changes.
//
// A plan never flushes: objects present in both tables are edited in
// place, new real servers are added before old ones are deleted, and
// deletions come last, so that nothing that stays is ever missing.
package plan
