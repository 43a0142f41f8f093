package main

// Conformance cases too large or too binary for the case files: malformed
// restore input (random bytes, NUL bytes, megabyte lines, a 100,000-line
// file with an error in the middle) and malformed argument words. They run
// with the case files, through both tools, and the final tables are
// compared as for every case.

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// generatedFile is the File of generated cases, for -test.run filters:
// TestKernelConformance/generated/...
const generatedFile = "generated"

// generatedCases returns the generated cases; the same every run (fixed
// seeds), so that a failure can be reproduced.
func generatedCases() []*confCase {
	var cases []*confCase
	add := func(name string, steps ...confStep) {
		cases = append(cases, &confCase{File: generatedFile, Name: name, Steps: steps})
	}
	restore := func(stdin string) confStep {
		return confStep{Kind: stepCommand, Argv: []string{"ipvsadm", "-R"}, Stdin: stdin}
	}
	command := func(argv ...string) confStep {
		return confStep{Kind: stepCommand, Argv: append([]string{"ipvsadm"}, argv...)}
	}

	// Random bytes, and random bytes after a valid first line.
	rng := rand.New(rand.NewPCG(1, 31))
	for i := 0; i < 4; i++ {
		b := make([]byte, 1<<(10+2*i))
		for j := range b {
			b[j] = byte(rng.UintN(256))
		}
		add(fmt.Sprintf("restore-random-bytes-%d", len(b)), restore(string(b)))
		add(fmt.Sprintf("restore-valid-then-random-%d", len(b)), restore("-A -t 10.0.0.1:80\n"+string(b)))
	}
	// Random printable words, mostly ipvsadm's own options and values.
	words := []string{"-A", "-a", "-E", "-e", "-D", "-d", "-t", "-u", "-f", "-r", "-s", "-w", "-x", "-y",
		"-p", "-M", "-m", "-g", "-i", "-b", "-L", "-n", "-Z", "--set", "--stats", "--tun-type",
		"10.0.0.1:80", "10.0.0.2", "[2001:db8::1]:80", "rr", "wlc", "mh", "sh-port", "gue", "1", "0",
		"65536", "-1", "x", "", "!#:+", "--", "-", "=", ",", "#"}
	var lines []string
	for i := 0; i < 400; i++ {
		n := 1 + rng.IntN(8)
		w := make([]string, n)
		for j := range w {
			w[j] = words[rng.IntN(len(words))]
		}
		lines = append(lines, strings.Join(w, " "))
	}
	// ipvsadm -R stops at the first line with an option error, so the
	// lines are run in small groups to reach past the first few.
	for g := 0; g < len(lines); g += 20 {
		add(fmt.Sprintf("restore-random-words-%03d", g/20), restore(strings.Join(lines[g:g+20], "\n")+"\n"))
	}
	for i := 0; i < 40; i++ {
		argv := strings.Fields(lines[i])
		add(fmt.Sprintf("argv-random-words-%02d", i), command(argv...))
	}
	// Bytes that are not text in argument words (NUL cannot be in argv).
	add("argv-control-bytes", command("-A", "-t", "10.0.0.1:80\x01", "-s", "r\xffr"))
	add("argv-high-bytes", command("-A", "-t", "\xc3\xa9.0.0.1:80"))

	// NUL bytes inside tokens, lines and at the end.
	add("restore-nul-bytes", restore("-A -t 10.0.0.1:80 -s rr\x00junk\n-A\x00 -t 10.0.0.2:80\n\x00\n-A -t 10.0.0.3:80\x00"))
	// Megabyte lines: one token, and many words.
	add("restore-megabyte-token", restore("-A -t 10.0.0.1:80\n-A -t 10.0.0.2:80 -s "+strings.Repeat("x", 1<<20)+"\n-A -t 10.0.0.3:80\n"))
	add("restore-megabyte-words", restore("-A -t 10.0.0.1:80\n-A -t 10.0.0.2:80 "+strings.Repeat("x ", 1<<19)+"\n-A -t 10.0.0.3:80\n"))
	add("restore-megabyte-options", restore(strings.Repeat("-n ", 1<<18)+"\n"))

	// 100,000 lines, an option error at line 50,000: the first 49,999
	// lines are applied, the rest are not.
	var big strings.Builder
	for i := 0; i < 1000; i++ {
		vip := fmt.Sprintf("10.%d.%d.1", i/250, i%250)
		fmt.Fprintf(&big, "-A -t %s:80 -s wrr\n", vip)
		for j := 0; j < 99; j++ {
			if i*100+j+2 == 50000 {
				fmt.Fprintf(&big, "-a -t %s:80 -r 172.16.%d.%d:80 -w many\n", vip, j, i%250+1)
				continue
			}
			fmt.Fprintf(&big, "-a -t %s:80 -r 172.16.%d.%d:80 -m -w %d\n", vip, j, i%250+1, 1+j%7)
		}
	}
	add("restore-100k-lines-error-at-50k", restore(big.String()))
	return cases
}

// TestGeneratedCases checks that the generated cases are well formed and
// stable.
func TestGeneratedCases(t *testing.T) {
	a, b := generatedCases(), generatedCases()
	if len(a) != len(b) || len(a) < 50 {
		t.Fatalf("%d and %d cases", len(a), len(b))
	}
	names := map[string]bool{}
	for i, c := range a {
		if names[c.Name] || !caseNameRE.MatchString(c.Name) {
			t.Errorf("bad or repeated case name %q", c.Name)
		}
		names[c.Name] = true
		if c.Steps[0].Stdin != b[i].Steps[0].Stdin || strings.Join(c.Steps[0].Argv, " ") != strings.Join(b[i].Steps[0].Argv, " ") {
			t.Errorf("case %s differs between two calls", c.Name)
		}
	}
	big := a[len(a)-1].Steps[0].Stdin
	if n := strings.Count(big, "\n"); n != 100000 {
		t.Errorf("the big restore has %d lines", n)
	}
	if l := strings.Split(big, "\n")[49999]; !strings.HasSuffix(l, "-w many") {
		t.Errorf("line 50,000 is %q", l)
	}
}
