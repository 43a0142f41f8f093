package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"sync"
)

// listHeapFloor is the memory a table listing lets the runtime take
// before the garbage collector first runs: a 60,000-line listing with
// counters (some 20 MiB, nearly all of it the table it prints) fits, and
// its peak stays under issue 13's 32 MiB.
const listHeapFloor = 24 << 20

// collectFrom lets the heap grow to floor before the garbage collector
// runs, unless GOGC or GOMEMLIMIT set the collector's pace. A listing
// keeps what it allocates (the table) until it has printed it, so under
// the default pace each of the collector's runs (three in a 60,000-line
// --stats listing) traced the table read so far and freed nearly nothing,
// and its write barriers slowed the decoding meanwhile. Unlike a
// restore's (collectLess), a listing's live heap grows with the table,
// and a limit the live heap exceeds would make the collector run without
// end: after the first collection, the usual pace is back. The returned
// function puts it back earlier; it may be called more than once.
func collectFrom(floor int64) (undo func()) {
	_, gogc := os.LookupEnv("GOGC")
	_, limit := os.LookupEnv("GOMEMLIMIT")
	if gogc || limit {
		return func() {}
	}
	oldPercent := debug.SetGCPercent(-1)
	oldLimit := debug.SetMemoryLimit(floor)
	var once sync.Once
	undo = func() {
		once.Do(func() {
			debug.SetGCPercent(oldPercent)
			debug.SetMemoryLimit(oldLimit)
		})
	}
	// The finalizer of an object nothing refers to runs after the first
	// collection that finds it unreachable: the first one, which the
	// floor triggered.
	runtime.SetFinalizer(&gcSentinel{}, func(*gcSentinel) { undo() })
	return undo
}

// A gcSentinel tells collectFrom that the collector ran. It holds a
// pointer so that the allocator does not pack it into a shared block,
// whose finalizer could wait for its neighbours.
type gcSentinel struct{ _ *byte }
