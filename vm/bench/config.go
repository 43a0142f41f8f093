package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// config reads the BENCH_* environment (see the package comment).
func config() (sizes []tableSize, single int, settle time.Duration, err error) {
	sizeSpec, roundSpec, single := "2000x5,10000x5", "7,5", 15
	if os.Getenv("BENCH_QUICK") == "1" {
		sizeSpec, roundSpec, single = "200x5,1000x5", "3", 5
	}
	if v := os.Getenv("BENCH_SIZES"); v != "" {
		sizeSpec = v
	}
	if v := os.Getenv("BENCH_ROUNDS"); v != "" {
		roundSpec = v
	}
	if v := os.Getenv("BENCH_SINGLE_ROUNDS"); v != "" {
		if single, err = strconv.Atoi(v); err != nil || single < 1 {
			return nil, 0, 0, fmt.Errorf("bad BENCH_SINGLE_ROUNDS %q", v)
		}
	}
	settle = 500 * time.Millisecond
	if v := os.Getenv("BENCH_SETTLE_MS"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 0 {
			return nil, 0, 0, fmt.Errorf("bad BENCH_SETTLE_MS %q", v)
		}
		settle = time.Duration(ms) * time.Millisecond
	}
	var rounds []int
	for _, r := range strings.Split(roundSpec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n < 1 {
			return nil, 0, 0, fmt.Errorf("bad BENCH_ROUNDS %q", roundSpec)
		}
		rounds = append(rounds, n)
	}
	for i, sp := range strings.Split(sizeSpec, ",") {
		s, err := parseSize("BENCH_SIZES", sp)
		if err != nil {
			return nil, 0, 0, err
		}
		s.rounds = rounds[min(i, len(rounds)-1)]
		sizes = append(sizes, s)
	}
	return sizes, single, settle, nil
}

// parseSize reads one SERVICESxREALS of the variable env.
func parseSize(env, sp string) (tableSize, error) {
	var s tableSize
	svc, rs, ok := strings.Cut(strings.TrimSpace(sp), "x")
	var err error
	s.services, err = strconv.Atoi(svc)
	if err == nil {
		s.reals, err = strconv.Atoi(rs)
	}
	if !ok || err != nil || s.services < 2 || s.services > 60000 || s.reals < 1 || s.services*s.reals > 1000000 {
		return s, fmt.Errorf("bad %s entry %q (SERVICESxREALS, 2..60000 services, at most 1000000 real servers)", env, sp)
	}
	return s, nil
}

// convergeConfig reads BENCH_CONVERGE, the table of the converge
// workloads (default: the largest of sizes; ok false for "0", which
// leaves them out), and BENCH_CONVERGE_ROUNDS.
func convergeConfig(sizes []tableSize) (s tableSize, ok bool, err error) {
	for _, t := range sizes {
		if t.lines() > s.lines() {
			s = t
		}
	}
	if v := os.Getenv("BENCH_CONVERGE"); v == "0" {
		return s, false, nil
	} else if v != "" {
		if s, err = parseSize("BENCH_CONVERGE", v); err != nil {
			return s, false, err
		}
	}
	s.rounds = 2 // ipvsadm 1.31 needs minutes for one round at 60,000 lines
	if v := os.Getenv("BENCH_CONVERGE_ROUNDS"); v != "" {
		if s.rounds, err = strconv.Atoi(v); err != nil || s.rounds < 1 {
			return s, false, fmt.Errorf("bad BENCH_CONVERGE_ROUNDS %q", v)
		}
	}
	return s, s.services > 0, nil
}

// wideConfig reads BENCH_WIDE: the real servers of the one-service
// workload (0 leaves it out), and its rounds.
func wideConfig() (reals, rounds int, err error) {
	reals, rounds = 20000, 3
	if os.Getenv("BENCH_QUICK") == "1" {
		reals, rounds = 5000, 2
	}
	if v := os.Getenv("BENCH_WIDE"); v != "" {
		if reals, err = strconv.Atoi(v); err != nil || reals < 0 || reals > 60000 {
			return 0, 0, fmt.Errorf("bad BENCH_WIDE %q (0..60000 real servers)", v)
		}
	}
	return reals, rounds, nil
}
