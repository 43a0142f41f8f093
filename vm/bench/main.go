// Command bench, run in the VM as ipvsadm-bench, is the driver of
// `make bench` (vm/bench.sh): it compares the reference ipvsadm 1.31 with a real (non-test)
// build of ours on the same kernel. It lives under vm/ because it is a
// development tool that only runs inside the VM of vm/vm.sh, not a command
// this project ships (cmd/ holds those).
//
//	ipvsadm-bench -ours PATH [-ref PATH] [-moby PATH] [-out DIR] [-work DIR]
//
// For every table size (services x real servers) it generates a rule file
// in `ipvsadm -Sn` form, checks correctness (each tool restores it into an
// empty table, after which the reference's -Sn is the file itself; -Ln,
// -Sn and -Ln --stats of ours and the reference are byte-identical), then
// times both tools, alternating which goes first each round:
//   - -R of the file into an empty table;
//   - -Ln, -Sn, -Ln --stats of the loaded table (stdout to /dev/null);
//   - ours -Ln --json against ours -Ln (1.31 has no JSON; the document is
//     checked to hold every service and real server first);
//   - a single -A and a single -a on the loaded table (undone, untimed,
//     between rounds);
//   - -C of the loaded table.
//
// With -moby, a third contender joins every table size (moby.go): the Go
// library github.com/moby/ipvs through ipvsadm-moby (vm/bench/moby),
// checked like the tools (its restore gives the file's -Sn; its listing
// holds every service and real server), then timed in the same rounds:
// its restore (one request per line) and flush in a new namespace each
// round, and its listing with counters against ours -Ln --stats --exact
// and -Ln --json, alternating. Its rows form a table of their own.
//
// Then the converge workloads, on the largest table (BENCH_CONVERGE): a
// desired table with 1% of the lines changed (convergeTables), reached
// from a new namespace loaded with the table (untimed) by ours with
// `-R --replace` and by ipvsadm 1.31's way, -C then -R (one sample, the
// two runs' times added; the -C leaves every real server in the IPVS dest
// trash that the -R then walks, which is what that way costs). While each
// runs, a prober in the driver looks up 200 services both tables hold by
// key over netlink: the flush window is how long some of them were
// missing (target for ours: none). After the first round of each way the
// reference's -Sn must be the desired table's. Last, `-R --replace` of
// the loaded table itself (no change) against ours' own -Sn of it.
//
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
//	BENCH_WIDE             real servers of the one-service workload (20000;
//	                       quick: 5000; 0 leaves it out)
//	                       (default 2000x5,10000x5)
//	BENCH_CONVERGE         table of the converge workloads, SERVICESxREALS
//	                       (default the largest of BENCH_SIZES; 0 leaves
//	                       them out)
//	BENCH_CONVERGE_ROUNDS  rounds of the converge workloads (default 2)
//	BENCH_ROUNDS           rounds per size, comma-separated, the last one
//	                       repeating (default 7,5)
//	BENCH_SINGLE_ROUNDS    rounds of the single -A/-a commands (default 15)
//	BENCH_SETTLE_MS        pause before each timed restore and -C, letting
//	                       the kernel finish deferred work (default 500)
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// tool is one of the two programs compared.
type tool struct {
	name string // "ipvsadm" (the reference) or "ours"
	path string
	dir  string // holds a link "ipvsadm" to path, for busybox time's PATH lookup
}

const busybox = "/bin/busybox"

// sample is one run.
type sample struct {
	wall, user, sys time.Duration
	maxRSS          int64 // KiB
}

// A tableSize is one table of the benchmark and its number of rounds.
type tableSize struct {
	services, reals, rounds int
}

func (s tableSize) lines() int { return s.services * (1 + s.reals) }

func (s tableSize) label() string {
	n := s.lines()
	if n%1000 == 0 {
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.Itoa(n)
}

// A workload is one measured command line (a row of the report): its
// samples per tool (0 ref, 1 ours).
type workload struct {
	name    string
	kind    string // restore, list, single, flush, wide, converge, replace-same: selects the target
	vs      string // what column 0 holds when it is not the reference
	samples [2][]sample
	maxRSS  [2]int64 // KiB, from the busybox time run
	windows [2][]flushWindow
}

// A runner runs the whole benchmark and collects its rows.
type runner struct {
	tools        [2]tool // 0: reference, 1: ours
	moby         *tool   // the third contender (vm/bench/moby); nil leaves it out
	work, out    string
	settle       time.Duration
	singleRounds int
	rssFactor    int64 // busybox time's %M is ru_maxrss times this
	initNS       int   // descriptor of the driver's network namespace
	rows         []*workload
	samples      *bufio.Writer
	notes        []string
}

// errCorrectness marks a correctness failure (exit status 1).
var errCorrectness = errors.New("correctness check failed")

// allocSink keeps the -alloc-mib allocation alive.
var allocSink []byte

func benchMain() int {
	fs := flag.NewFlagSet("ipvsadm-bench", flag.ContinueOnError)
	ref := fs.String("ref", "/ref/bin/ipvsadm", "the reference ipvsadm 1.31")
	ours := fs.String("ours", "", "a real build of ours (CGO_ENABLED=0 go build ./cmd/ipvsadm)")
	out := fs.String("out", "/tmp/bench-out", "directory for results.txt and samples.tsv")
	moby := fs.String("moby", "", "ipvsadm-moby, the driver of github.com/moby/ipvs (empty: leave it out)")
	work := fs.String("work", "/tmp/bench-work", "scratch directory (rule files, outputs)")
	alloc := fs.Int("alloc-mib", 0, "internal: touch this many MiB and exit (memory calibration)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if *alloc > 0 {
		allocSink = make([]byte, *alloc<<20)
		for i := 0; i < len(allocSink); i += 4096 {
			allocSink[i] = 1
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
	sizes, single, settle, err := config()
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
	b := &runner{
		tools: [2]tool{
			{"ipvsadm", *ref, filepath.Join(*work, "path-ref")},
			{"ours", *ours, filepath.Join(*work, "path-ours")},
		},
		work:         *work,
		out:          *out,
		settle:       settle,
		singleRounds: single,
		samples:      bufio.NewWriter(sf),
	}
	if *moby != "" {
		b.moby = &tool{mobyName, *moby, filepath.Join(*work, "path-moby")}
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
	b.note("guest at start: %s", meminfo())
	for _, s := range sizes {
		if err := b.size(s); err != nil {
			b.samples.Flush()
			if errors.Is(err, errCorrectness) {
				return fail(1, fmt.Errorf("table %dx%d: %w", s.services, s.reals, err))
			}
			return fail(2, fmt.Errorf("table %dx%d: %w", s.services, s.reals, err))
		}
	}
	if s, ok, err := convergeConfig(sizes); err != nil {
		return fail(2, err)
	} else if ok {
		if err := b.converge(s); err != nil {
			b.samples.Flush()
			if errors.Is(err, errCorrectness) {
				return fail(1, fmt.Errorf("converge %dx%d: %w", s.services, s.reals, err))
			}
			return fail(2, fmt.Errorf("converge %dx%d: %w", s.services, s.reals, err))
		}
	}
	if reals, rounds, err := wideConfig(); err != nil {
		return fail(2, err)
	} else if reals > 0 {
		if err := b.wide(reals, rounds); err != nil {
			b.samples.Flush()
			if errors.Is(err, errCorrectness) {
				return fail(1, err)
			}
			return fail(2, err)
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

func (b *runner) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	fmt.Println("ipvsadm-bench: " + s)
	b.notes = append(b.notes, s)
}

func main() {
	os.Exit(benchMain())
}
