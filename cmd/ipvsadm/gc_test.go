package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// gcPace reads the collector's percent and memory limit.
func gcPace() (percent, limit uint64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// TestCollectFrom: the collector is off up to the floor, and its usual
// pace is back after its first run (a table larger than the floor must
// not make it run without end) or when undone.
func TestCollectFrom(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOGC")
	os.Unsetenv("GOMEMLIMIT")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))

	undo := collectFrom(1 << 40)
	percent, limit := gcPace()
	require.Equal(t, uint64(math.MaxUint64), percent) // off: -1
	require.Equal(t, uint64(1<<40), limit)
	runtime.GC()
	require.Eventually(t, func() bool {
		p, l := gcPace()
		return p == 100 && l == math.MaxInt64
	}, 5*time.Second, time.Millisecond, "pace not back after a collection")
	undo() // a second restore changes nothing

	undo = collectFrom(1 << 40)
	undo()
	percent, limit = gcPace()
	require.Equal(t, uint64(100), percent)
	require.Equal(t, uint64(math.MaxInt64), limit)

	t.Setenv("GOGC", "400")
	collectFrom(1 << 40)()
	percent, _ = gcPace()
	require.Equal(t, uint64(100), percent, "GOGC set: left alone")
}
