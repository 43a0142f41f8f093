package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

const (
	slowestShown   = 5   // tests named in a package's "slowest" line
	outputTail     = 150 // output lines shown per test that did not pass
	pkgOutputTail  = 40  // lines of package output shown for a failed binary
	namesPerReason = 10  // test names listed in one failure reason
)

// vmNeverReported is vm/vm.sh run's status when the guest printed no exit
// status: no boot, a kernel panic, a module load failure or the timeout.
const vmNeverReported = 125

// report prints the summary of every package, the output of the tests that
// did not pass and the verdict, and tells whether the run passed.
func (r *run) report(w io.Writer, kernel string) bool {
	var reasons []string
	switch r.vmStatus {
	case 0:
	case vmNeverReported:
		reasons = append(reasons, "the VM never reported an exit status (no boot, kernel panic, module load failure or timeout: see the console above)")
	default:
		reasons = append(reasons, fmt.Sprintf("the guest's test runner exited with status %d", r.vmStatus))
	}
	if !r.guestDone && r.vmStatus != vmNeverReported {
		reasons = append(reasons, "the guest's results came back without the runner's \"done\" marker")
	}
	kernelTests := 0
	for _, p := range r.pkgs {
		p.summarize(w)
		reasons = append(reasons, p.problems()...)
		kernelTests += p.count(func(t *testResult) bool { return t.topLevelKernel() && t.action == "pass" })
	}
	for _, p := range r.pkgs {
		p.printFailures(w)
	}
	on := ""
	if kernel != "" {
		on = ", kernel " + kernel
	}
	if len(reasons) > 0 {
		fmt.Fprintf(w, "kernel tests: FAILED (in the VM%s):\n", on)
		for _, s := range reasons {
			fmt.Fprintf(w, "  - %s\n", s)
		}
		return false
	}
	fmt.Fprintf(w, "kernel tests: PASSED: %d top-level TestKernel* tests in %d package(s), none failed or skipped (in the VM%s)\n",
		kernelTests, len(r.pkgs), on)
	return true
}

func (p *pkgResult) count(f func(*testResult) bool) int {
	n := 0
	for _, t := range p.tests {
		if f(t) {
			n++
		}
	}
	return n
}

func (p *pkgResult) withAction(action string) []string {
	var names []string
	for _, t := range p.tests {
		if t.action == action {
			names = append(names, t.name)
		}
	}
	return names
}

// summarize prints one package's counts, its slowest tests and the
// top-level tests that ran.
func (p *pkgResult) summarize(w io.Writer) {
	title := p.name
	if p.pkg != "" {
		title += " (" + p.pkg + ")"
	}
	status := "no exit status"
	if p.status != "" {
		status = "exit status " + p.status
	}
	top := p.count(func(t *testResult) bool { return !strings.Contains(t.name, "/") })
	fmt.Fprintf(w, "%s: %s; %d top-level tests, %d with subtests: %d passed, %d failed, %d skipped, %d unfinished\n",
		title, status, top, len(p.tests), len(p.withAction("pass")), len(p.withAction("fail")),
		len(p.withAction("skip")), len(p.withAction("")))
	var tops []*testResult
	for _, t := range p.tests {
		if !strings.Contains(t.name, "/") {
			tops = append(tops, t)
		}
	}
	if len(tops) == 0 {
		return
	}
	var names []string
	for _, t := range tops {
		names = append(names, t.name)
	}
	fmt.Fprintf(w, "  ran: %s\n", strings.Join(names, " "))
	slow := slices.Clone(tops)
	slices.SortStableFunc(slow, func(a, b *testResult) int { return cmp.Compare(b.elapsed, a.elapsed) })
	var parts []string
	for _, t := range slow[:min(slowestShown, len(slow))] {
		parts = append(parts, fmt.Sprintf("%s %.2fs", t.name, t.elapsed))
	}
	fmt.Fprintf(w, "  slowest: %s\n", strings.Join(parts, ", "))
}

// problems lists why this package fails the run.
func (p *pkgResult) problems() []string {
	var out []string
	add := func(format string, args ...any) {
		out = append(out, p.name+": "+fmt.Sprintf(format, args...))
	}
	if p.readErr != nil {
		add("reading its results: %v", p.readErr)
	}
	switch {
	case !p.stream && p.status == "":
		add("nothing came back (the test binary did not run)")
		return out
	case !p.stream:
		add("no test output came back")
	case p.status == "":
		add("no exit status came back (the test binary did not run to completion)")
	case p.status == "124":
		add("not run: the guest deadline had passed (status 124)")
	case p.status == "127":
		add("the test binary was missing in the VM (status 127)")
	case p.status != "0":
		add("the test binary exited with status %s", p.status)
	}
	listed := func(what string, names []string) {
		if len(names) == 0 {
			return
		}
		shown := names[:min(namesPerReason, len(names))]
		more := ""
		if len(names) > len(shown) {
			more = fmt.Sprintf(" and %d more", len(names)-len(shown))
		}
		add("%d %s: %s%s", len(names), what, strings.Join(shown, ", "), more)
	}
	listed("test(s) failed", p.withAction("fail"))
	listed("test(s) skipped (in the VM a skip is a failure)", p.withAction("skip"))
	listed("test(s) never finished (the binary crashed or was killed)", p.withAction(""))
	if p.stream && p.count(func(t *testResult) bool { return t.topLevelKernel() && t.action == "pass" }) == 0 {
		if len(p.tests) == 0 {
			add("no top-level TestKernel* test passed: none ran")
		} else {
			add("no top-level TestKernel* test passed")
		}
	}
	return out
}

// printFailures prints the output of every test that did not pass and
// has no subtest that did not pass either (the parents' output is only
// their subtests' verdicts), or, when the binary failed outside any test,
// the end of the package's own output.
func (p *pkgResult) printFailures(w io.Writer) {
	var bad []*testResult
	for _, t := range p.tests {
		if t.action != "pass" {
			bad = append(bad, t)
		}
	}
	shown := 0
	for _, t := range bad {
		if slices.ContainsFunc(bad, func(c *testResult) bool { return strings.HasPrefix(c.name, t.name+"/") }) {
			continue
		}
		what := map[string]string{"fail": "failed", "skip": "skipped", "": "never finished"}[t.action]
		fmt.Fprintf(w, "\n--- %s: %s %s:\n", p.name, t.name, what)
		printTail(w, t.output, outputTail)
		shown++
	}
	if shown == 0 && p.status != "" && p.status != "0" && len(p.pkgLines) > 0 {
		fmt.Fprintf(w, "\n--- %s: output outside any test:\n", p.name)
		printTail(w, p.pkgLines, pkgOutputTail)
	}
	if shown > 0 || (p.status != "" && p.status != "0") {
		fmt.Fprintln(w)
	}
}

func printTail(w io.Writer, lines []string, n int) {
	if len(lines) > n {
		fmt.Fprintf(w, "    (%d earlier lines not shown)\n", len(lines)-n)
		lines = lines[len(lines)-n:]
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, "\n") {
			l += "\n"
		}
		io.WriteString(w, l)
	}
}
