package main

import (
	"testing"
	"time"
)

func TestUnionOfGaps(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	for _, tc := range []struct {
		gaps           [][2]int
		total, longest int
	}{
		{nil, 0, 0},
		{[][2]int{{0, 10}}, 10, 10},
		{[][2]int{{20, 30}, {0, 10}}, 20, 10},
		{[][2]int{{0, 10}, {5, 25}, {8, 9}}, 25, 20},
		{[][2]int{{0, 50}, {10, 20}, {60, 61}}, 51, 50},
	} {
		var gaps [][2]time.Time
		for _, g := range tc.gaps {
			gaps = append(gaps, [2]time.Time{at(g[0]), at(g[1])})
		}
		total, longest := unionOfGaps(gaps)
		if total != time.Duration(tc.total)*time.Millisecond || longest != time.Duration(tc.longest)*time.Millisecond {
			t.Errorf("unionOfGaps(%v) = %v, %v; want %d ms, %d ms", tc.gaps, total, longest, tc.total, tc.longest)
		}
	}
}
