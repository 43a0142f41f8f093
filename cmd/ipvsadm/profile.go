//go:build pprof

package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
)

// A profiling build (go build -tags pprof) writes a CPU profile of the
// whole run to $IPVSADM_CPUPROFILE, sampled $IPVSADM_PROFILE_HZ times a
// second of CPU time (default 100), and a heap profile to
// $IPVSADM_MEMPROFILE. It exists to profile inside the test VM, where the
// kernel's share of the work is real; release builds do not contain it.
func init() {
	path := os.Getenv("IPVSADM_CPUPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		os.Exit(2)
	}
	if hz, err := strconv.Atoi(os.Getenv("IPVSADM_PROFILE_HZ")); err == nil && hz > 0 {
		// Set before StartCPUProfile, which then warns that the rate is
		// already set and keeps it; the profile's header still says 100 Hz,
		// so its absolute durations are off by hz/100, its shares are not.
		runtime.SetCPUProfileRate(hz)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		os.Exit(2)
	}
	beforeExit = func() {
		pprof.StopCPUProfile()
		f.Close()
		if p := os.Getenv("IPVSADM_MEMPROFILE"); p != "" {
			if m, err := os.Create(p); err == nil {
				pprof.Lookup("allocs").WriteTo(m, 0)
				m.Close()
			}
		}
	}
}
