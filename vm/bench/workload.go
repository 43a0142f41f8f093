package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipvsadm-go/ipvsadm/internal/testkit"
	"golang.org/x/sys/unix"
)

// column names row r's column i, run by tool t, in the samples and the log.
func (r *workload) column(i int, t tool) string {
	if i == 0 && r.vs != "" {
		return r.vs
	}
	return t.name
}

// row adds a workload, the next row of the report.
func (b *runner) row(name, kind string) *workload {
	r := &workload{name: name, kind: kind}
	b.rows = append(b.rows, r)
	return r
}

// measure runs workload r in namespace ns: first, per tool, one untimed
// run under busybox time for the peak memory (also a warm-up), then rounds
// timed runs of each tool, alternating which goes first. undo (may be nil)
// runs untimed after every run.
func (b *runner) measure(ns int, r *workload, rounds int, undo func() error, args ...string) error {
	step := func() error {
		if undo == nil {
			return nil
		}
		return undo()
	}
	for i := range b.tools {
		if err := b.memory(ns, r, i, "", args...); err != nil {
			return err
		}
		if err := step(); err != nil {
			return err
		}
	}
	for round := 0; round < rounds; round++ {
		for _, i := range toolOrder(round) {
			if err := b.timed(ns, r, i, round, "", args...); err != nil {
				return err
			}
			if err := step(); err != nil {
				return err
			}
		}
	}
	return nil
}

// memory runs tool i under busybox time for row r's peak memory.
func (b *runner) memory(ns int, r *workload, i int, stdin string, args ...string) error {
	return b.memoryAs(ns, r, i, b.tools[i], stdin, args...)
}

// memoryAs runs tool t under busybox time for the peak memory of row r's
// column i (0: the reference's, or what r.vs names; 1: ours).
func (b *runner) memoryAs(ns int, r *workload, i int, t tool, stdin string, args ...string) error {
	s, err := b.run(ns, t, true, stdin, "", append([]string{"ipvsadm"}, args...))
	if err != nil {
		return err
	}
	r.maxRSS[i] = s.maxRSS
	t.name = r.column(i, t)
	fmt.Fprintf(b.samples, "%s\t%s\tmem\t\t\t\t%d\n", r.name, t.name, s.maxRSS)
	fmt.Printf("  %-34s %-7s mem %s maxrss %6.1f MiB\n", r.name, t.name, strings.Repeat(" ", 42), float64(s.maxRSS)/1024)
	return nil
}

// timed runs tool i once, timed, for row r.
func (b *runner) timed(ns int, r *workload, i, round int, stdin string, args ...string) error {
	return b.timedAs(ns, r, i, b.tools[i], round, stdin, args...)
}

// timedAs runs tool t once, timed, for row r's column i.
func (b *runner) timedAs(ns int, r *workload, i int, t tool, round int, stdin string, args ...string) error {
	s, err := b.exec(ns, t, stdin, "", args...)
	if err != nil {
		return err
	}
	b.record(r, i, t, round, s)
	return nil
}

// record adds sample s of tool t, round round, to row r's column i.
func (b *runner) record(r *workload, i int, t tool, round int, s sample) {
	r.samples[i] = append(r.samples[i], s)
	t.name = r.column(i, t)
	fmt.Fprintf(b.samples, "%s\t%s\t%d\t%.6f\t%.6f\t%.6f\t\n", r.name, t.name, round+1,
		s.wall.Seconds(), s.user.Seconds(), s.sys.Seconds())
	fmt.Printf("  %-34s %-7s r%-2d %8.3fs  user %7.3fs  sys %7.3fs\n",
		r.name, t.name, round+1, s.wall.Seconds(), s.user.Seconds(), s.sys.Seconds())
}

func (b *runner) size(s tableSize) (err error) {
	ref := b.tools[0]
	lbl := s.label()
	fmt.Printf("\n== table %dx%d: %d lines ==\n", s.services, s.reals, s.lines())
	rules := filepath.Join(b.work, fmt.Sprintf("rules-%dx%d", s.services, s.reals))
	data := testkit.BenchRules(s.services, s.reals)
	if err := os.WriteFile(rules, data, 0o644); err != nil {
		return err
	}
	// The rows, in the order of the report.
	rRestore := b.row(fmt.Sprintf("restore %s lines (%dx%d)", lbl, s.services, s.reals), "restore")
	lists := [][]string{{"-Ln"}, {"-Sn"}, {"-Ln", "--stats"}}
	var rLists []*workload
	for _, args := range lists {
		rLists = append(rLists, b.row(strings.Join(args, " ")+" "+lbl, "list"))
	}
	rJSON := b.row("-Ln --json "+lbl, "json")
	rJSON.vs = "ours -Ln"
	rAdd := b.row("-A single, "+lbl+" loaded", "single")
	rAddDest := b.row("-a single, "+lbl+" loaded", "single")
	rFlush := b.row("-C "+lbl, "flush")
	var rMoby *mobyRows
	if b.moby != nil {
		rMoby = b.mobyRowsFor(s, lbl)
	}

	// Every namespace of this size; each is dropped as soon as it served,
	// so that at most two tables exist at a time (guest memory: a 60k-line
	// table takes about 30 MiB of kernel memory).
	live := map[int]bool{}
	drop := func(fd int) {
		if live[fd] {
			unix.Close(fd)
			delete(live, fd)
			waitSlab()
		}
	}
	defer func() {
		for fd := range live {
			unix.Close(fd)
		}
		waitSlab()
	}()
	newNS := func() (int, error) {
		fd, err := b.newNS()
		if err == nil {
			live[fd] = true
		}
		return fd, err
	}
	// empty fails unless the table of namespace ns is empty.
	empty := func(ns int) error {
		p := filepath.Join(b.work, "final")
		if _, err := b.exec(ns, ref, "", p, "-Sn"); err != nil {
			return err
		}
		if fi, err := os.Stat(p); err != nil || fi.Size() != 0 {
			return fmt.Errorf("%w: the table is not empty after -C", errCorrectness)
		}
		return nil
	}

	// Correctness: each tool restores into an empty table (a new
	// namespace); the reference's -Sn must be the file itself, for both.
	// These restores run under busybox time: their peak memory.
	fmt.Println("correctness checks ...")
	var checked [2]int
	for i, t := range b.tools {
		ns, err := newNS()
		if err != nil {
			return err
		}
		checked[i] = ns
		time.Sleep(b.settle)
		if err := b.memory(ns, rRestore, i, rules, "-R"); err != nil {
			return err
		}
		p := filepath.Join(b.work, "restored-by-"+t.name)
		if _, err := b.exec(ns, ref, "", p, "-Sn"); err != nil {
			return err
		}
		saved, _ := os.ReadFile(p)
		if !bytes.Equal(saved, data) {
			return fmt.Errorf("%w: after `%s -R` of %s, the reference's -Sn differs from the file: %s",
				errCorrectness, t.name, rules, firstDifference(data, saved))
		}
	}
	b.note("%dx%d, two tables loaded: %s", s.services, s.reals, meminfo())
	// The listings of the table ours loaded must be byte-identical.
	for _, args := range lists {
		var outs [2][]byte
		for i, t := range b.tools {
			p := filepath.Join(b.work, "list-"+t.name)
			if _, err := b.exec(checked[1], t, "", p, args...); err != nil {
				return err
			}
			outs[i], _ = os.ReadFile(p)
		}
		if !bytes.Equal(outs[0], outs[1]) {
			return fmt.Errorf("%w: `ipvsadm %s` output of ours differs from the reference's: %s",
				errCorrectness, strings.Join(args, " "), firstDifference(outs[0], outs[1]))
		}
		if len(outs[0]) == 0 {
			return fmt.Errorf("%w: `ipvsadm %s` printed nothing", errCorrectness, strings.Join(args, " "))
		}
	}
	fmt.Println("correctness: OK (restore by either tool gives the same -Sn, equal to the file; -Ln, -Sn, -Ln --stats byte-identical)")
	// Ours' peak memory for -C, on the table it loaded.
	time.Sleep(b.settle)
	if err := b.memory(checked[1], rFlush, 1, "", "-C"); err != nil {
		return err
	}
	if err := empty(checked[1]); err != nil {
		return err
	}
	drop(checked[1])
	if rMoby != nil {
		ns, err := newNS()
		if err != nil {
			return err
		}
		if err := b.mobyCheck(ns, rMoby, rules, data); err != nil {
			return err
		}
		if err := empty(ns); err != nil {
			return err
		}
		drop(ns)
	}

	// Listings and single commands, on the table the reference loaded.
	work := checked[0]
	for k, args := range lists {
		if err := b.measure(work, rLists[k], s.rounds, nil, args...); err != nil {
			return err
		}
	}
	if err := b.jsonVsText(work, rJSON, s); err != nil {
		return err
	}
	if rMoby != nil {
		if err := b.mobyLists(work, rMoby, s.rounds); err != nil {
			return err
		}
	}
	vip := testkit.BenchAddr(10<<24, s.services/2) + ":80"
	newVIP := "10.255.255.254:80"
	newRS := "172.31.255.254:8080"
	if err := b.measure(work, rAdd, b.singleRounds, func() error {
		_, err := b.exec(work, ref, "", "", "-D", "-t", newVIP)
		return err
	}, "-A", "-t", newVIP, "-s", "wlc"); err != nil {
		return err
	}
	if err := b.measure(work, rAddDest, b.singleRounds, func() error {
		_, err := b.exec(work, ref, "", "", "-d", "-t", vip, "-r", newRS)
		return err
	}, "-a", "-t", vip, "-r", newRS, "-m", "-w", "2"); err != nil {
		return err
	}
	time.Sleep(b.settle)
	if err := b.memory(work, rFlush, 0, "", "-C"); err != nil {
		return err
	}
	if err := empty(work); err != nil {
		return err
	}
	drop(work)

	// Timed restores, each into a new namespace, and -C of the table just
	// loaded, by the same tool; moby/ipvs first in even rounds, last in
	// odd ones.
	for round := 0; round < s.rounds; round++ {
		if rMoby != nil && round%2 == 0 {
			if err := b.mobyRestore(rMoby, rules, round, newNS, drop, empty); err != nil {
				return err
			}
		}
		for _, i := range toolOrder(round) {
			ns, err := newNS()
			if err != nil {
				return err
			}
			time.Sleep(b.settle)
			if err := b.timed(ns, rRestore, i, round, rules, "-R"); err != nil {
				return err
			}
			time.Sleep(b.settle)
			if err := b.timed(ns, rFlush, i, round, "", "-C"); err != nil {
				return err
			}
			if err := empty(ns); err != nil {
				return err
			}
			drop(ns)
		}
		if rMoby != nil && round%2 == 1 {
			if err := b.mobyRestore(rMoby, rules, round, newNS, drop, empty); err != nil {
				return err
			}
		}
	}
	if rMoby != nil {
		rMoby.shareOurs(rRestore, rFlush)
	}
	return nil
}

// toolOrder alternates which tool goes first.
func toolOrder(round int) []int {
	if round%2 == 0 {
		return []int{0, 1}
	}
	return []int{1, 0}
}

// firstDifference describes the first difference of two outputs.
func firstDifference(want, got []byte) string {
	wl := strings.SplitAfter(string(want), "\n")
	gl := strings.SplitAfter(string(got), "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("%d vs %d lines; first difference at line %d: %q vs %q", len(wl), len(gl), i+1, w, g)
		}
	}
	return "no line difference found"
}
