package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The third contender: github.com/moby/ipvs, the Go library of
// kube-proxy's IPVS mode, Docker and telegraf, driven by ipvsadm-moby
// (vm/bench/moby, its own module). Its rows compare it with ours; column
// 0 holds moby/ipvs, column 1 ours.
const mobyName = "moby/ipvs"

// mobyRows are the rows of one table size against moby/ipvs.
type mobyRows struct {
	restore, stats, json, flush *workload
}

// mobyRowsFor adds the moby/ipvs rows of table size s (label lbl).
func (b *runner) mobyRowsFor(s tableSize, lbl string) *mobyRows {
	row := func(name, kind string) *workload {
		r := b.row(name, kind)
		r.vs = mobyName
		return r
	}
	return &mobyRows{
		restore: row(fmt.Sprintf("restore %s lines (%dx%d) vs moby", lbl, s.services, s.reals), "moby-restore"),
		stats:   row("list+counters "+lbl+": ours -Ln --stats --exact", "moby-list"),
		json:    row("list+counters "+lbl+": ours -Ln --json", "moby-list"),
		flush:   row("-C "+lbl+" vs moby", "moby-flush"),
	}
}

// mobyCheck restores the rule file rules (content data) with moby/ipvs
// into the empty namespace ns, under busybox time (its peak memory, also
// a warm-up); the reference's -Sn must then be the file, and moby/ipvs's
// listing must hold every service and real server of it. Then it flushes
// the table with moby/ipvs, also under busybox time.
func (b *runner) mobyCheck(ns int, m *mobyRows, rules string, data []byte) error {
	time.Sleep(b.settle)
	if err := b.memoryAs(ns, m.restore, 0, *b.moby, rules, "restore"); err != nil {
		return err
	}
	p := filepath.Join(b.work, "restored-by-moby")
	if _, err := b.exec(ns, b.tools[0], "", p, "-Sn"); err != nil {
		return err
	}
	saved, _ := os.ReadFile(p)
	if !bytes.Equal(saved, data) {
		return fmt.Errorf("%w: after %s's restore of %s, the reference's -Sn differs from the file: %s",
			errCorrectness, mobyName, rules, firstDifference(data, saved))
	}
	p = filepath.Join(b.work, "list-moby")
	if _, err := b.exec(ns, *b.moby, "", p, "list"); err != nil {
		return err
	}
	listing, _ := os.ReadFile(p)
	if err := mobyListingHolds(listing, data); err != nil {
		return fmt.Errorf("%w: %s's listing: %v", errCorrectness, mobyName, err)
	}
	os.Remove(p)
	fmt.Printf("correctness: OK (%s: restore gives -Sn equal to the file; its listing holds every service and real server)\n", mobyName)
	time.Sleep(b.settle)
	return b.memoryAs(ns, m.flush, 0, *b.moby, "", "flush")
}

// mobyListingHolds checks that the listing of ipvsadm-moby holds exactly
// the services (protocol, address, scheduler) and real servers (address,
// forwarding, weight) of the rule file data, with five counters each.
func mobyListingHolds(listing, data []byte) error {
	want := map[string]int{}
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 5 && f[0] == "-A":
			want["TCP "+f[2]+" "+f[4]]++
		case len(f) == 8 && f[0] == "-a":
			want[f[2]+" -> "+f[4]+" Masq "+f[7]]++
		default:
			return fmt.Errorf("rule line %q not understood", l)
		}
	}
	got := map[string]int{}
	svc := ""
	for _, l := range strings.Split(strings.TrimSuffix(string(listing), "\n"), "\n") {
		f := strings.Fields(l)
		switch {
		case strings.HasPrefix(l, "  -> ") && len(f) == 11 && svc != "":
			got[svc+" -> "+f[1]+" "+f[2]+" "+f[3]]++
		case !strings.HasPrefix(l, " ") && len(f) == 8:
			svc = f[1]
			got[strings.Join(f[:3], " ")]++
		default:
			return fmt.Errorf("line %q not understood", l)
		}
	}
	for k, n := range want {
		if got[k] != n {
			return fmt.Errorf("%q listed %d times, want %d", k, got[k], n)
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("%d distinct lines, want %d", len(got), len(want))
	}
	return nil
}

// mobyLists measures moby/ipvs's listing with counters against ours
// -Ln --stats --exact and ours -Ln --json on the table of namespace ns,
// each pair alternating which goes first.
func (b *runner) mobyLists(ns int, m *mobyRows, rounds int) error {
	ours := b.tools[1]
	for _, pair := range []struct {
		r    *workload
		args []string
	}{{m.stats, []string{"-Ln", "--stats", "--exact"}}, {m.json, []string{"-Ln", "--json"}}} {
		tools := [2]tool{*b.moby, ours}
		args := [2][]string{{"list"}, pair.args}
		for i := range tools {
			if err := b.memoryAs(ns, pair.r, i, tools[i], "", args[i]...); err != nil {
				return err
			}
		}
		for round := 0; round < rounds; round++ {
			for _, i := range toolOrder(round) {
				if err := b.timedAs(ns, pair.r, i, tools[i], round, "", args[i]...); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// mobyRestore times one restore of rules by moby/ipvs into a new
// namespace and its flush, for round round.
func (b *runner) mobyRestore(m *mobyRows, rules string, round int, newNS func() (int, error), drop func(int),
	empty func(int) error) error {
	ns, err := newNS()
	if err != nil {
		return err
	}
	time.Sleep(b.settle)
	if err := b.timedAs(ns, m.restore, 0, *b.moby, round, rules, "restore"); err != nil {
		return err
	}
	time.Sleep(b.settle)
	if err := b.timedAs(ns, m.flush, 0, *b.moby, round, "", "flush"); err != nil {
		return err
	}
	if err := empty(ns); err != nil {
		return err
	}
	drop(ns)
	return nil
}

// shareOurs gives the moby/ipvs rows ours' samples of the same
// workloads (the restore and -C rows against ipvsadm 1.31, measured in the
// same rounds).
func (m *mobyRows) shareOurs(restore, flush *workload) {
	m.restore.samples[1], m.restore.maxRSS[1] = restore.samples[1], restore.maxRSS[1]
	m.flush.samples[1], m.flush.maxRSS[1] = flush.samples[1], flush.maxRSS[1]
}
