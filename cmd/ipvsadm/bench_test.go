package main

// ipvsadm-bench: the driver of `make bench` (vm/bench.sh). The test binary,
// installed in the VM under the name ipvsadm-bench, compares the reference
// ipvsadm 1.31 with a real (non-test) build of ours on the same kernel, in
// the namespace it runs in (the VM's initial one), which it flushes.
//
//	ipvsadm-bench -ours PATH [-ref PATH] [-out DIR] [-work DIR]
//
// For every table size (services x real servers) it generates a rule file
// in `ipvsadm -Sn` form, checks correctness (both tools restore it into a
// flushed table to the same `ipvsadm -Sn`, which is the file itself; -Ln,
// -Sn and -Ln --stats of ours and the reference are byte-identical), then
// times, alternating the tools and the order each round: -R of the file
// into a flushed table; -Ln, -Sn, -Ln --stats of the loaded table (stdout
// to /dev/null); a single -A and a single -a on the loaded table (undone,
// untimed, between rounds); -C of the loaded table (reloaded, untimed,
// between rounds). Each timed run is measured from process start to exit
// (wall) with the rusage of the child (user and system CPU). Both tools run
// with argv[0] "ipvsadm". It writes DIR/results.txt (the table of medians,
// ratios and targets) and DIR/samples.tsv (every run).
//
// Peak memory: the ru_maxrss of a direct child of this (Go, multi-MiB)
// driver is worthless: exec records the hiwater RSS of the mm it replaces,
// which for a vfork child is the driver's own. So before the timed rounds
// of each workload, one untimed run per tool (also a warm-up) goes through
// busybox's time applet (a tiny static process whose child's maxrss is
// that child's own); busybox 1.35 reports ru_maxrss multiplied by
// pagesize/1024, a factor this driver calibrates at start with a child of
// known size.
//
// Exit status: 0 when all ran (even if targets are missed), 1 when a
// correctness check failed, 2 on any other error.
//
// Environment (vm/bench.sh forwards these):
//
//	BENCH_QUICK=1          small tables (200x5, 1000x5), 3 rounds, 5 single rounds
//	BENCH_SIZES            table sizes, SERVICESxREALS comma-separated
//	                       (default 2000x5,10000x5)
//	BENCH_ROUNDS           rounds per size, comma-separated, the last one
//	                       repeating (default 5,3)
//	BENCH_SINGLE_ROUNDS    rounds of the single -A/-a commands (default 15)
//	BENCH_SETTLE_MS        pause after each untimed flush/reload (default 500)

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func init() {
	testPrograms["ipvsadm-bench"] = benchMain
}

// benchTool is one of the two programs compared.
type benchTool struct {
	name string // "ipvsadm" (the reference) or "ours"
	path string
	dir  string // holds a link "ipvsadm" to path, for busybox time's PATH lookup
}

const benchBusybox = "/bin/busybox"

// benchSample is one timed run.
type benchSample struct {
	wall, user, sys time.Duration
	maxRSS          int64 // KiB
}

type benchSize struct {
	services, reals, rounds int
}

func (s benchSize) lines() int { return s.services * (1 + s.reals) }

func (s benchSize) label() string {
	n := s.lines()
	if n%1000 == 0 {
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.Itoa(n)
}

// benchRow is one workload: its samples per tool (0 ref, 1 ours).
type benchRow struct {
	name    string
	kind    string // restore, list, single, flush: selects the target
	samples [2][]benchSample
	maxRSS  [2]int64 // KiB, from the busybox time run
}

type benchRunner struct {
	tools        [2]benchTool // 0: reference, 1: ours
	work, out    string
	settle       time.Duration
	singleRounds int
	rssFactor    int64 // busybox time's %M is ru_maxrss times this
	rows         []*benchRow
	samples      *bufio.Writer
	notes        []string
}

// errBenchCorrectness marks a correctness failure (exit status 1).
var errBenchCorrectness = errors.New("correctness check failed")

func benchMain() int {
	fs := flag.NewFlagSet("ipvsadm-bench", flag.ContinueOnError)
	ref := fs.String("ref", "/ref/bin/ipvsadm", "the reference ipvsadm 1.31")
	ours := fs.String("ours", "", "a real build of ours (CGO_ENABLED=0 go build ./cmd/ipvsadm)")
	out := fs.String("out", "/tmp/bench-out", "directory for results.txt and samples.tsv")
	work := fs.String("work", "/tmp/bench-work", "scratch directory (rule files, outputs)")
	alloc := fs.Int("alloc-mib", 0, "internal: touch this many MiB and exit (memory calibration)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if *alloc > 0 {
		benchSink = make([]byte, *alloc<<20)
		for i := 0; i < len(benchSink); i += 4096 {
			benchSink[i] = 1
		}
		return 0
	}
	if *ours == "" {
		fmt.Fprintln(os.Stderr, "ipvsadm-bench: -ours PATH is required")
		return 2
	}
	// It flushes the IPVS table of the namespace it runs in.
	if os.Getenv("IPVSADM_VM") != "1" {
		fmt.Fprintln(os.Stderr, "ipvsadm-bench: refusing to run outside the test VM (IPVSADM_VM=1 unset): it flushes the IPVS table; use make bench")
		return 2
	}
	sizes, single, settle, err := benchConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ipvsadm-bench:", err)
		return 2
	}
	for _, d := range []string{*out, *work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "ipvsadm-bench:", err)
			return 2
		}
	}
	sf, err := os.Create(filepath.Join(*out, "samples.tsv"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "ipvsadm-bench:", err)
		return 2
	}
	defer sf.Close()
	b := &benchRunner{
		tools: [2]benchTool{
			{"ipvsadm", *ref, filepath.Join(*work, "path-ref")},
			{"ours", *ours, filepath.Join(*work, "path-ours")},
		},
		work:         *work,
		out:          *out,
		settle:       settle,
		singleRounds: single,
		samples:      bufio.NewWriter(sf),
	}
	fmt.Fprintln(b.samples, "workload\ttool\tround\twall_s\tuser_s\tsys_s\tmaxrss_kib")
	defer b.samples.Flush()

	if err := b.prepare(); err != nil {
		fmt.Printf("ipvsadm-bench: ERROR: %v\n", err)
		os.WriteFile(filepath.Join(*out, "FAILED"), []byte(err.Error()+"\n"), 0o644)
		return 2
	}

	start := time.Now()
	var desc []string
	for _, s := range sizes {
		desc = append(desc, fmt.Sprintf("%dx%d (%d lines, %d rounds)", s.services, s.reals, s.lines(), s.rounds))
	}
	fmt.Printf("ipvsadm-bench: tables %s; single commands %d rounds; reference %s, ours %s\n",
		strings.Join(desc, ", "), single, *ref, *ours)
	b.note("guest before: %s", benchMeminfo())
	for _, s := range sizes {
		if err := b.size(s); err != nil {
			b.samples.Flush()
			if errors.Is(err, errBenchCorrectness) {
				fmt.Printf("\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"+
					"!!! BENCH CORRECTNESS FAILURE (%dx%d): %v\n"+
					"!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
					s.services, s.reals, err)
				os.WriteFile(filepath.Join(*out, "FAILED"), []byte(err.Error()+"\n"), 0o644)
				return 1
			}
			fmt.Printf("ipvsadm-bench: ERROR: %v\n", err)
			os.WriteFile(filepath.Join(*out, "FAILED"), []byte(err.Error()+"\n"), 0o644)
			return 2
		}
	}
	b.note("driver run time %s (in the VM, excluding boot)", time.Since(start).Round(time.Second))
	report := b.report()
	if err := os.WriteFile(filepath.Join(*out, "results.txt"), []byte(report), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "ipvsadm-bench:", err)
		return 2
	}
	fmt.Print("\n" + report)
	return 0
}

func benchConfig() (sizes []benchSize, single int, settle time.Duration, err error) {
	sizeSpec, roundSpec, single := "2000x5,10000x5", "5,3", 15
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
		var s benchSize
		svc, rs, ok := strings.Cut(strings.TrimSpace(sp), "x")
		s.services, err = strconv.Atoi(svc)
		if err == nil {
			s.reals, err = strconv.Atoi(rs)
		}
		if !ok || err != nil || s.services < 2 || s.services > 60000 || s.reals < 1 || s.services*s.reals > 1000000 {
			return nil, 0, 0, fmt.Errorf("bad BENCH_SIZES entry %q (SERVICESxREALS, 2..60000 services, at most 1000000 real servers)", sp)
		}
		s.rounds = rounds[min(i, len(rounds)-1)]
		sizes = append(sizes, s)
	}
	return sizes, single, settle, nil
}

// benchAddr is the n-th (from 0) host address of the /8 (or /12) starting
// at base, skipping .0 and .255.
func benchAddr(base uint32, n int) string {
	a := base + uint32(n/254)<<8 + uint32(n%254) + 1
	return fmt.Sprintf("%d.%d.%d.%d", a>>24, a>>16&255, a>>8&255, a&255)
}

// benchRules is a rule file as `ipvsadm -Sn` prints it (same order): TCP
// services on distinct VIPs 10.0.x.y:80, two thirds wlc and one third rr,
// each with `reals` NAT real servers 172.16.x.y:8080 of weights 1..5.
func benchRules(services, reals int) []byte {
	var b bytes.Buffer
	for i := 0; i < services; i++ {
		vip := benchAddr(10<<24, i)
		sched := "wlc"
		if i%3 == 2 {
			sched = "rr"
		}
		fmt.Fprintf(&b, "-A -t %s:80 -s %s\n", vip, sched)
		for j := 0; j < reals; j++ {
			fmt.Fprintf(&b, "-a -t %s:80 -r %s:8080 -m -w %d\n", vip, benchAddr(172<<24|16<<16, i*reals+j), 1+(i+j)%5)
		}
	}
	return b.Bytes()
}

func (b *benchRunner) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	fmt.Println("ipvsadm-bench: " + s)
	b.notes = append(b.notes, s)
}

// benchSink keeps the -alloc-mib allocation alive.
var benchSink []byte

// prepare links each tool as DIR/ipvsadm (so that busybox time can run it
// under the name "ipvsadm") and calibrates busybox time's %M.
func (b *benchRunner) prepare() error {
	for _, t := range b.tools {
		if fi, err := os.Stat(t.path); err != nil || fi.Mode()&0o111 == 0 {
			return fmt.Errorf("%s: %s is not an executable file (%v)", t.name, t.path, err)
		}
		if err := os.MkdirAll(t.dir, 0o755); err != nil {
			return err
		}
		os.Remove(filepath.Join(t.dir, "ipvsadm"))
		if err := os.Symlink(t.path, filepath.Join(t.dir, "ipvsadm")); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	const mib = 96
	direct := benchTool{"calibration", self, filepath.Dir(self)}
	d, err := b.run(direct, false, "", "", []string{"ipvsadm-bench", "-alloc-mib", strconv.Itoa(mib)})
	if err != nil {
		return err
	}
	bb, err := b.run(direct, true, "", "", []string{"ipvsadm-bench", "-alloc-mib", strconv.Itoa(mib)})
	if err != nil {
		return fmt.Errorf("busybox time (%s time) does not work: %w", benchBusybox, err)
	}
	if d.maxRSS < mib<<10 {
		return fmt.Errorf("calibration: a child touching %d MiB reported ru_maxrss %d KiB", mib, d.maxRSS)
	}
	switch q := float64(bb.maxRSS) / float64(d.maxRSS); {
	case q > 0.9 && q < 1.1:
		b.rssFactor = 1
	case q > 3.6 && q < 4.4:
		b.rssFactor = 4
	default:
		return fmt.Errorf("calibration: busybox time %%M %d vs ru_maxrss %d KiB: unknown unit", bb.maxRSS, d.maxRSS)
	}
	b.note("maxRSS via busybox time (its %%M is ru_maxrss x %d; calibrated with a %d MiB child: %d KiB direct, %d via busybox)",
		b.rssFactor, mib, d.maxRSS, bb.maxRSS)
	return nil
}

// exec runs tool with args (as "ipvsadm"), stdin from the file stdin (""
// for /dev/null), stdout to the file stdout ("" for /dev/null).
func (b *benchRunner) exec(t benchTool, stdin, stdout string, args ...string) (benchSample, error) {
	return b.run(t, false, stdin, stdout, append([]string{"ipvsadm"}, args...))
}

// run runs argv (argv[0] the name the program sees); with viaTime, under
// busybox time, and the sample has only maxRSS (in busybox's unit when
// b.rssFactor is 0, i.e. during calibration). It fails when the program
// exits non-zero or writes to stderr.
func (b *benchRunner) run(t benchTool, viaTime bool, stdin, stdout string, argv []string) (benchSample, error) {
	var s benchSample
	in, err := os.Open(benchOr(stdin, os.DevNull))
	if err != nil {
		return s, err
	}
	defer in.Close()
	var outf *os.File
	if stdout == "" {
		outf, err = os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	} else {
		outf, err = os.Create(stdout)
	}
	if err != nil {
		return s, err
	}
	defer outf.Close()
	errPath := filepath.Join(b.work, "stderr")
	errf, err := os.Create(errPath)
	if err != nil {
		return s, err
	}
	defer errf.Close()
	// Files, not pipes: no copying goroutine competes with the child for
	// the single vCPU.
	cmd := &exec.Cmd{Path: t.path, Args: argv, Stdin: in, Stdout: outf, Stderr: errf}
	rssPath := filepath.Join(b.work, "maxrss")
	if viaTime {
		os.Remove(rssPath)
		cmd.Path = benchBusybox
		cmd.Args = append([]string{"busybox", "time", "-o", rssPath, "-f", "%M"}, argv...)
		cmd.Env = append(os.Environ(), "PATH="+t.dir+":"+os.Getenv("PATH"))
	}
	start := time.Now()
	err = cmd.Start()
	if err == nil {
		err = cmd.Wait()
	}
	s.wall = time.Since(start)
	what := fmt.Sprintf("%s (%s) %s", t.name, t.path, strings.Join(argv[1:], " "))
	if viaTime {
		what = "busybox time " + what
	}
	if stdin != "" {
		what += " < " + stdin
	}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			s.user = time.Duration(ru.Utime.Nano())
			s.sys = time.Duration(ru.Stime.Nano())
			s.maxRSS = ru.Maxrss
		}
	}
	errOut, _ := os.ReadFile(errPath)
	if err != nil || len(errOut) > 0 {
		if err == nil {
			err = errors.New("exit status 0")
		}
		return s, fmt.Errorf("%s: %v; stderr: %q", what, err, benchTrunc(errOut, 500))
	}
	if viaTime {
		out, err := os.ReadFile(rssPath)
		if err != nil {
			return s, fmt.Errorf("%s: %w", what, err)
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil || v <= 0 {
			return s, fmt.Errorf("%s: busybox time wrote %q, not a %%M", what, out)
		}
		if b.rssFactor > 0 {
			v /= b.rssFactor
		}
		s = benchSample{maxRSS: v}
	}
	return s, nil
}

func benchOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func benchTrunc(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// untimed runs a preparatory command and lets the kernel settle (deferred
// frees after a flush) before the next timed run.
func (b *benchRunner) untimed(t benchTool, stdin string, args ...string) error {
	if _, err := b.exec(t, stdin, "", args...); err != nil {
		return err
	}
	time.Sleep(b.settle)
	return nil
}

func (b *benchRunner) row(name, kind string) *benchRow {
	r := &benchRow{name: name, kind: kind}
	b.rows = append(b.rows, r)
	return r
}

// measure runs workload r: first, per tool, one untimed run under busybox
// time for the peak memory (also a warm-up), then rounds timed runs of
// each tool, alternating which goes first. setup and undo (may be nil) run
// untimed before and after every run.
func (b *benchRunner) measure(r *benchRow, rounds int, setup, undo func() error, stdin string, args ...string) error {
	step := func(f func() error) error {
		if f == nil {
			return nil
		}
		return f()
	}
	for i := range b.tools {
		if err := step(setup); err != nil {
			return err
		}
		if err := b.memory(r, i, stdin, args...); err != nil {
			return err
		}
		if err := step(undo); err != nil {
			return err
		}
	}
	for round := 0; round < rounds; round++ {
		for _, i := range benchOrder(round) {
			if err := step(setup); err != nil {
				return err
			}
			if err := b.timed(r, i, round, stdin, args...); err != nil {
				return err
			}
			if err := step(undo); err != nil {
				return err
			}
		}
	}
	return nil
}

// memory runs tool i under busybox time for row r's peak memory.
func (b *benchRunner) memory(r *benchRow, i int, stdin string, args ...string) error {
	t := b.tools[i]
	s, err := b.run(t, true, stdin, "", append([]string{"ipvsadm"}, args...))
	if err != nil {
		return err
	}
	r.maxRSS[i] = s.maxRSS
	fmt.Fprintf(b.samples, "%s\t%s\tmem\t\t\t\t%d\n", r.name, t.name, s.maxRSS)
	fmt.Printf("  %-34s %-7s mem %s maxrss %6.1f MiB\n", r.name, t.name, strings.Repeat(" ", 42), float64(s.maxRSS)/1024)
	return nil
}

// timed runs tool i once, timed, for row r.
func (b *benchRunner) timed(r *benchRow, i, round int, stdin string, args ...string) error {
	t := b.tools[i]
	s, err := b.exec(t, stdin, "", args...)
	if err != nil {
		return err
	}
	r.samples[i] = append(r.samples[i], s)
	fmt.Fprintf(b.samples, "%s\t%s\t%d\t%.6f\t%.6f\t%.6f\t\n", r.name, t.name, round+1,
		s.wall.Seconds(), s.user.Seconds(), s.sys.Seconds())
	fmt.Printf("  %-34s %-7s r%-2d %8.3fs  user %7.3fs  sys %7.3fs\n",
		r.name, t.name, round+1, s.wall.Seconds(), s.user.Seconds(), s.sys.Seconds())
	return nil
}

func (b *benchRunner) size(s benchSize) error {
	ref := b.tools[0]
	lbl := s.label()
	fmt.Printf("\n== table %dx%d: %d lines ==\n", s.services, s.reals, s.lines())
	rules := filepath.Join(b.work, fmt.Sprintf("rules-%dx%d", s.services, s.reals))
	data := benchRules(s.services, s.reals)
	if err := os.WriteFile(rules, data, 0o644); err != nil {
		return err
	}
	// The rows, in the order of the report.
	rRestore := b.row(fmt.Sprintf("restore %s lines (%dx%d)", lbl, s.services, s.reals), "restore")
	var rLists []*benchRow
	lists := [][]string{{"-Ln"}, {"-Sn"}, {"-Ln", "--stats"}}
	for _, args := range lists {
		rLists = append(rLists, b.row(strings.Join(args, " ")+" "+lbl, "list"))
	}
	rAdd := b.row("-A single, "+lbl+" loaded", "single")
	rAddDest := b.row("-a single, "+lbl+" loaded", "single")
	rFlush := b.row("-C "+lbl, "flush")

	// Correctness: each tool restores into a flushed table; the reference's
	// -Sn must be the file itself, for both. These restores (and ours'
	// flush of the first table) run under busybox time: their peak memory.
	fmt.Println("correctness checks ...")
	if err := b.untimed(ref, "", "-C"); err != nil {
		return err
	}
	for i, t := range b.tools {
		if i == 1 {
			if err := b.memory(rFlush, 1, "", "-C"); err != nil {
				return err
			}
			time.Sleep(b.settle)
		}
		if err := b.memory(rRestore, i, rules, "-R"); err != nil {
			return err
		}
		p := filepath.Join(b.work, "restored-by-"+t.name)
		if _, err := b.exec(ref, "", p, "-Sn"); err != nil {
			return err
		}
		saved, _ := os.ReadFile(p)
		if !bytes.Equal(saved, data) {
			return fmt.Errorf("%w: after `%s -R` of %s, the reference's -Sn differs from the file: %s",
				errBenchCorrectness, t.name, rules, benchDiff(data, saved))
		}
	}
	b.note("%dx%d after load: %s", s.services, s.reals, benchMeminfo())
	// The table is loaded (by ours): the listings must be byte-identical.
	for _, args := range lists {
		var outs [2][]byte
		for i, t := range b.tools {
			p := filepath.Join(b.work, "list-"+t.name)
			if _, err := b.exec(t, "", p, args...); err != nil {
				return err
			}
			outs[i], _ = os.ReadFile(p)
		}
		if !bytes.Equal(outs[0], outs[1]) {
			return fmt.Errorf("%w: `ipvsadm %s` output of ours differs from the reference's: %s",
				errBenchCorrectness, strings.Join(args, " "), benchDiff(outs[0], outs[1]))
		}
		if len(outs[0]) == 0 {
			return fmt.Errorf("%w: `ipvsadm %s` printed nothing", errBenchCorrectness, strings.Join(args, " "))
		}
	}
	fmt.Println("correctness: OK (restore by either tool gives the same -Sn, equal to the file; -Ln, -Sn, -Ln --stats byte-identical)")

	// Listings of the loaded table.
	for k, args := range lists {
		if err := b.measure(rLists[k], s.rounds, nil, nil, "", args...); err != nil {
			return err
		}
	}

	// Single commands on the loaded table, undone untimed.
	vip := benchAddr(10<<24, s.services/2) + ":80"
	newVIP := "10.255.255.254:80"
	newRS := "172.31.255.254:8080"
	if err := b.measure(rAdd, b.singleRounds, nil, func() error {
		_, err := b.exec(ref, "", "", "-D", "-t", newVIP)
		return err
	}, "", "-A", "-t", newVIP, "-s", "wlc"); err != nil {
		return err
	}
	if err := b.measure(rAddDest, b.singleRounds, nil, func() error {
		_, err := b.exec(ref, "", "", "-d", "-t", vip, "-r", newRS)
		return err
	}, "", "-a", "-t", vip, "-r", newRS, "-m", "-w", "2"); err != nil {
		return err
	}

	// -C of the loaded table and -R into the flushed one, each tool its own
	// pair: every restore reloads the table for the next -C.
	if err := b.memory(rFlush, 0, "", "-C"); err != nil {
		return err
	}
	time.Sleep(b.settle)
	for round := 0; round < s.rounds; round++ {
		for _, i := range benchOrder(round) {
			if err := b.timed(rRestore, i, round, rules, "-R"); err != nil {
				return err
			}
			time.Sleep(b.settle)
			if err := b.timed(rFlush, i, round, "", "-C"); err != nil {
				return err
			}
			time.Sleep(b.settle)
		}
	}
	// Nothing left behind: -C emptied the table.
	p := filepath.Join(b.work, "final")
	if _, err := b.exec(ref, "", p, "-Sn"); err != nil {
		return err
	}
	if fi, err := os.Stat(p); err != nil || fi.Size() != 0 {
		return fmt.Errorf("%w: the table is not empty after -C", errBenchCorrectness)
	}
	return nil
}

// benchDiff describes the first difference of two outputs.
func benchDiff(want, got []byte) string {
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

// benchMeminfo summarises the guest's memory.
func benchMeminfo() string {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	want := map[string]bool{"MemTotal": true, "MemAvailable": true, "Slab": true, "Percpu": true}
	var parts []string
	sc := bufio.NewScanner(io.LimitReader(f, 1<<16))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && want[k] {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			parts = append(parts, fmt.Sprintf("%s %d MiB", k, kb/1024))
		}
	}
	return strings.Join(parts, ", ")
}

func benchMedian(ss []benchSample, f func(benchSample) time.Duration) float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s).Seconds()
	}
	sort.Float64s(v)
	n := len(v)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

const benchMemTargetMiB = 64

func (b *benchRunner) report() string {
	var w strings.Builder
	hdr := []string{"workload", "ipvsadm median s", "ours median s", "ratio", "ipvsadm sys s", "ours sys s",
		"ipvsadm maxRSS MiB", "ours maxRSS MiB", "target (ratio; ours mem < 64 MiB)"}
	rows := [][]string{hdr}
	detail := [][]string{{"workload", "ipvsadm user s", "ipvsadm sys s", "ours user s", "ours sys s", "rounds"}}
	pass, miss := 0, 0
	for _, r := range b.rows {
		wall := func(s benchSample) time.Duration { return s.wall }
		user := func(s benchSample) time.Duration { return s.user }
		sys := func(s benchSample) time.Duration { return s.sys }
		rw, ow := benchMedian(r.samples[0], wall), benchMedian(r.samples[1], wall)
		ratio := rw / ow
		var want float64
		switch r.kind {
		case "restore":
			want = 10
		case "list":
			want = 3
		default:
			want = 1
		}
		verdict := func(ok bool) string {
			if ok {
				pass++
				return "PASS"
			}
			miss++
			return "MISS"
		}
		oursMem := float64(r.maxRSS[1]) / 1024
		target := fmt.Sprintf(">=%gx %s, mem %s", want, verdict(ratio >= want), verdict(oursMem < benchMemTargetMiB))
		rows = append(rows, []string{r.name,
			fmt.Sprintf("%.3f", rw), fmt.Sprintf("%.3f", ow), fmt.Sprintf("%.2fx", ratio),
			fmt.Sprintf("%.3f", benchMedian(r.samples[0], sys)), fmt.Sprintf("%.3f", benchMedian(r.samples[1], sys)),
			fmt.Sprintf("%.1f", float64(r.maxRSS[0])/1024), fmt.Sprintf("%.1f", oursMem), target})
		detail = append(detail, []string{r.name,
			fmt.Sprintf("%.3f", benchMedian(r.samples[0], user)), fmt.Sprintf("%.3f", benchMedian(r.samples[0], sys)),
			fmt.Sprintf("%.3f", benchMedian(r.samples[1], user)), fmt.Sprintf("%.3f", benchMedian(r.samples[1], sys)),
			strconv.Itoa(len(r.samples[0]))})
	}
	fmt.Fprintln(&w, "ipvsadm 1.31 (reference) vs ours: medians of wall time (process start to exit) over alternating rounds;")
	fmt.Fprintln(&w, "ratio = ipvsadm/ours (higher is better for ours); sys = median system CPU (rusage);")
	fmt.Fprintln(&w, "maxRSS = ru_maxrss of one extra (warm-up) run of each tool under busybox time, not polluted by the driver.")
	fmt.Fprintln(&w)
	benchTable(&w, rows)
	fmt.Fprintln(&w)
	fmt.Fprintf(&w, "targets: %d PASS, %d MISS (restore >=10x, -Ln/-Sn/--stats >=3x, single commands and -C >=1x, ours peak memory < %d MiB; informational)\n", pass, miss, benchMemTargetMiB)
	fmt.Fprintln(&w)
	fmt.Fprintln(&w, "CPU time split (medians, seconds):")
	benchTable(&w, detail)
	fmt.Fprintln(&w)
	for _, n := range b.notes {
		fmt.Fprintln(&w, "note: "+n)
	}
	return w.String()
}

func benchTable(w io.Writer, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	for k, r := range rows {
		var line []string
		for i, c := range r {
			if i == 0 || i == len(r)-1 {
				line = append(line, fmt.Sprintf("%-*s", width[i], c))
			} else {
				line = append(line, fmt.Sprintf("%*s", width[i], c))
			}
		}
		fmt.Fprintln(w, strings.TrimRight("| "+strings.Join(line, " | ")+" |", " "))
		if k == 0 {
			var sep []string
			for i := range r {
				sep = append(sep, strings.Repeat("-", width[i]))
			}
			fmt.Fprintln(w, "|-"+strings.Join(sep, "-|-")+"-|")
		}
	}
}

// benchOrder alternates which tool goes first.
func benchOrder(round int) []int {
	if round%2 == 0 {
		return []int{0, 1}
	}
	return []int{1, 0}
}
