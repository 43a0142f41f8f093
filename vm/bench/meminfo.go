package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// waitSlab waits (at most a minute) for the kernel to finish freeing
// dropped namespaces: at least a second, then until the slab stops
// shrinking for two polls in a row.
func waitSlab() {
	prev, calm := meminfoKiB("Slab"), 0
	for i := 1; i <= 120 && calm < 2; i++ {
		time.Sleep(500 * time.Millisecond)
		cur := meminfoKiB("Slab")
		if i >= 2 && cur >= prev-128 {
			calm++
		} else {
			calm = 0
		}
		prev = cur
	}
}

func meminfoKiB(key string) int {
	data, _ := os.ReadFile("/proc/meminfo")
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == key {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

// meminfo summarises the guest's memory.
func meminfo() string {
	var parts []string
	for _, k := range []string{"MemTotal", "MemAvailable", "Slab", "Percpu"} {
		parts = append(parts, fmt.Sprintf("%s %d MiB", k, meminfoKiB(k)/1024))
	}
	return strings.Join(parts, ", ")
}
