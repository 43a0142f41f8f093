package main

import (
	"os"
	"runtime/debug"
)

// restoreHeapLimit is the memory a plain restore lets the runtime take
// before the garbage collector runs: a 60,000-line restore stays under
// it, and the peak stays well under issue 13's 32 MiB.
const restoreHeapLimit = 24 << 20

// collectLess lets the heap grow to restoreHeapLimit before the garbage
// collector runs, unless GOGC or GOMEMLIMIT set the collector's pace. A
// plain restore keeps little (the lines in flight) but allocates for each
// line, and under the default pace the collector's runs took a sixth of
// a 60,000-line restore's user time in the test VM; this way such a
// restore needs none. The returned function puts the collector's pace
// back; it may be called more than once.
func collectLess() (undo func()) {
	_, gogc := os.LookupEnv("GOGC")
	_, limit := os.LookupEnv("GOMEMLIMIT")
	if gogc || limit {
		return func() {}
	}
	oldPercent := debug.SetGCPercent(-1)
	oldLimit := debug.SetMemoryLimit(restoreHeapLimit)
	done := false
	return func() {
		if !done {
			done = true
			debug.SetGCPercent(oldPercent)
			debug.SetMemoryLimit(oldLimit)
		}
	}
}
