package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"sync"
)

// The collector's pace for the two big jobs, a plain restore and a table
// listing: each lets the heap grow to a limit before the garbage
// collector runs, unless GOGC or GOMEMLIMIT set the pace.

// restoreHeapLimit is the memory a plain restore lets the runtime take
// before the garbage collector runs: a 60,000-line restore stays under
// it, and the peak stays well under issue 13's 32 MiB.
const restoreHeapLimit = 24 << 20

// listHeapFloor is the memory a table listing lets the runtime take
// before the garbage collector first runs: a 60,000-line listing with
// counters (some 20 MiB, nearly all of it the table it prints) fits, and
// its peak stays under issue 13's 32 MiB.
const listHeapFloor = 24 << 20

// holdCollector turns the collector's pace off and runs it only when the
// runtime holds limit bytes, unless GOGC or GOMEMLIMIT set the pace. The
// returned function puts the pace back; it may be called more than once,
// from any goroutine.
func holdCollector(limit int64) (undo func()) {
	_, gogc := os.LookupEnv("GOGC")
	_, memLimit := os.LookupEnv("GOMEMLIMIT")
	if gogc || memLimit {
		return func() {}
	}
	oldPercent := debug.SetGCPercent(-1)
	oldLimit := debug.SetMemoryLimit(limit)
	var once sync.Once
	return func() {
		once.Do(func() {
			debug.SetGCPercent(oldPercent)
			debug.SetMemoryLimit(oldLimit)
		})
	}
}

// collectLess lets the heap grow to restoreHeapLimit before the garbage
// collector runs. A plain restore keeps little (the lines in flight) but
// allocates for each line, and under the default pace the collector's
// runs took a sixth of a 60,000-line restore's user time in the test VM;
// this way such a restore needs none. The returned function puts the
// collector's pace back.
func collectLess() (undo func()) { return holdCollector(restoreHeapLimit) }

// collectFrom lets the heap grow to floor before the garbage collector
// runs. A listing keeps what it allocates (the table) until it has
// printed it, so under the default pace each of the collector's runs
// (three in a 60,000-line --stats listing) traced the table read so far
// and freed nearly nothing, and its write barriers slowed the decoding
// meanwhile. Unlike a restore's, a listing's live heap grows with the
// table, and a limit the live heap exceeds would make the collector run
// without end: after the first collection, the usual pace is back. The
// returned function puts it back earlier.
func collectFrom(floor int64) (undo func()) {
	undo = holdCollector(floor)
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
