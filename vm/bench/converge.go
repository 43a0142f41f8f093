package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// converge measures reaching a desired table from a loaded one (see
// convergeTables): ours with `-R --replace < desired` against ipvsadm
// 1.31's way, `-C` then `-R < desired` (one sample: the two runs' times
// added), each from a new namespace loaded with the base table (untimed,
// by ours), while a prober looks up services both tables hold (the flush
// window). Then `-R --replace < base` on a namespace holding base (no
// change) against ours' -Sn of the same table.
func (b *runner) converge(s tableSize) error {
	ref, ours := b.tools[0], b.tools[1]
	c := convergeTables(s.services, s.reals)
	lbl := s.label()
	fmt.Printf("\n== converge %dx%d: %d lines, %d changed (%d weights, %d real servers swapped, %d services swapped) ==\n",
		s.services, s.reals, s.lines(), c.changed, c.edits, c.swaps, c.svcSwaps)
	base := filepath.Join(b.work, fmt.Sprintf("converge-base-%dx%d", s.services, s.reals))
	desired := filepath.Join(b.work, fmt.Sprintf("converge-desired-%dx%d", s.services, s.reals))
	if err := os.WriteFile(base, c.base, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(desired, c.desired, 0o644); err != nil {
		return err
	}
	rConv := b.row(fmt.Sprintf("converge 1%% %s (%dx%d)", lbl, s.services, s.reals), "converge")
	rSame := b.row("-R --replace no change "+lbl, "replace-same")
	rSame.vs = "ours -Sn"

	drop := func(ns int) {
		unix.Close(ns)
		waitSlab()
	}
	// loaded is a new namespace holding the base table.
	loaded := func() (int, error) {
		ns, err := b.newNS()
		if err != nil {
			return -1, err
		}
		if _, err := b.exec(ns, ours, base, "", "-R"); err != nil {
			drop(ns)
			return -1, err
		}
		return ns, nil
	}
	// saved is the reference's -Sn of namespace ns, its lines sorted (the
	// order may follow the order of insertion).
	saved := func(ns int) (string, error) {
		p := filepath.Join(b.work, "converge-saved")
		if _, err := b.exec(ns, ref, "", p, "-Sn"); err != nil {
			return "", err
		}
		out, err := os.ReadFile(p)
		return sortedLines(out), err
	}

	// The desired table as the reference saves it, restored by the
	// reference into an empty table.
	ns, err := b.newNS()
	if err != nil {
		return err
	}
	if _, err := b.exec(ns, ref, desired, "", "-R"); err != nil {
		drop(ns)
		return err
	}
	want, err := saved(ns)
	drop(ns)
	if err != nil {
		return err
	}
	check := func(ns int, who string) error {
		got, err := saved(ns)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("%w: after %s, the reference's -Sn (lines sorted) differs from the desired table's: %s",
				errCorrectness, who, firstDifference([]byte(want), []byte(got)))
		}
		return nil
	}

	// Ours' peak memory (and a warm-up), checked.
	if ns, err = loaded(); err != nil {
		return err
	}
	time.Sleep(b.settle)
	err = b.memory(ns, rConv, 1, desired, "-R", "--replace")
	if err == nil {
		err = check(ns, "ours -R --replace")
	}
	drop(ns)
	if err != nil {
		return err
	}

	// way runs tool i's converge in namespace ns.
	way := func(ns, i int) (sample, error) {
		if i == 1 {
			return b.exec(ns, ours, desired, "", "-R", "--replace")
		}
		flush, err := b.exec(ns, ref, "", "", "-C")
		if err != nil {
			return flush, err
		}
		restore, err := b.exec(ns, ref, desired, "", "-R")
		return sample{wall: flush.wall + restore.wall, user: flush.user + restore.user, sys: flush.sys + restore.sys}, err
	}
	for round := 0; round < s.rounds; round++ {
		for _, i := range toolOrder(round) {
			if ns, err = loaded(); err != nil {
				return err
			}
			time.Sleep(b.settle)
			p, err := startProbe(ns, c.probe)
			if err != nil {
				drop(ns)
				return err
			}
			smp, err := way(ns, i)
			w, perr := p.finish()
			if err == nil {
				err = perr
			}
			if err == nil && round == 0 {
				err = check(ns, b.tools[i].name+"'s way")
			}
			drop(ns)
			if err != nil {
				return err
			}
			b.record(rConv, i, b.tools[i], round, smp)
			rConv.windows[i] = append(rConv.windows[i], w)
			fmt.Printf("  %-34s %-7s r%-2d flush window %8.3fs, longest %8.3fs (%d lookups)\n",
				rConv.name, b.tools[i].name, round+1, w.total.Seconds(), w.longest.Seconds(), w.lookups)
		}
	}
	fmt.Println("correctness: OK (after ours -R --replace and after ipvsadm -C, -R, the reference's -Sn is the desired table's)")

	// No change: --replace of the loaded table itself, against -Sn.
	if ns, err = loaded(); err != nil {
		return err
	}
	defer drop(ns)
	want = sortedLines(c.base)
	if err := b.memoryAs(ns, rSame, 0, ours, "", "-Sn"); err != nil {
		return err
	}
	if err := b.memory(ns, rSame, 1, base, "-R", "--replace"); err != nil {
		return err
	}
	if err := check(ns, "ours -R --replace of the same table"); err != nil {
		return err
	}
	for round := 0; round < s.rounds; round++ {
		for _, i := range toolOrder(round) {
			var err error
			if i == 0 {
				err = b.timedAs(ns, rSame, 0, ours, round, "", "-Sn")
			} else {
				err = b.timedAs(ns, rSame, 1, ours, round, base, "-R", "--replace")
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// sortedLines is text with its lines sorted.
func sortedLines(b []byte) string {
	l := strings.SplitAfter(string(b), "\n")
	sort.Strings(l)
	return strings.Join(l, "")
}
