package main

// TestKernelConformance: the differential conformance suite. Every case of
// testdata/conformance/*.txt (format: testdata/conformance/README.md) runs
// in two fresh network namespaces, the reference ipvsadm 1.31 in one and
// ours in the other; stdout, stderr and exit status of every command, and
// finally `ipvsadm -Sn` (printed by the reference in both namespaces), must
// be byte-identical, unless the case is a listed difference (differs:).
//
// Environment:
//   IPVSADM_CONFORMANCE_OURS  run this binary as "ours" instead of the test
//                             binary (e.g. /ref/bin/ipvsadm to validate the
//                             harness: every case must then be identical)
//   IPVSADM_CONFORMANCE_REF   directory holding the reference ipvsadm
//                             (default /ref/bin)
//   IPVSADM_CONFORMANCE_JOBS  cases run at the same time (default 4)
//   IPVSADM_CONFORMANCE_DIR   the case directory (default ../../testdata/conformance)
//   IPVSADM_CONFORMANCE_COMPAT  COMPATIBILITY.md (default ../../COMPATIBILITY.md)
//   IPVSADM_CONFORMANCE_RECORD  a directory: write each case's transcript
//                             (commands and the reference's exact output)
//                             there as <file>.<case>.txt, for reviewing
//                             what the real ipvsadm printed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs/ipvstest"
)

func init() {
	testPrograms["udpsend"] = udpSendMain
	testPrograms["tcpconn"] = tcpConnMain
	testPrograms["as-nobody"] = asNobodyMain
}

// nobodyID is the user and group id of unprivileged runs.
const nobodyID = 65534

// asNobodyMain: as-nobody PROG ARGS... runs PROG (found on PATH) as user
// and group 65534 with no supplementary groups and no capabilities.
func asNobodyMain() int {
	args := os.Args[1:]
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: as-nobody PROG ARGS...")
		return 2
	}
	path, err := exec.LookPath(args[0])
	if err == nil {
		err = syscall.Setgroups(nil)
	}
	if err == nil {
		err = syscall.Setgid(nobodyID)
	}
	if err == nil {
		err = syscall.Setuid(nobodyID)
	}
	if err == nil {
		err = syscall.Exec(path, args, os.Environ())
	}
	fmt.Fprintln(os.Stderr, "as-nobody:", err)
	return 126
}

// udpSendMain: udpsend [-n COUNT] [-s SRCPORT] [-b BYTES] [-d DATA] ADDR:PORT...
// sends COUNT (default 1) datagrams of BYTES (default 16) 'x' bytes, or of
// DATA (Go string escapes such as \r\n allowed), to each address.
func udpSendMain() int {
	count, src, size := 1, 0, 16
	var data []byte
	args := os.Args[1:]
	for len(args) >= 2 && strings.HasPrefix(args[0], "-") {
		if args[0] == "-d" {
			d, err := strconv.Unquote(`"` + args[1] + `"`)
			if err != nil {
				fmt.Fprintf(os.Stderr, "udpsend: bad -d %q\n", args[1])
				return 2
			}
			data = []byte(d)
			args = args[2:]
			continue
		}
		v, err := strconv.Atoi(args[1])
		if err != nil {
			fmt.Fprintf(os.Stderr, "udpsend: bad %s %q\n", args[0], args[1])
			return 2
		}
		switch args[0] {
		case "-n":
			count = v
		case "-s":
			src = v
		case "-b":
			size = v
		default:
			fmt.Fprintf(os.Stderr, "udpsend: unknown option %s\n", args[0])
			return 2
		}
		args = args[2:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: udpsend [-n COUNT] [-s SRCPORT] [-b BYTES] ADDR:PORT...")
		return 2
	}
	for _, a := range args {
		raddr, err := net.ResolveUDPAddr("udp", a)
		if err != nil {
			fmt.Fprintln(os.Stderr, "udpsend:", err)
			return 1
		}
		var laddr *net.UDPAddr
		if src != 0 {
			laddr = &net.UDPAddr{Port: src}
		}
		c, err := net.DialUDP("udp", laddr, raddr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "udpsend:", err)
			return 1
		}
		buf := bytes.Repeat([]byte{'x'}, size)
		if data != nil {
			buf = data
		}
		for i := 0; i < count; i++ {
			if _, err := c.Write(buf); err != nil {
				fmt.Fprintln(os.Stderr, "udpsend:", err)
				c.Close()
				return 1
			}
		}
		c.Close()
	}
	return 0
}

// tcpConnMain: tcpconn ADDR:PORT... starts a TCP connection to each
// address (one SYN) and gives up at once; IPVS sees the SYN.
func tcpConnMain() int {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: tcpconn ADDR:PORT...")
		return 2
	}
	for _, a := range os.Args[1:] {
		c, err := net.DialTimeout("tcp", a, 50*time.Millisecond)
		if err == nil {
			c.Close()
			continue
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			fmt.Fprintln(os.Stderr, "tcpconn:", err)
			return 1
		}
	}
	return 0
}

// confResult is what one program printed and how it ended: the exit status,
// or 128+N when killed by signal N (as a shell reports it).
type confResult struct {
	Stdout, Stderr string
	Code           int
}

var errTimeout = errors.New("timed out after 60 s")

// confEnv is how the suite runs programs.
type confEnv struct {
	refEnv   []string // environment of the reference ipvsadm
	oursEnv  []string // environment of ours
	setupEnv []string // environment of setup steps
	oursExt  bool     // ours is an external binary (no script personalities)
	asNobody string   // the as-nobody program
}

// runOpts are how a command's standard streams are set up (see confStep).
type runOpts struct {
	nobody string // run through this as-nobody program (unprivileged)
	merged bool   // standard error into the standard output file
	rest   bool   // seekable standard input; what is left of it is reported
	full   bool   // standard output to /dev/full
}

// run runs argv inside the namespace fd through nsenter.
func (e *confEnv) run(nsfd int, env []string, stdin string, argv []string) (confResult, error) {
	return e.runWith(nsfd, env, stdin, argv, runOpts{})
}

func (e *confEnv) runWith(nsfd int, env []string, stdin string, argv []string, o runOpts) (confResult, error) {
	if o.nobody != "" {
		argv = append([]string{o.nobody}, argv...)
	}
	c := ipvstest.Command{Argv: argv, Env: env, Stdin: stdin, SeekableStdin: o.rest, MergeOutput: o.merged}
	if o.full {
		c.StdoutPath = "/dev/full"
	}
	r, err := ipvstest.RunIn(nsfd, c)
	res := confResult{Stdout: r.Stdout, Stderr: r.Stderr, Code: r.Code}
	if o.rest {
		res.Stdout += "<rest of standard input>\n" + r.Rest
	}
	if errors.Is(err, ipvstest.ErrTimeout) {
		return res, fmt.Errorf("%q: %w", argv, errTimeout)
	}
	return res, err
}

// copyExecutable copies the program at src to dst, mode 0755.
func copyExecutable(src, dst string) (string, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	return dst, os.WriteFile(dst, b, 0o755)
}

// tool runs one command step (argv[0] ipvsadm, ipvsadm-save or
// ipvsadm-restore) as the reference (ref) or ours. The reference has no
// runnable ipvsadm-save/-restore (they are bash scripts); they are
// emulated on top of the reference ipvsadm, and so they are for an
// external "ours".
func (e *confEnv) tool(nsfd int, ours bool, st *confStep) (confResult, error) {
	env := e.refEnv
	if ours {
		env = e.oursEnv
	}
	env = append(append([]string(nil), env...), st.Env...)
	plain := func(argv []string, stdin string) (confResult, error) { return e.run(nsfd, env, stdin, argv) }
	if isScript(st.Argv[0]) && (!ours || e.oursExt) {
		return emulateScript(st.Argv, st.Stdin, plain)
	}
	o := runOpts{merged: st.Merged, rest: st.Rest, full: st.Full}
	if st.Nobody {
		o.nobody = e.asNobody
	}
	return e.runWith(nsfd, env, st.Stdin, st.Argv, o)
}

// emulateScript does what Debian's ipvsadm-save and ipvsadm-restore (bash
// scripts) do, with run as the ipvsadm on PATH.
func emulateScript(argv []string, stdin string, run func([]string, string) (confResult, error)) (confResult, error) {
	switch argv[0] {
	case "ipvsadm-save":
		numeric := false
		for _, a := range argv[1:] {
			switch {
			case a == "-n":
				numeric = true
			case strings.HasPrefix(a, "-"):
				return confResult{Code: 1, Stderr: "ipvsadm-save: Script to save the IPVS table to stdout.\n" +
					"   With the -n option, prints out the table in numeric format.\n"}, nil
			}
		}
		if numeric {
			return run([]string{"ipvsadm", "-S", "-n"}, "")
		}
		return run([]string{"ipvsadm", "-S"}, "")
	case "ipvsadm-restore":
		// INPUT="$(grep -v '^#')"; ipvsadm -C; echo "$INPUT" | ipvsadm -R
		lines := strings.SplitAfter(stdin, "\n")
		var in strings.Builder
		for _, l := range lines {
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			in.WriteString(strings.TrimSuffix(l, "\n"))
			in.WriteByte('\n')
		}
		input := strings.TrimRight(strings.ReplaceAll(in.String(), "\x00", ""), "\n")
		c, err := run([]string{"ipvsadm", "-C"}, "")
		if err != nil {
			return c, err
		}
		echoed := input + "\n"
		if regexp.MustCompile(`^-[neE]+$`).MatchString(input) { // bash's echo takes it as options
			echoed = "\n"
			if strings.Contains(input, "n") {
				echoed = ""
			}
		}
		r, err := run([]string{"ipvsadm", "-R"}, echoed)
		r.Stdout = c.Stdout + r.Stdout
		r.Stderr = c.Stderr + r.Stderr
		return r, err
	}
	return confResult{}, fmt.Errorf("no emulation for %s", argv[0])
}

// outcome of one case.
type outcome int

const (
	outIdentical outcome = iota
	outListed
	outFailed
)

type caseReport struct {
	c        *confCase
	out      outcome
	problems []string // rendered mismatches / errors
	// hard: a mismatch other than in stdout, which kernel dump races
	// between namespaces cannot explain (see runCaseTwice)
	hard  bool
	rerun bool // the verdict comes from an exclusive rerun
}

// sameLines reports whether two -Sn results hold the same lines in another
// order: the order of services that the wrapping comparators of ipvsadm
// cannot sort depends on the kernel's per-namespace hash order.
func sameLines(a, b confResult) bool {
	if a.Code != b.Code || a.Stderr != b.Stderr {
		return false
	}
	al, bl := linesOf(a.Stdout), linesOf(b.Stdout)
	if len(al) != len(bl) {
		return false
	}
	slicesSortFunc(al, strings.Compare)
	slicesSortFunc(bl, strings.Compare)
	return equalStrings(al, bl)
}

// exclusive is held for reading by every running case, and for writing by a
// case that is run again alone. The kernel's service dump (GET_SERVICE with
// NLM_F_DUMP) counts the services of ALL namespaces in its resume index, so
// a dump that needs more than one netlink message can repeat or skip a
// service when another namespace adds or deletes services at the same time.
// A case whose only mismatches are in stdout is therefore run once more with
// no other case running, and that run decides.
var exclusive sync.RWMutex

// runCaseTwice runs a case, and again exclusively when its mismatches could
// come from a concurrent namespace.
func runCaseTwice(t *testing.T, env *confEnv, c *confCase, anchors map[string]bool, jobs int) *caseReport {
	exclusive.RLock()
	rep := runCase(t, env, c, anchors)
	exclusive.RUnlock()
	if rep.out == outIdentical || rep.hard || jobs == 1 {
		return rep
	}
	exclusive.Lock()
	defer exclusive.Unlock()
	first := rep.problems
	rep = runCase(t, env, c, anchors)
	rep.rerun = true
	if rep.out == outIdentical {
		t.Logf("first run (with other cases running) differed:\n%s", strings.Join(first, "\n"))
	}
	return rep
}

func TestKernelConformance(t *testing.T) {
	ipvstest.RequireRoot(t)
	dir, err := confDir()
	if err != nil {
		ipvstest.SkipOrFail(t, err.Error())
	}
	cases, err := loadCases(dir)
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, generatedCases()...)
	refDir := os.Getenv("IPVSADM_CONFORMANCE_REF")
	if refDir == "" {
		refDir = "/ref/bin"
	}
	if _, err := os.Stat(filepath.Join(refDir, "ipvsadm")); err != nil {
		ipvstest.SkipOrFail(t, "reference ipvsadm not found: "+err.Error())
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		ipvstest.SkipOrFail(t, "nsenter not found on PATH")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	// Unprivileged runs must reach the programs in here.
	// (t.TempDir makes both levels mode 0700.)
	for _, d := range []string{filepath.Dir(tmp), tmp} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	oursDir, toolsDir := filepath.Join(tmp, "ours"), filepath.Join(tmp, "tools")
	for _, d := range []string{oursDir, toolsDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A copy of this binary that user 65534 may run, wherever the test
	// binary itself lives.
	if exe, err = copyExecutable(exe, filepath.Join(tmp, "conformance.test")); err != nil {
		t.Fatal(err)
	}
	env := &confEnv{asNobody: filepath.Join(toolsDir, "as-nobody")}
	ours := exe
	if o := os.Getenv("IPVSADM_CONFORMANCE_OURS"); o != "" {
		if ours, err = filepath.Abs(o); err != nil {
			t.Fatal(err)
		}
		env.oursExt = true
		t.Logf("ours is %s (IPVSADM_CONFORMANCE_OURS)", ours)
	}
	links := map[string]string{filepath.Join(oursDir, "ipvsadm"): ours,
		filepath.Join(toolsDir, "udpsend"): exe, filepath.Join(toolsDir, "tcpconn"): exe,
		filepath.Join(toolsDir, "as-nobody"): exe}
	if !env.oursExt {
		links[filepath.Join(oursDir, "ipvsadm-save")] = exe
		links[filepath.Join(oursDir, "ipvsadm-restore")] = exe
	}
	for l, target := range links {
		if err := os.Symlink(target, l); err != nil {
			t.Fatal(err)
		}
	}
	env.refEnv = []string{"PATH=" + refDir}
	env.oursEnv = []string{"PATH=" + oursDir}
	env.setupEnv = []string{"PATH=" + toolsDir + ":" + refDir + ":/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"}

	// Differs ids must be headings of COMPATIBILITY.md.
	var anchors map[string]bool
	compat := compatPath(dir)
	if md, err := os.ReadFile(compat); err == nil {
		anchors = markdownAnchors(string(md))
	} else {
		fmt.Printf("conformance: note: %s not readable (%v); differs ids are not verified\n", compat, err)
	}

	jobs := 4
	if j, err := strconv.Atoi(os.Getenv("IPVSADM_CONFORMANCE_JOBS")); err == nil && j > 0 {
		jobs = j
	}
	start := time.Now()
	var mu sync.Mutex
	var reports []*caseReport
	queue := make(chan *confCase)
	var wg sync.WaitGroup
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range queue {
				t.Run(c.FullName(), func(t *testing.T) {
					rep := runCaseTwice(t, env, c, anchors, jobs)
					mu.Lock()
					reports = append(reports, rep)
					mu.Unlock()
					if rep.rerun {
						t.Logf("run again alone after a stdout-only mismatch (kernel service dumps are not namespace-safe)")
					}
					switch rep.out {
					case outFailed:
						t.Errorf("differs from the reference ipvsadm (details in the conformance summary):\n%s", strings.Join(rep.problems, "\n"))
					case outListed:
						t.Logf("listed difference %q:\n%s", c.Differs, strings.Join(rep.problems, "\n"))
					}
				})
			}
		}()
	}
	for _, c := range cases {
		queue <- c
	}
	close(queue)
	wg.Wait()

	// Summary, in case-file order.
	order := map[*confCase]int{}
	for i, c := range cases {
		order[c] = i
	}
	slicesSortFunc(reports, func(a, b *caseReport) int { return order[a.c] - order[b.c] })
	var ident, listed, failed, reruns int
	var sb strings.Builder
	for _, r := range reports {
		if r.rerun {
			reruns++
		}
		switch r.out {
		case outIdentical:
			ident++
		case outListed:
			listed++
		case outFailed:
			failed++
			fmt.Fprintf(&sb, "FAIL %s (%s.txt:%d)\n%s\n", r.c.FullName(), r.c.File, r.c.Line, strings.Join(r.problems, "\n"))
		}
	}
	fmt.Printf("%s", sb.String())
	if reruns > 0 {
		fmt.Printf("conformance: %d case(s) were run again alone after a stdout-only mismatch\n", reruns)
	}
	fmt.Printf("conformance: %d cases, %d identical, %d listed differences, %d failed (%.1f s, %d jobs)\n",
		len(reports), ident, listed, failed, time.Since(start).Seconds(), jobs)
	if failed > 0 {
		t.Errorf("conformance: %d of %d cases failed", failed, len(reports))
	}
}

// usesDaemons reports whether the case may start sync daemons.
func (c *confCase) usesDaemons() bool {
	for _, st := range c.Steps {
		if strings.Contains(strings.Join(st.Argv, " ")+st.Stdin+st.Shell, "start-daemon") {
			return true
		}
	}
	return false
}

func slicesSortFunc[T any](s []T, cmp func(a, b T) int) {
	// insertion sort is enough for a few hundred reports
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && cmp(s[j-1], s[j]) > 0; j-- {
			s[j-1], s[j] = s[j], s[j-1]
		}
	}
}

// runCase runs one case in two fresh namespaces.
func runCase(t *testing.T, env *confEnv, c *confCase, anchors map[string]bool) *caseReport {
	rep := &caseReport{c: c}
	fail := func(format string, a ...any) {
		rep.problems = append(rep.problems, fmt.Sprintf(format, a...))
	}

	refNS, oursNS := ipvstest.NewNS(t), ipvstest.NewNS(t)
	refFD, oursFD := refNS.FD(), oursNS.FD()
	hardError := false
	mismatch := false
	cmdNo := 0
	var rec strings.Builder
	var recorded confRecording
	if d := os.Getenv("IPVSADM_CONFORMANCE_RECORD"); d != "" {
		defer func() {
			name := filepath.Join(d, c.File+"."+c.Name+".txt")
			if err := os.WriteFile(name, []byte(rec.String()), 0o644); err != nil {
				t.Errorf("record: %v", err)
			}
			b, err := json.Marshal(recorded)
			if err == nil {
				err = os.WriteFile(strings.TrimSuffix(name, ".txt")+".json", b, 0o644)
			}
			if err != nil {
				t.Errorf("record: %v", err)
			}
		}()
	}
	for i := range c.Steps {
		st := &c.Steps[i]
		switch st.Kind {
		case stepSetup:
			var r [2]confResult
			var e [2]error
			var wg sync.WaitGroup
			for k, fd := range []int{refFD, oursFD} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r[k], e[k] = env.run(fd, env.setupEnv, "", []string{"sh", "-c", st.Shell})
				}()
			}
			wg.Wait()
			for k, who := range []string{"reference", "ours"} {
				if e[k] != nil || r[k].Code != 0 {
					fail("  line %d: setup failed in the %s namespace: %s\n    exit %d, err %v\n%s%s", st.Line, who, st.Shell, r[k].Code, e[k],
						indent(r[k].Stdout, "    stdout: "), indent(r[k].Stderr, "    stderr: "))
					hardError = true
				}
			}
			if hardError {
				rep.out, rep.hard = outFailed, true
				return rep
			}
		case stepCommand, stepSame:
			cmdNo++
			var ref, ours confResult
			var rerr, oerr error
			if st.Kind == stepCommand {
				var wg sync.WaitGroup
				wg.Add(2)
				go func() { defer wg.Done(); ref, rerr = env.tool(refFD, false, st) }()
				go func() { defer wg.Done(); ours, oerr = env.tool(oursFD, true, st) }()
				wg.Wait()
			} else {
				// Reference, ours, reference again: ours passes when it
				// equals either reference run (time moved on between).
				for attempt := 0; attempt <= 3; attempt++ {
					var ref2 confResult
					ref, rerr = env.tool(refFD, false, st)
					if rerr == nil {
						ours, oerr = env.tool(refFD, true, st)
					}
					if rerr == nil && oerr == nil && ref != ours {
						ref2, rerr = env.tool(refFD, false, st)
						if ref2 == ours {
							ref = ref2
						}
					}
					if rerr != nil || oerr != nil || ref == ours {
						break
					}
				}
			}
			fmt.Fprintf(&rec, "CMD %s\n", st.Text())
			for _, l := range linesOf(ref.Stdout) {
				fmt.Fprintf(&rec, "OUT %s\n", showLine(l))
			}
			for _, l := range linesOf(ref.Stderr) {
				fmt.Fprintf(&rec, "ERR %s\n", showLine(l))
			}
			fmt.Fprintf(&rec, "EXIT %d\n", ref.Code)
			recorded.Results = append(recorded.Results, ref)
			if rerr != nil || oerr != nil {
				fail("  command %d (line %d): %s\n    harness error: ref %v, ours %v", cmdNo, st.Line, st.Text(), rerr, oerr)
				if errors.Is(rerr, errTimeout) || errors.Is(oerr, errTimeout) {
					mismatch = true // may be the kernel's fault: run again alone
				} else {
					hardError = true
				}
				continue
			}
			if e := st.Expect; e != nil {
				want := confResult{Stdout: e.Stdout, Stderr: e.Stderr, Code: e.Exit}
				if d := diffResults("expect", want, "reference", ref); d != "" {
					fail("  command %d (line %d): %s\n    the case's expect block disagrees with the reference (case bug):\n%s", cmdNo, st.Line, st.Text(), d)
					hardError = true
				}
				if isScript(st.Argv[0]) {
					if d := diffResults("expect", want, "ours", ours); d != "" {
						fail("  command %d (line %d): %s\n%s", cmdNo, st.Line, st.Text(), d)
						mismatch = true
					}
					continue
				}
			}
			if d := diffResults("ref", ref, "ours", ours); d != "" {
				fail("  command %d (line %d): %s\n%s", cmdNo, st.Line, st.Text(), d)
				mismatch = true
				if ref.Stderr != ours.Stderr || ref.Code != ours.Code {
					rep.hard = true
				}
			}
		}
	}
	// Sync daemons are stopped before the namespaces go (by the reference),
	// so that no namespace is torn down with running sync threads.
	if c.usesDaemons() {
		for _, fd := range []int{refFD, oursFD} {
			for _, role := range []string{"master", "backup"} {
				env.run(fd, env.refEnv, "", []string{"ipvsadm", "--stop-daemon", role})
			}
		}
	}
	// Final state, printed by the reference in both namespaces.
	save := []string{"ipvsadm", "-Sn"}
	var r [2]confResult
	var e [2]error
	for k, fd := range []int{refFD, oursFD} {
		r[k], e[k] = env.run(fd, env.refEnv, "", save)
	}
	fmt.Fprintf(&rec, "FINAL -Sn\n")
	recorded.Final = r[0].Stdout
	for _, l := range linesOf(r[0].Stdout) {
		fmt.Fprintf(&rec, "OUT %s\n", showLine(l))
	}
	if e[0] != nil || e[1] != nil {
		fail("  final ipvsadm -Sn: harness error: %v %v", e[0], e[1])
		hardError = true
	} else if d := diffResults("ref", r[0], "ours", r[1]); d != "" && !sameLines(r[0], r[1]) {
		fail("  final table (ipvsadm -Sn by the reference in both namespaces):\n%s", d)
		mismatch = true
	}
	if c.Differs != "" && anchors != nil && !anchors[c.Differs] {
		fail("  differs: %s is not a heading anchor of COMPATIBILITY.md", c.Differs)
		hardError = true
	}
	if hardError {
		rep.hard = true
	}
	switch {
	case hardError:
		rep.out = outFailed
	case mismatch && c.Differs != "":
		rep.out = outListed
	case mismatch:
		rep.out = outFailed
	default:
		rep.out = outIdentical
	}
	return rep
}

func indent(s, prefix string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	for _, l := range strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n") {
		b.WriteString(prefix + strings.TrimSuffix(l, "\n") + "\n")
	}
	return b.String()
}

// diffResults renders the differences between two results; "" if equal.
func diffResults(an string, a confResult, bn string, b confResult) string {
	var sb strings.Builder
	if a.Stdout != b.Stdout {
		fmt.Fprintf(&sb, "    stdout (-%s +%s):\n%s", an, bn, lineDiff(a.Stdout, b.Stdout))
	}
	if a.Stderr != b.Stderr {
		fmt.Fprintf(&sb, "    stderr (-%s +%s):\n%s", an, bn, lineDiff(a.Stderr, b.Stderr))
	}
	if a.Code != b.Code {
		fmt.Fprintf(&sb, "    exit: %s %d, %s %d\n", an, a.Code, bn, b.Code)
	}
	return strings.TrimSuffix(sb.String(), "\n")
}

// showLine renders a line so that every byte is visible: control bytes
// escaped, "|" marks the end of the line, and a missing final newline is
// spelled out.
func showLine(l string) string {
	nl := strings.HasSuffix(l, "\n")
	l = strings.TrimSuffix(l, "\n")
	q := strconv.Quote(l)
	q = q[1 : len(q)-1]
	q = strings.ReplaceAll(q, `\"`, `"`)
	if nl {
		return q + "|"
	}
	return q + "|  (no newline at end)"
}

// lineDiff is a compact unified-style diff (LCS on lines, 1 line of
// context, at most 40 lines shown).
func lineDiff(a, b string) string {
	al, bl := linesOf(a), linesOf(b)
	n, m := len(al), len(bl)
	if n*m > 4_000_000 {
		return fmt.Sprintf("      (too large to diff: %d vs %d lines)\n", n, m)
	}
	// lcs[i][j] = LCS length of al[i:], bl[j:]
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if al[i] == bl[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type op struct {
		kind byte
		text string
	}
	var ops []op
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && al[i] == bl[j]:
			ops = append(ops, op{' ', showLine(al[i])})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', showLine(al[i])})
			i++
		default:
			ops = append(ops, op{'+', showLine(bl[j])})
			j++
		}
	}
	keep := make([]bool, len(ops))
	for k, o := range ops {
		if o.kind != ' ' {
			for d := -1; d <= 1; d++ {
				if k+d >= 0 && k+d < len(ops) {
					keep[k+d] = true
				}
			}
		}
	}
	var sb strings.Builder
	shown, gap := 0, false
	for k, o := range ops {
		if !keep[k] {
			gap = true
			continue
		}
		if gap && shown > 0 {
			sb.WriteString("      ...\n")
		}
		gap = false
		if shown == 40 {
			sb.WriteString("      (more differences not shown)\n")
			break
		}
		fmt.Fprintf(&sb, "      %c%s\n", o.kind, o.text)
		shown++
	}
	if n == 0 {
		sb.WriteString("      (-: empty)\n")
	}
	if m == 0 {
		sb.WriteString("      (+: empty)\n")
	}
	return sb.String()
}

func linesOf(s string) []string {
	if s == "" {
		return nil
	}
	l := strings.SplitAfter(s, "\n")
	if l[len(l)-1] == "" {
		l = l[:len(l)-1]
	}
	return l
}
