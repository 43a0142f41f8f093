package main

import (
	"testing"
	"time"
)

// TestConfig checks the reading of the BENCH_* environment.
func TestConfig(t *testing.T) {
	t.Setenv("BENCH_QUICK", "")
	t.Setenv("BENCH_SIZES", "")
	t.Setenv("BENCH_ROUNDS", "")
	t.Setenv("BENCH_SINGLE_ROUNDS", "")
	t.Setenv("BENCH_SETTLE_MS", "")
	sizes, single, settle, err := config()
	if err != nil || len(sizes) != 2 || sizes[0] != (tableSize{2000, 5, 7}) || sizes[1] != (tableSize{10000, 5, 5}) ||
		single != 15 || settle != 500*time.Millisecond {
		t.Errorf("config() = %v, %d, %v, %v", sizes, single, settle, err)
	}
	t.Setenv("BENCH_SIZES", "100x2,50x1,70x3")
	t.Setenv("BENCH_ROUNDS", "4,2")
	sizes, _, _, err = config()
	if err != nil || len(sizes) != 3 || sizes[2] != (tableSize{70, 3, 2}) {
		t.Errorf("config() with BENCH_SIZES, BENCH_ROUNDS = %v, %v", sizes, err)
	}
	t.Setenv("BENCH_SIZES", "100")
	if _, _, _, err := config(); err == nil {
		t.Error("config() accepted BENCH_SIZES=100")
	}
}

// TestConvergeConfig checks BENCH_CONVERGE and BENCH_CONVERGE_ROUNDS.
func TestConvergeConfig(t *testing.T) {
	t.Setenv("BENCH_CONVERGE", "")
	t.Setenv("BENCH_CONVERGE_ROUNDS", "")
	sizes := []tableSize{{2000, 5, 7}, {10000, 5, 5}, {3000, 1, 5}}
	if s, ok, err := convergeConfig(sizes); !ok || err != nil || s != (tableSize{10000, 5, 2}) {
		t.Errorf("convergeConfig() = %v, %v, %v", s, ok, err)
	}
	t.Setenv("BENCH_CONVERGE", "500x4")
	t.Setenv("BENCH_CONVERGE_ROUNDS", "2")
	if s, ok, err := convergeConfig(sizes); !ok || err != nil || s != (tableSize{500, 4, 2}) {
		t.Errorf("convergeConfig() with BENCH_CONVERGE=500x4 = %v, %v, %v", s, ok, err)
	}
	t.Setenv("BENCH_CONVERGE", "0")
	if _, ok, err := convergeConfig(sizes); ok || err != nil {
		t.Errorf("convergeConfig() with BENCH_CONVERGE=0 = %v, %v", ok, err)
	}
	t.Setenv("BENCH_CONVERGE", "9")
	if _, _, err := convergeConfig(sizes); err == nil {
		t.Error("convergeConfig() accepted BENCH_CONVERGE=9")
	}
}
