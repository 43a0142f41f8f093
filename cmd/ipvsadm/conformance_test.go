package main

// The case-file format of the differential conformance suite
// (testdata/conformance/*.txt, documented in testdata/conformance/README.md)
// and host-side tests of its parser. The kernel-side runner is in
// conformance_kernel_test.go.

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// confCase is one conformance case.
type confCase struct {
	File    string // base name of the case file, without .txt
	Name    string // unique within the file
	Line    int    // line of the "===" header
	Steps   []confStep
	Differs string // "differs:" id, a heading anchor of COMPATIBILITY.md
}

// FullName is the subtest name: file/case.
func (c *confCase) FullName() string { return c.File + "/" + c.Name }

// stepKind tells what a step does.
type stepKind int

const (
	stepSetup   stepKind = iota // shell command in both namespaces, not compared
	stepCommand                 // a compared command, each tool in its own namespace
	stepSame                    // a compared read-only command, both tools in the reference namespace
)

// confStep is a setup step or a compared command.
type confStep struct {
	Kind  stepKind
	Line  int
	Shell string   // stepSetup: the sh -c text
	Argv  []string // commands: argv, Argv[0] is ipvsadm, ipvsadm-save or ipvsadm-restore
	Stdin string   // commands: standard input ("" when none)
	// Env holds NAME=value words given before the program name; both
	// tools run with them added to their environment.
	Env []string
	// Merged sends standard error to the same file as standard output
	// (a trailing "2>&1"); the result's Stdout is that file.
	Merged bool
	// Full sends standard output to /dev/full (a trailing ">/dev/full").
	Full bool
	// Nobody runs the command as user 65534, without privilege (a
	// trailing "+nobody").
	Nobody bool
	// Rest makes standard input a seekable file and appends what the
	// command left unread of it to the result (a trailing "+rest").
	Rest bool
	// Expect is an expected result given in the case file; nil when none.
	// Required for the script names, whose reference is not runnable.
	Expect *confExpect
}

// A confRecording is what the reference did in one case, recorded in the
// VM (IPVSADM_CONFORMANCE_RECORD): the result of every command, in order,
// and the final table as its -Sn prints it. TestConformanceReplay runs the
// cases on the host against these.
type confRecording struct {
	Results []confResult `json:"results"`
	Final   string       `json:"final"`
}

// confExpect is a literally expected result.
type confExpect struct {
	Stdout, Stderr string
	Exit           int
	HasExit        bool
}

// Text renders the step's command line for reports.
func (s *confStep) Text() string {
	var b strings.Builder
	if s.Kind == stepSame {
		b.WriteString("[same namespace] ")
	}
	for _, e := range s.Env {
		b.WriteString(shellQuote(e) + " ")
	}
	for i, a := range s.Argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(shellQuote(a))
	}
	if s.Merged {
		b.WriteString(" 2>&1")
	}
	if s.Rest {
		b.WriteString(" +rest")
	}
	if s.Nobody {
		b.WriteString(" +nobody")
	}
	if s.Full {
		b.WriteString(" >/dev/full")
	}
	if s.Stdin != "" {
		fmt.Fprintf(&b, " <<stdin %s", strconv.Quote(abbrev(s.Stdin, 200)))
	}
	return b.String()
}

func abbrev(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

var safeWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./\[\]-]+$`)

func shellQuote(s string) string {
	if safeWord.MatchString(s) {
		return s
	}
	if strings.ContainsAny(s, "\t\r\n\x00") {
		return "$" + strconv.Quote(s)
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var (
	caseNameRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	heredocRE   = regexp.MustCompile(`^<<([A-Za-z_][A-Za-z0-9_]*)$`)
	differsIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
)

// programs that a command may invoke.
// envWordRE matches an environment assignment before the program name.
var envWordRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

var confPrograms = map[string]bool{"ipvsadm": true, "ipvsadm-save": true, "ipvsadm-restore": true}

// isScript reports whether argv[0] names one of Debian's wrapper scripts.
func isScript(name string) bool { return name == "ipvsadm-save" || name == "ipvsadm-restore" }

// parseCaseFile parses one case file. file is used in error messages and
// as the cases' File (base name without .txt).
func parseCaseFile(path string, data string) ([]*confCase, error) {
	stem := strings.TrimSuffix(filepath.Base(path), ".txt")
	lines := strings.Split(data, "\n")
	if strings.HasSuffix(data, "\n") {
		lines = lines[:len(lines)-1]
	}
	var cases []*confCase
	var cur *confCase
	errf := func(ln int, format string, a ...any) error {
		return fmt.Errorf("%s:%d: %s", path, ln, fmt.Sprintf(format, a...))
	}
	names := map[string]int{}
	// heredoc reads the body of a <<WORD block starting after line index i;
	// it returns the decoded body and the index of the terminator line.
	heredoc := func(i int, word string) (string, int, error) {
		var b strings.Builder
		for j := i + 1; j < len(lines); j++ {
			l := strings.TrimSuffix(lines[j], "\r")
			if l == word {
				return b.String(), j, nil
			}
			dec, nonl, err := decodeBodyLine(l)
			if err != nil {
				return "", 0, errf(j+1, "%v", err)
			}
			b.WriteString(dec)
			if !nonl {
				b.WriteByte('\n')
			}
		}
		return "", 0, errf(i+1, "heredoc <<%s is not terminated by a line %q", word, word)
	}
	lastCommand := func(ln int, what string) (*confStep, error) {
		if cur == nil || len(cur.Steps) == 0 || cur.Steps[len(cur.Steps)-1].Kind == stepSetup {
			return nil, errf(ln, "%s must follow a command ($ or $same line)", what)
		}
		return &cur.Steps[len(cur.Steps)-1], nil
	}
	finish := func() error {
		if cur == nil {
			return nil
		}
		n := 0
		for _, s := range cur.Steps {
			if s.Kind != stepSetup {
				n++
			}
			if s.Kind != stepSetup && isScript(s.Argv[0]) {
				if s.Expect == nil {
					return errf(s.Line, "%s cannot run as the reference: the command needs an expect block (expect-stdout/expect-stderr/expect-exit)", s.Argv[0])
				}
				if s.Kind == stepSame {
					return errf(s.Line, "%s cannot be used with $same", s.Argv[0])
				}
				if len(s.Env) > 0 || s.Merged || s.Rest || s.Nobody || s.Full {
					return errf(s.Line, "%s cannot take environment words, 2>&1, +rest or +nobody", s.Argv[0])
				}
			}
		}
		if n == 0 {
			return errf(cur.Line, "case %s has no command", cur.Name)
		}
		cases = append(cases, cur)
		cur = nil
		return nil
	}
	for i := 0; i < len(lines); i++ {
		ln := i + 1
		raw := strings.TrimSuffix(lines[i], "\r")
		line := strings.TrimRightFunc(raw, unicode.IsSpace)
		trimmed := strings.TrimLeftFunc(line, unicode.IsSpace)
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
			continue
		case strings.HasPrefix(line, "==="):
			if err := finish(); err != nil {
				return nil, err
			}
			name := strings.TrimSpace(strings.TrimPrefix(line, "==="))
			if !caseNameRE.MatchString(name) {
				return nil, errf(ln, "bad case name %q (want [A-Za-z0-9][A-Za-z0-9._-]*)", name)
			}
			if prev, ok := names[name]; ok {
				return nil, errf(ln, "duplicate case name %q (first at line %d)", name, prev)
			}
			names[name] = ln
			cur = &confCase{File: stem, Name: name, Line: ln}
		case cur == nil:
			return nil, errf(ln, "text outside a case (cases start with '=== name')")
		case strings.HasPrefix(line, "setup:"):
			sh := strings.TrimSpace(strings.TrimPrefix(line, "setup:"))
			if sh == "" {
				return nil, errf(ln, "empty setup")
			}
			cur.Steps = append(cur.Steps, confStep{Kind: stepSetup, Line: ln, Shell: sh})
		case strings.HasPrefix(line, "$ ") || strings.HasPrefix(line, "$same "):
			kind, rest := stepCommand, strings.TrimPrefix(line, "$ ")
			if strings.HasPrefix(line, "$same ") {
				kind, rest = stepSame, strings.TrimPrefix(line, "$same ")
			}
			words, quoted, err := splitWords(rest)
			if err != nil {
				return nil, errf(ln, "%v", err)
			}
			step := confStep{Kind: kind, Line: ln}
			if n := len(words); n > 0 && !quoted[n-1] {
				if m := heredocRE.FindStringSubmatch(words[n-1]); m != nil {
					words = words[:n-1]
					body, end, err := heredoc(i, m[1])
					if err != nil {
						return nil, err
					}
					step.Stdin = body
					i = end
				}
			}
			for len(words) > 0 && !quoted[0] && envWordRE.MatchString(words[0]) {
				step.Env = append(step.Env, words[0])
				words, quoted = words[1:], quoted[1:]
			}
			for n := len(words); n > 0 && !quoted[n-1]; n = len(words) {
				if words[n-1] == "2>&1" {
					step.Merged = true
				} else if words[n-1] == "+rest" {
					step.Rest = true
				} else if words[n-1] == ">/dev/full" {
					step.Full = true
				} else if words[n-1] == "+nobody" {
					step.Nobody = true
				} else {
					break
				}
				words, quoted = words[:n-1], quoted[:n-1]
			}
			if len(words) == 0 || !confPrograms[words[0]] {
				return nil, errf(ln, "a command must start with ipvsadm, ipvsadm-save or ipvsadm-restore")
			}
			step.Argv = words
			cur.Steps = append(cur.Steps, step)
		case strings.HasPrefix(line, "expect-stdout") || strings.HasPrefix(line, "expect-stderr"):
			st, err := lastCommand(ln, "expect")
			if err != nil {
				return nil, err
			}
			field := line[:len("expect-stdout")]
			rest := strings.TrimSpace(line[len(field):])
			m := heredocRE.FindStringSubmatch(rest)
			if m == nil {
				return nil, errf(ln, "%s needs a heredoc: %s <<EOF", field, field)
			}
			body, end, err := heredoc(i, m[1])
			if err != nil {
				return nil, err
			}
			i = end
			if st.Expect == nil {
				st.Expect = &confExpect{}
			}
			if field == "expect-stdout" {
				st.Expect.Stdout = body
			} else {
				st.Expect.Stderr = body
			}
		case strings.HasPrefix(line, "expect-exit:"):
			st, err := lastCommand(ln, "expect-exit")
			if err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "expect-exit:")))
			if err != nil || n < 0 || n > 255 {
				return nil, errf(ln, "expect-exit needs a number 0..255")
			}
			if st.Expect == nil {
				st.Expect = &confExpect{}
			}
			st.Expect.Exit, st.Expect.HasExit = n, true
		case strings.HasPrefix(line, "differs:"):
			id := strings.TrimSpace(strings.TrimPrefix(line, "differs:"))
			id = strings.TrimPrefix(id, "#")
			if !differsIDRE.MatchString(id) {
				return nil, errf(ln, "bad differs id %q (a COMPATIBILITY.md heading anchor: lower case, digits, - and _)", id)
			}
			if cur.Differs != "" {
				return nil, errf(ln, "a case has at most one differs: line")
			}
			cur.Differs = id
		default:
			return nil, errf(ln, "unknown line %q (want ===, setup:, $, $same, expect-stdout, expect-stderr, expect-exit:, differs: or # comment)", abbrev(line, 60))
		}
	}
	if err := finish(); err != nil {
		return nil, err
	}
	for _, c := range cases {
		for i := range c.Steps {
			if e := c.Steps[i].Expect; e != nil && !e.HasExit {
				return nil, errf(c.Steps[i].Line, "an expect block needs expect-exit:")
			}
		}
	}
	return cases, nil
}

// decodeBodyLine decodes one heredoc body line: \t \r \n \s (space) \\
// \xHH, and a single backslash at the very end of the line meaning "no
// newline after this line". Other backslash sequences are errors.
func decodeBodyLine(l string) (string, bool, error) {
	if !strings.Contains(l, `\`) {
		return l, false, nil
	}
	var b strings.Builder
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i == len(l)-1 {
			return b.String(), true, nil
		}
		i++
		switch l[i] {
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'n':
			b.WriteByte('\n')
		case 's':
			b.WriteByte(' ')
		case '\\':
			b.WriteByte('\\')
		case 'x':
			if i+2 >= len(l) {
				return "", false, fmt.Errorf(`\x needs two hex digits`)
			}
			v, err := strconv.ParseUint(l[i+1:i+3], 16, 8)
			if err != nil {
				return "", false, fmt.Errorf(`\x needs two hex digits`)
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			return "", false, fmt.Errorf(`unknown escape \%c in a heredoc body (use \\ for a backslash)`, l[i])
		}
	}
	return b.String(), false, nil
}

// splitWords splits a command line shell-style: blanks separate words;
// '...' is literal; "..." allows \" \\ \$ \` escapes; $'...' decodes \t \n
// \r \\ \' \" \xHH; a backslash outside quotes escapes the next character.
// quoted[i] tells whether word i had any quoting (so that a quoted <<EOF
// is an argument, not a heredoc).
func splitWords(s string) (words []string, quoted []bool, err error) {
	var cur strings.Builder
	inWord, q := false, false
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			quoted = append(quoted, q)
		}
		cur.Reset()
		inWord, q = false, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			flush()
		case c == '\\':
			if i+1 >= len(s) {
				return nil, nil, fmt.Errorf("backslash at the end of the command line")
			}
			i++
			cur.WriteByte(s[i])
			inWord, q = true, true
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, nil, fmt.Errorf("unterminated ' quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord, q = true, true
		case c == '$' && i+1 < len(s) && s[i+1] == '\'':
			i += 2
			closed := false
			for ; i < len(s); i++ {
				if s[i] == '\'' {
					closed = true
					break
				}
				if s[i] != '\\' {
					cur.WriteByte(s[i])
					continue
				}
				if i+1 >= len(s) {
					return nil, nil, fmt.Errorf("unterminated $' quote")
				}
				i++
				switch s[i] {
				case 't':
					cur.WriteByte('\t')
				case 'n':
					cur.WriteByte('\n')
				case 'r':
					cur.WriteByte('\r')
				case '\\', '\'', '"':
					cur.WriteByte(s[i])
				case 'x':
					if i+2 >= len(s) {
						return nil, nil, fmt.Errorf(`\x needs two hex digits`)
					}
					v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
					if err != nil {
						return nil, nil, fmt.Errorf(`\x needs two hex digits`)
					}
					cur.WriteByte(byte(v))
					i += 2
				default:
					return nil, nil, fmt.Errorf(`unknown escape \%c in $'...'`, s[i])
				}
			}
			if !closed {
				return nil, nil, fmt.Errorf("unterminated $' quote")
			}
			inWord, q = true, true
		case c == '"':
			i++
			closed := false
			for ; i < len(s); i++ {
				if s[i] == '"' {
					closed = true
					break
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if !closed {
				return nil, nil, fmt.Errorf(`unterminated " quote`)
			}
			inWord, q = true, true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return words, quoted, nil
}

// confDir finds testdata/conformance: $IPVSADM_CONFORMANCE_DIR, else
// relative to the package directory (go test) or to the test binary's
// directory in the VM (/work/kt/ipvsadm -> /work/testdata).
func confDir() (string, error) {
	if d := os.Getenv("IPVSADM_CONFORMANCE_DIR"); d != "" {
		return d, nil
	}
	for _, d := range []string{"../../testdata/conformance", "testdata/conformance"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d, nil
		}
	}
	return "", fmt.Errorf("testdata/conformance not found (set IPVSADM_CONFORMANCE_DIR)")
}

// loadCases parses every *.txt in dir, in file-name order.
func loadCases(dir string) ([]*confCase, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("no case files (*.txt) in %s", dir)
	}
	var all []*confCase
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		cs, err := parseCaseFile(f, string(data))
		if err != nil {
			return nil, err
		}
		all = append(all, cs...)
	}
	return all, nil
}

// compatPath finds COMPATIBILITY.md next to the testdata directory.
func compatPath(confdir string) string {
	if p := os.Getenv("IPVSADM_CONFORMANCE_COMPAT"); p != "" {
		return p
	}
	return filepath.Join(confdir, "..", "..", "COMPATIBILITY.md")
}

// markdownAnchors returns the heading anchors of a Markdown file:
// GitHub-style slugs of "#" headings (with -1, -2 ... for repeats), the
// same slugs with runs of '-' collapsed and no '-' at either end, and
// explicit <a id="..."> / <a name="..."> / {#id} anchors.
func markdownAnchors(md string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	explicit := regexp.MustCompile(`(?:id|name)="([^"]+)"|\{#([A-Za-z0-9_-]+)\}`)
	inFence := false
	sc := bufio.NewScanner(strings.NewReader(md))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			inFence = !inFence
			continue
		}
		for _, m := range explicit.FindAllStringSubmatch(l, -1) {
			anchors[m[1]+m[2]] = true
		}
		if inFence || !strings.HasPrefix(l, "#") {
			continue
		}
		h := strings.TrimLeft(l, "#")
		if len(h) == len(l) || (h != "" && h[0] != ' ') {
			continue
		}
		h = regexp.MustCompile(`\s*\{#[^}]*\}\s*$`).ReplaceAllString(h, "")
		s := githubSlug(strings.TrimSpace(h))
		// Also the tidy form: runs of '-' collapsed, no '-' at either end
		// ("## `-b ,` does not crash": -b--does-not-crash, b-does-not-crash).
		anchors[strings.Trim(regexp.MustCompile(`-+`).ReplaceAllString(s, "-"), "-")] = true
		if n, ok := seen[s]; ok {
			seen[s] = n + 1
			anchors[fmt.Sprintf("%s-%d", s, n+1)] = true
		} else {
			seen[s] = 0
			anchors[s] = true
		}
	}
	return anchors
}

// githubSlug is GitHub's heading anchor: lower case, spaces to '-', and
// everything but letters, digits, '-' and '_' removed.
func githubSlug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// ---------------------------------------------------------------- tests ----

func TestConformanceSplitWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`ipvsadm -A -t 10.0.0.1:80`, []string{"ipvsadm", "-A", "-t", "10.0.0.1:80"}},
		{`ipvsadm ''`, []string{"ipvsadm", ""}},
		{`ipvsadm -w '7 ' "a b" x\ y`, []string{"ipvsadm", "-w", "7 ", "a b", "x y"}},
		{`ipvsadm "it's" 'say "hi"' "q\"q"`, []string{"ipvsadm", "it's", `say "hi"`, `q"q`}},
		{`ipvsadm $'a\tb' $'\x41\'' a''b`, []string{"ipvsadm", "a\tb", "A'", "ab"}},
		{`  ipvsadm   -L  `, []string{"ipvsadm", "-L"}},
	} {
		got, _, err := splitWords(tc.in)
		if err != nil || !equalStrings(got, tc.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{`ipvsadm 'x`, `ipvsadm "x`, `ipvsadm x\`, `ipvsadm $'\q'`} {
		if _, _, err := splitWords(bad); err == nil {
			t.Errorf("splitWords(%q): no error", bad)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestConformanceParse(t *testing.T) {
	src := "# a comment\n" +
		"=== one\n" +
		"setup: ip link add eth0 type dummy\n" +
		"$ ipvsadm -R <<EOF\n" +
		"-A -t 10.0.0.1:80\\s\\s\n" +
		"\tx\\r\n" +
		"# not a comment\n" +
		"last\\\n" +
		"EOF\n" +
		"$same ipvsadm -Lnc\n" +
		"$ ipvsadm '<<EOF'\n" +
		"differs: some-id\n" +
		"\n" +
		"=== two\n" +
		"$ ipvsadm-save -n\n" +
		"expect-stdout <<END\n" +
		"-A -t 10.0.0.1:80 -s wlc\n" +
		"END\n" +
		"expect-stderr <<END\n" +
		"END\n" +
		"expect-exit: 0\n"
	cs, err := parseCaseFile("x/topic.txt", src)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].FullName() != "topic/one" || cs[1].Name != "two" {
		t.Fatalf("cases: %+v", cs)
	}
	one := cs[0]
	if len(one.Steps) != 4 || one.Differs != "some-id" {
		t.Fatalf("steps: %+v", one)
	}
	if one.Steps[0].Kind != stepSetup || one.Steps[0].Shell != "ip link add eth0 type dummy" {
		t.Errorf("setup: %+v", one.Steps[0])
	}
	if got, want := one.Steps[1].Stdin, "-A -t 10.0.0.1:80  \n\tx\r\n# not a comment\nlast"; got != want {
		t.Errorf("stdin %q, want %q", got, want)
	}
	if one.Steps[2].Kind != stepSame || one.Steps[3].Argv[1] != "<<EOF" || one.Steps[3].Stdin != "" {
		t.Errorf("steps: %+v", one.Steps)
	}
	e := cs[1].Steps[0].Expect
	if e == nil || e.Stdout != "-A -t 10.0.0.1:80 -s wlc\n" || e.Stderr != "" || !e.HasExit || e.Exit != 0 {
		t.Errorf("expect: %+v", e)
	}
	for _, bad := range []string{
		"$ ipvsadm -L\n",                              // outside a case
		"=== a\n",                                     // no command
		"=== a\n$ ls\n",                               // not ipvsadm
		"=== a\n$ ipvsadm -R <<EOF\nx\n",              // unterminated
		"=== a\n$ ipvsadm-save\n",                     // script without expect
		"=== a\n$ ipvsadm -L\n=== a\n$ ipvsadm -L\n",  // duplicate
		"=== a\n$ ipvsadm -L\nfoo\n",                  // unknown line
		"=== a\n$ ipvsadm -L\nexpect-stdout <<E\nE\n", // no exit
		"=== a b\n$ ipvsadm -L\n",                     // bad name
		"=== a\n$ ipvsadm -R <<E\n\\q\nE\n",           // bad escape
	} {
		if _, err := parseCaseFile("bad.txt", bad); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}

func TestConformanceAnchors(t *testing.T) {
	a := markdownAnchors("# Compatibility\n## -b , does not crash\n## Help without IPVS\n```\n# not a heading\n```\n## Help without IPVS\n<a id=\"x-y\"></a>\n### Foo {#bar}\n")
	for _, want := range []string{"compatibility", "-b--does-not-crash", "b-does-not-crash", "help-without-ipvs", "help-without-ipvs-1", "x-y", "bar"} {
		if !a[want] {
			t.Errorf("anchor %q missing from %v", want, a)
		}
	}
	if a["not-a-heading"] {
		t.Errorf("heading inside a code fence")
	}
}

// TestConformanceCaseFiles checks that every case file parses, and that
// every differs: id is a heading anchor of COMPATIBILITY.md (when that file
// exists).
func TestConformanceCaseFiles(t *testing.T) {
	dir, err := confDir()
	if err != nil {
		t.Fatal(err)
	}
	cases, err := loadCases(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 250 {
		t.Errorf("only %d conformance cases; the suite promises at least 250", len(cases))
	}
	perFile := map[string]int{}
	for _, c := range cases {
		perFile[c.File]++
	}
	t.Logf("%d cases: %v", len(cases), perFile)
	md, err := os.ReadFile(compatPath(dir))
	if err != nil {
		for _, c := range cases {
			if c.Differs != "" {
				t.Logf("%s: differs: %s not verified: %v", c.FullName(), c.Differs, err)
			}
		}
		return
	}
	anchors := markdownAnchors(string(md))
	for _, c := range cases {
		if c.Differs != "" && !anchors[c.Differs] {
			t.Errorf("%s: differs: %s is not a heading anchor of COMPATIBILITY.md", c.FullName(), c.Differs)
		}
	}
}

func TestConformanceLineDiff(t *testing.T) {
	d := lineDiff("a\nb\nc\n", "a\nb \nc")
	want := "       a|\n      -b|\n      -c|\n      +b |\n      +c|  (no newline at end)\n"
	if d != want {
		t.Errorf("lineDiff:\n%s\nwant:\n%s", d, want)
	}
	if diffResults("ref", confResult{Stdout: "x\n"}, "ours", confResult{Stdout: "x\n"}) != "" {
		t.Errorf("equal results differ")
	}
	r := emulateScriptTest(t, "ipvsadm-restore", "# c\n-A -t 10.0.0.1:80\n\n\n")
	if r != "ipvsadm -C|ipvsadm -R:\"-A -t 10.0.0.1:80\\n\"" {
		t.Errorf("restore emulation: %s", r)
	}
	if r := emulateScriptTest(t, "ipvsadm-restore", ""); r != "ipvsadm -C|ipvsadm -R:\"\\n\"" {
		t.Errorf("empty restore emulation: %s", r)
	}
	if r := emulateScriptTest(t, "ipvsadm-save", "", "-n"); r != "ipvsadm -S -n:\"\"" {
		t.Errorf("save emulation: %s", r)
	}
}

// emulateScriptTest returns the ipvsadm commands the script emulation runs.
func emulateScriptTest(t *testing.T, name, stdin string, args ...string) string {
	var calls []string
	_, err := emulateScript(append([]string{name}, args...), stdin, func(argv []string, in string) (confResult, error) {
		c := strings.Join(argv, " ")
		if in != "" || argv[1] == "-R" || argv[1] == "-S" {
			c += ":" + strconv.Quote(in)
		}
		calls = append(calls, c)
		return confResult{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(calls, "|")
}
