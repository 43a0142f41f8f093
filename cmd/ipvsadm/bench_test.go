package main

// ipvsadm-bench: the driver of `make bench` (vm/bench.sh). The test binary,
// installed in the VM under the name ipvsadm-bench, compares the reference
// ipvsadm 1.31 with a real (non-test) build of ours on the same kernel.
//
//	ipvsadm-bench -ours PATH [-ref PATH] [-out DIR] [-work DIR]
//
// For every table size (services x real servers) it generates a rule file
// in `ipvsadm -Sn` form, checks correctness (each tool restores it into an
// empty table, after which the reference's -Sn is the file itself; -Ln,
// -Sn and -Ln --stats of ours and the reference are byte-identical), then
// times both tools, alternating which goes first each round:
//   - -R of the file into an empty table;
//   - -Ln, -Sn, -Ln --stats of the loaded table (stdout to /dev/null);
//   - a single -A and a single -a on the loaded table (undone, untimed,
//     between rounds);
//   - -C of the loaded table.
// Each timed run is measured from process start to exit (wall) with the
// rusage of the child (user and system CPU). Both tools run with argv[0]
// "ipvsadm". It writes DIR/results.txt (the table of medians, ratios and
// targets) and DIR/samples.tsv (every run).
//
// Namespaces: every restore goes into a new network namespace (made
// untimed, entered by this driver's locked thread, so the tool is still
// its direct child). A restore into a table just flushed (-C) in the same
// namespace would measure the kernel instead: IPVS keeps deleted real
// servers in a per-namespace trash list for 1-3 minutes and walks that
// list on every real-server add (ip_vs_trash_get_dest), which makes a 60k
// restore after a -C cost about a minute of system time for either tool.
// Each timed restore's table is then flushed by a timed -C of the same
// tool, and the namespace dropped (untimed, waiting for the kernel to free
// it). The listings and single commands run on the table the reference
// loaded in the correctness check.
//
// Peak memory: the ru_maxrss of a direct child of this (Go, multi-MiB)
// driver is worthless: exec records the hiwater RSS of the mm it replaces,
// which for a vfork child is the driver's own. So one untimed run per tool
// and workload (also a warm-up) goes through busybox's time applet (a tiny
// static process whose child's maxrss is that child's own); busybox 1.35
// reports ru_maxrss multiplied by pagesize/1024, a factor this driver
// calibrates at start with a child of known size.
//
// Exit status: 0 when all ran (even if targets are missed), 1 when a
// correctness check failed, 2 on any other error. It refuses to run
// outside the VM (IPVSADM_VM=1).
//
// Environment (vm/bench.sh forwards these):
//
//	BENCH_QUICK=1          small tables (200x5, 1000x5), 3 rounds, 5 single rounds
//	BENCH_SIZES            table sizes, SERVICESxREALS comma-separated
//	                       (default 2000x5,10000x5)
//	BENCH_ROUNDS           rounds per size, comma-separated, the last one
//	                       repeating (default 7,5)
//	BENCH_SINGLE_ROUNDS    rounds of the single -A/-a commands (default 15)
//	BENCH_SETTLE_MS        pause before each timed restore and -C, letting
//	                       the kernel finish deferred work (default 500)

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
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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

// benchSample is one run.
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
	initNS       int   // descriptor of the driver's network namespace
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
	if os.Getenv("IPVSADM_VM") != "1" {
		fmt.Fprintln(os.Stderr, "ipvsadm-bench: refusing to run outside the test VM (IPVSADM_VM=1 unset); use make bench")
		return 2
	}
	fail := func(code int, err error) int {
		os.WriteFile(filepath.Join(*out, "FAILED"), []byte(err.Error()+"\n"), 0o644)
		if code == 1 {
			fmt.Printf("\n%s\n!!! BENCH CORRECTNESS FAILURE: %v\n%s\n", strings.Repeat("!", 72), err, strings.Repeat("!", 72))
		} else {
			fmt.Printf("ipvsadm-bench: ERROR: %v\n", err)
		}
		return code
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
		return fail(2, err)
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
	if b.initNS, err = unix.Open("/proc/self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
		return fail(2, fmt.Errorf("open /proc/self/ns/net: %w", err))
	}
	if err := b.prepare(); err != nil {
		return fail(2, err)
	}

	start := time.Now()
	var desc []string
	for _, s := range sizes {
		desc = append(desc, fmt.Sprintf("%dx%d (%d lines, %d rounds)", s.services, s.reals, s.lines(), s.rounds))
	}
	fmt.Printf("ipvsadm-bench: tables %s; single commands %d rounds; reference %s, ours %s\n",
		strings.Join(desc, ", "), single, *ref, *ours)
	b.note("guest at start: %s", benchMeminfo())
	for _, s := range sizes {
		if err := b.size(s); err != nil {
			b.samples.Flush()
			if errors.Is(err, errBenchCorrectness) {
				return fail(1, fmt.Errorf("table %dx%d: %w", s.services, s.reals, err))
			}
			return fail(2, fmt.Errorf("table %dx%d: %w", s.services, s.reals, err))
		}
	}
	b.note("driver run time %s (in the VM, excluding boot)", time.Since(start).Round(time.Second))
	report := b.report()
	if err := os.WriteFile(filepath.Join(*out, "results.txt"), []byte(report), 0o644); err != nil {
		return fail(2, err)
	}
	fmt.Print("\n" + report)
	return 0
}

func benchConfig() (sizes []benchSize, single int, settle time.Duration, err error) {
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

// benchAddr is the n-th (from 0) host address after base, skipping .0
// and .255.
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
	argv := []string{"ipvsadm-bench", "-alloc-mib", strconv.Itoa(mib)}
	cal := benchTool{"calibration", self, filepath.Dir(self)}
	d, err := b.run(-1, cal, false, "", "", argv)
	if err != nil {
		return err
	}
	bb, err := b.run(-1, cal, true, "", "", argv)
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

// newNS makes a new network namespace and returns its descriptor.
func (b *benchRunner) newNS() (int, error) {
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return -1, fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
	}
	fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		// lo up, as in the initial namespace: without 127.0.0.1 there is
		// no local routing table and IPVS refuses every real server
		// ("address not unicast").
		if err = benchLoUp(); err != nil {
			unix.Close(fd)
		}
	}
	if serr := unix.Setns(b.initNS, unix.CLONE_NEWNET); serr != nil {
		// The thread stays locked (and dies with its goroutine).
		return -1, fmt.Errorf("setns back to the initial namespace: %w", serr)
	}
	runtime.UnlockOSThread()
	if err != nil {
		return -1, fmt.Errorf("new namespace: %w", err)
	}
	return fd, nil
}

// benchLoUp sets lo up in the calling thread's network namespace.
func benchLoUp() error {
	sock, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(sock)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(sock, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(sock, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS lo: %w", err)
	}
	return nil
}

// exec runs tool t with args (as "ipvsadm") in namespace ns (-1: the
// driver's), stdin from the file stdin ("" for /dev/null), stdout to the
// file stdout ("" for /dev/null).
func (b *benchRunner) exec(ns int, t benchTool, stdin, stdout string, args ...string) (benchSample, error) {
	return b.run(ns, t, false, stdin, stdout, append([]string{"ipvsadm"}, args...))
}

// run runs argv (argv[0] the name the program sees) in namespace ns (-1:
// the driver's); with viaTime, under busybox time, and the sample has only
// maxRSS (in busybox's unit while b.rssFactor is 0, i.e. in calibration).
// It fails when the program exits non-zero or writes to stderr.
func (b *benchRunner) run(ns int, t benchTool, viaTime bool, stdin, stdout string, argv []string) (benchSample, error) {
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
	what := fmt.Sprintf("%s (%s) %s", t.name, t.path, strings.Join(argv[1:], " "))
	if viaTime {
		what = "busybox time " + what
	}
	if stdin != "" {
		what += " < " + stdin
	}
	// The child is cloned from this thread: it starts in the thread's
	// namespace.
	if ns >= 0 {
		runtime.LockOSThread()
		if err := unix.Setns(ns, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			return s, fmt.Errorf("%s: setns: %w", what, err)
		}
	}
	start := time.Now()
	err = cmd.Start()
	if ns >= 0 {
		if serr := unix.Setns(b.initNS, unix.CLONE_NEWNET); serr != nil {
			if err == nil {
				cmd.Wait()
			}
			return s, fmt.Errorf("setns back to the initial namespace: %w", serr)
		}
		runtime.UnlockOSThread()
	}
	if err == nil {
		err = cmd.Wait()
	}
	s.wall = time.Since(start)
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

func (b *benchRunner) row(name, kind string) *benchRow {
	r := &benchRow{name: name, kind: kind}
	b.rows = append(b.rows, r)
	return r
}

// measure runs workload r in namespace ns: first, per tool, one untimed
// run under busybox time for the peak memory (also a warm-up), then rounds
// timed runs of each tool, alternating which goes first. undo (may be nil)
// runs untimed after every run.
func (b *benchRunner) measure(ns int, r *benchRow, rounds int, undo func() error, args ...string) error {
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
		for _, i := range benchOrder(round) {
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
func (b *benchRunner) memory(ns int, r *benchRow, i int, stdin string, args ...string) error {
	t := b.tools[i]
	s, err := b.run(ns, t, true, stdin, "", append([]string{"ipvsadm"}, args...))
	if err != nil {
		return err
	}
	r.maxRSS[i] = s.maxRSS
	fmt.Fprintf(b.samples, "%s\t%s\tmem\t\t\t\t%d\n", r.name, t.name, s.maxRSS)
	fmt.Printf("  %-34s %-7s mem %s maxrss %6.1f MiB\n", r.name, t.name, strings.Repeat(" ", 42), float64(s.maxRSS)/1024)
	return nil
}

// timed runs tool i once, timed, for row r.
func (b *benchRunner) timed(ns int, r *benchRow, i, round int, stdin string, args ...string) error {
	t := b.tools[i]
	s, err := b.exec(ns, t, stdin, "", args...)
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

func (b *benchRunner) size(s benchSize) (err error) {
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
	lists := [][]string{{"-Ln"}, {"-Sn"}, {"-Ln", "--stats"}}
	var rLists []*benchRow
	for _, args := range lists {
		rLists = append(rLists, b.row(strings.Join(args, " ")+" "+lbl, "list"))
	}
	rAdd := b.row("-A single, "+lbl+" loaded", "single")
	rAddDest := b.row("-a single, "+lbl+" loaded", "single")
	rFlush := b.row("-C "+lbl, "flush")

	// Every namespace of this size; each is dropped as soon as it served,
	// so that at most two tables exist at a time (guest memory: a 60k-line
	// table takes about 30 MiB of kernel memory).
	live := map[int]bool{}
	drop := func(fd int) {
		if live[fd] {
			unix.Close(fd)
			delete(live, fd)
			benchWaitSlab()
		}
	}
	defer func() {
		for fd := range live {
			unix.Close(fd)
		}
		benchWaitSlab()
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
			return fmt.Errorf("%w: the table is not empty after -C", errBenchCorrectness)
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
				errBenchCorrectness, t.name, rules, benchDiff(data, saved))
		}
	}
	b.note("%dx%d, two tables loaded: %s", s.services, s.reals, benchMeminfo())
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
				errBenchCorrectness, strings.Join(args, " "), benchDiff(outs[0], outs[1]))
		}
		if len(outs[0]) == 0 {
			return fmt.Errorf("%w: `ipvsadm %s` printed nothing", errBenchCorrectness, strings.Join(args, " "))
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

	// Listings and single commands, on the table the reference loaded.
	work := checked[0]
	for k, args := range lists {
		if err := b.measure(work, rLists[k], s.rounds, nil, args...); err != nil {
			return err
		}
	}
	vip := benchAddr(10<<24, s.services/2) + ":80"
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
	// loaded, by the same tool.
	for round := 0; round < s.rounds; round++ {
		for _, i := range benchOrder(round) {
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
	}
	return nil
}

// benchWaitSlab waits (at most a minute) for the kernel to finish freeing
// dropped namespaces: at least a second, then until the slab stops
// shrinking for two polls in a row.
func benchWaitSlab() {
	prev, calm := benchMeminfoKiB("Slab"), 0
	for i := 1; i <= 120 && calm < 2; i++ {
		time.Sleep(500 * time.Millisecond)
		cur := benchMeminfoKiB("Slab")
		if i >= 2 && cur >= prev-128 {
			calm++
		} else {
			calm = 0
		}
		prev = cur
	}
}

func benchMeminfoKiB(key string) int {
	data, _ := os.ReadFile("/proc/meminfo")
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == key {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
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
	var parts []string
	for _, k := range []string{"MemTotal", "MemAvailable", "Slab", "Percpu"} {
		parts = append(parts, fmt.Sprintf("%s %d MiB", k, benchMeminfoKiB(k)/1024))
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
	fmt.Fprintln(&w, "restore = into an empty table in a new network namespace (no IPVS dest trash: see bench_test.go).")
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

// TestBenchRules checks the benchmark's rule generator and configuration
// (the benchmark itself runs only in the VM, through make bench).
func TestBenchRules(t *testing.T) {
	want := `-A -t 10.0.0.1:80 -s wlc
-a -t 10.0.0.1:80 -r 172.16.0.1:8080 -m -w 1
-a -t 10.0.0.1:80 -r 172.16.0.2:8080 -m -w 2
-A -t 10.0.0.2:80 -s wlc
-a -t 10.0.0.2:80 -r 172.16.0.3:8080 -m -w 2
-a -t 10.0.0.2:80 -r 172.16.0.4:8080 -m -w 3
-A -t 10.0.0.3:80 -s rr
-a -t 10.0.0.3:80 -r 172.16.0.5:8080 -m -w 3
-a -t 10.0.0.3:80 -r 172.16.0.6:8080 -m -w 4
`
	if got := string(benchRules(3, 2)); got != want {
		t.Errorf("benchRules(3, 2) =\n%s\nwant\n%s", got, want)
	}
	if got := benchAddr(10<<24, 254); got != "10.0.1.1" {
		t.Errorf("benchAddr(10.0.0.0, 254) = %s, want 10.0.1.1", got)
	}
	if n := bytes.Count(benchRules(2000, 5), []byte("\n")); n != 12000 {
		t.Errorf("benchRules(2000, 5) has %d lines, want 12000", n)
	}
	t.Setenv("BENCH_QUICK", "")
	t.Setenv("BENCH_SIZES", "")
	t.Setenv("BENCH_ROUNDS", "")
	t.Setenv("BENCH_SINGLE_ROUNDS", "")
	t.Setenv("BENCH_SETTLE_MS", "")
	sizes, single, settle, err := benchConfig()
	if err != nil || len(sizes) != 2 || sizes[0] != (benchSize{2000, 5, 7}) || sizes[1] != (benchSize{10000, 5, 5}) ||
		single != 15 || settle != 500*time.Millisecond {
		t.Errorf("benchConfig() = %v, %d, %v, %v", sizes, single, settle, err)
	}
	t.Setenv("BENCH_SIZES", "100x2,50x1,70x3")
	t.Setenv("BENCH_ROUNDS", "4,2")
	sizes, _, _, err = benchConfig()
	if err != nil || len(sizes) != 3 || sizes[2] != (benchSize{70, 3, 2}) {
		t.Errorf("benchConfig() with BENCH_SIZES, BENCH_ROUNDS = %v, %v", sizes, err)
	}
	t.Setenv("BENCH_SIZES", "100")
	if _, _, _, err := benchConfig(); err == nil {
		t.Error("benchConfig() accepted BENCH_SIZES=100")
	}
}
