package main

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// probePace is the pause after each lookup of the flush-window prober:
// the VM has one vCPU, and a prober in a tight loop would take half of it
// from the tool being timed. A sweep of 200 services then takes a little
// over 0.2 s, the resolution per service; any gap in which some probed
// service is missing for longer than that is seen.
const probePace = time.Millisecond

// A flushWindow is what the prober saw during one converge: how long
// services that both tables hold were missing.
type flushWindow struct {
	total   time.Duration // the union of the gaps: some probed service missing
	longest time.Duration // the longest gap of one service
	lookups int
}

// A prober looks up services of namespace ns by key, in a loop, until
// stopped; a service's gap runs from a lookup that found it missing to the
// next that found it.
type prober struct {
	stop chan struct{}
	done chan struct{}
	w    flushWindow
	err  error
}

// startProbe starts probing keys in the namespace of descriptor ns.
func startProbe(ns int, keys []rules.ServiceKey) (*prober, error) {
	c, err := ipvs.Dial(&ipvs.Config{NetNS: ns})
	if err != nil {
		return nil, err
	}
	p := &prober{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer c.Close()
		missing := make([]time.Time, len(keys))
		var gaps [][2]time.Time
		for stopped := false; !stopped; {
			for i, k := range keys {
				_, err := c.Service(k)
				now := time.Now()
				p.w.lookups++
				switch {
				case errors.Is(err, ipvs.ErrNoService):
					if missing[i].IsZero() {
						missing[i] = now
					}
				case err != nil:
					p.err = fmt.Errorf("flush-window prober: lookup of %s: %w", k, err)
					return
				case !missing[i].IsZero():
					gaps = append(gaps, [2]time.Time{missing[i], now})
					missing[i] = time.Time{}
				}
				select {
				case <-p.stop:
					stopped = true
				case <-time.After(probePace):
				}
				if stopped {
					break
				}
			}
		}
		end := time.Now()
		for _, m := range missing {
			if !m.IsZero() {
				gaps = append(gaps, [2]time.Time{m, end})
			}
		}
		p.w.total, p.w.longest = unionOfGaps(gaps)
	}()
	return p, nil
}

// finish stops the prober and returns what it saw.
func (p *prober) finish() (flushWindow, error) {
	close(p.stop)
	<-p.done
	return p.w, p.err
}

// unionOfGaps is the total time covered by the gaps and the longest one.
func unionOfGaps(gaps [][2]time.Time) (total, longest time.Duration) {
	sort.Slice(gaps, func(i, j int) bool { return gaps[i][0].Before(gaps[j][0]) })
	var cur [2]time.Time
	for _, g := range gaps {
		longest = max(longest, g[1].Sub(g[0]))
		switch {
		case cur[0].IsZero():
			cur = g
		case g[0].After(cur[1]):
			total += cur[1].Sub(cur[0])
			cur = g
		case g[1].After(cur[1]):
			cur[1] = g[1]
		}
	}
	if !cur[0].IsZero() {
		total += cur[1].Sub(cur[0])
	}
	return total, longest
}
