package cmdline

import (
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

func TestReadRestoreLines(t *testing.T) {
	long := strings.Repeat("a", 4096)
	// 17 pieces are more than the scanner's 64 KiB read buffer.
	tests := []struct {
		name, in string
		want     [][]string
	}{
		{"empty", "", nil},
		{"blank lines", "\n\n  \t\r\n", nil},
		{"simple", "-A -t 10.0.0.1:80 -s rr\n", [][]string{{"-A", "-t", "10.0.0.1:80", "-s", "rr"}}},
		{"no final newline", "-A -t x", [][]string{{"-A", "-t", "x"}}},
		{"one trailing space at EOF", "-A -t x ", [][]string{{"-A", "-t", "x"}}},
		{"two trailing blanks at EOF", "-A\n-A -t x  ", [][]string{{"-A"}}},
		{"tab and CR at EOF", "-A -t x\t\r", nil},
		{"trailing blanks before newline", "-A -t x  \n", [][]string{{"-A", "-t", "x"}}},
		{"ipvsadm dropped anywhere", "ipvsadm -A ipvsadm -t x ipvsadmx\n", [][]string{{"-A", "-t", "x", "ipvsadmx"}}},
		{"only ipvsadm", "ipvsadm\n-C\n", [][]string{{"-C"}}},
		{"no quoting", "-A -t \"10.0.0.1:80\"\n", [][]string{{"-A", "-t", `"10.0.0.1:80"`}}},
		{"comments are tokens", "# saved rules\n-A -t x # c\n", [][]string{{"#", "saved", "rules"}, {"-A", "-t", "x", "#", "c"}}},
		{"no continuation", "-A \\\n-t x\n", [][]string{{"-A", "\\"}, {"-t", "x"}}},
		{"CR is whitespace", "-A\r-t x\n", [][]string{{"-A", "-t", "x"}}},
		{"vertical tab is not", "-A\v-t\n", [][]string{{"-A\v-t"}}},
		{"long token split", long + "bc d\n", [][]string{{long, "bc", "d"}}},
		{"exact 4096", long + "\n", [][]string{{long}}},
		{"NUL ends a token", "-A\x00x -t\n\x00\n", [][]string{{"-A", "-t"}, {""}}},
		// Checked against the Debian binary in the project VM, through the
		// tokens its popt errors name.
		{"CR does not end a line", "-L --a\r-L --b\n", [][]string{{"-L", "--a", "-L", "--b"}}},
		{"form feed is not whitespace", "-L --a\fb\n", [][]string{{"-L", "--a\fb"}}},
		{"split inside an option", "-L " + strings.Repeat("y", 4095) + "--q\n", [][]string{{"-L", strings.Repeat("y", 4095) + "-", "-q"}}},
		{"4096-byte token at EOF", "-L --" + strings.Repeat("x", 4094), [][]string{{"-L", "--" + strings.Repeat("x", 4094)}}},
		{"4096-byte token and two blanks at EOF", "-L --" + strings.Repeat("x", 4094) + "  ", nil},
		{"space and CR at EOF", "-L --a \r", nil},
		{"one CR at EOF", "-L --a\r", [][]string{{"-L", "--a"}}},
		{"two blanks inside the last line", "-L  --a", [][]string{{"-L", "--a"}}},
		{"line longer than the read buffer", strings.Repeat(long, 17) + "bbb c\n-C\n", [][]string{append(slices.Repeat([]string{long}, 17), "bbb", "c"), {"-C"}}},
		{"NUL-only token is an empty argument", "\x00\n-L --z\n", [][]string{{""}, {"-L", "--z"}}},
		// Reference §10.E, E1, E5 and E9.
		{"E1", "-A -t 10.0.0.1:80 -s rr\nipvsadm -a -t 10.0.0.1:80 -r 192.168.1.10:80 -m\n\n  -a -t 10.0.0.9:80 -r 192.168.1.11:80 -m  \n-A -u 10.0.0.1:53\n",
			[][]string{
				{"-A", "-t", "10.0.0.1:80", "-s", "rr"},
				{"-a", "-t", "10.0.0.1:80", "-r", "192.168.1.10:80", "-m"},
				{"-a", "-t", "10.0.0.9:80", "-r", "192.168.1.11:80", "-m"},
				{"-A", "-u", "10.0.0.1:53"},
			}},
		{"E5", "-A -t 10.0.0.10:80\n-A -t 10.0.0.11:80  ", [][]string{{"-A", "-t", "10.0.0.10:80"}}},
		{"E9", "-A -t 10.0.0.1:80\r\n-A -t 10.0.0.2:80\r\n   \t \n\n",
			[][]string{{"-A", "-t", "10.0.0.1:80"}, {"-A", "-t", "10.0.0.2:80"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadRestoreLines(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			checkRestoreReads(t, tt.in, tt.want)
			if ref := referenceRestoreLines(tt.in); !reflect.DeepEqual(ref, tt.want) {
				t.Errorf("reference model: got %q", ref)
			}
		})
	}
}

// checkRestoreReads checks that reading in = want does not depend on how
// the input arrives or on the scanner's buffer size.
func checkRestoreReads(t *testing.T, in string, want [][]string) {
	t.Helper()
	readers := map[string]func() *RestoreScanner{
		"one byte at a time": func() *RestoreScanner {
			return NewRestoreScanner(iotest.OneByteReader(strings.NewReader(in)))
		},
		"small buffer": func() *RestoreScanner { return newRestoreScannerSize(strings.NewReader(in), 16) },
		"whole":        func() *RestoreScanner { return NewRestoreScanner(strings.NewReader(in)) },
	}
	// Every reader ends each line at the same offset and line number.
	var wantEnds []int64
	for _, name := range []string{"one byte at a time", "small buffer", "whole"} {
		s := readers[name]()
		var got [][]string
		var ends []int64
		for s.Scan() {
			got = append(got, s.Args())
			ends = append(ends, s.Offset(), int64(s.Line()))
		}
		if s.Err() != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %q, %v; want %q", name, got, s.Err(), want)
		}
		if wantEnds == nil {
			wantEnds = ends
		} else if !reflect.DeepEqual(ends, wantEnds) {
			t.Errorf("%s: line ends and numbers %v, one byte at a time %v", name, ends, wantEnds)
		}
	}
}

// referenceRestoreLines is a byte-at-a-time model of ipvsadm's restore
// tokenizer, the oracle for the scanner.
func referenceRestoreLines(in string) [][]string {
	var lines, tail [][]string
	var args []string
	var tok []byte
	inTok, trailingSpace := false, 0
	flush := func() {
		if !inTok {
			return
		}
		t, _, _ := strings.Cut(string(tok), "\x00")
		if t != "ipvsadm" {
			args = append(args, t)
		}
		tok, inTok = nil, false
	}
	for i := 0; i < len(in); i++ {
		switch c := in[i]; c {
		case '\n':
			flush()
			if len(args) > 0 {
				lines = append(lines, args)
			}
			args, trailingSpace = nil, 0
		case ' ', '\t', '\r':
			flush()
			trailingSpace++
		default:
			trailingSpace = 0
			tok, inTok = append(tok, c), true
			if len(tok) == restoreTokenMax {
				flush()
			}
		}
	}
	flush()
	if len(args) > 0 && trailingSpace < 2 {
		tail = [][]string{args}
	}
	return append(lines, tail...)
}

// TestRestoreScannerLazy checks that a line is available before the rest of
// the input has been read.
func TestRestoreScannerLazy(t *testing.T) {
	pr, pw := io.Pipe()
	go pw.Write([]byte("-A -t x\n"))
	s := NewRestoreScanner(pr)
	if !s.Scan() || !reflect.DeepEqual(s.Args(), []string{"-A", "-t", "x"}) {
		t.Fatalf("first line: %q, err %v", s.Args(), s.Err())
	}
	pw.Close()
	if s.Scan() {
		t.Errorf("unexpected line %q", s.Args())
	}
	if s.Err() != nil {
		t.Errorf("Err = %v", s.Err())
	}
}

func TestRestoreScannerError(t *testing.T) {
	boom := errors.New("boom")
	lines, err := ReadRestoreLines(io.MultiReader(strings.NewReader("-C\n-A"), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
	if !reflect.DeepEqual(lines, [][]string{{"-C"}}) {
		t.Errorf("lines = %q", lines)
	}
}

func FuzzReadRestoreLines(f *testing.F) {
	for _, s := range []string{
		"", "-A -t 10.0.0.1:80\n", "ipvsadm -C\r\n", "x  ", "a\x00b \t\n\n",
		strings.Repeat("z", 5000) + " y\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		lines, err := ReadRestoreLines(strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		checkRestoreReads(t, in, lines)
		if ref := referenceRestoreLines(in); !reflect.DeepEqual(lines, ref) {
			t.Fatalf("got %q, reference model %q", lines, ref)
		}
		for _, args := range lines {
			if len(args) == 0 {
				t.Fatal("empty line returned")
			}
			for _, a := range args {
				if strings.ContainsAny(a, " \t\r\n\x00") {
					t.Fatalf("token %q contains whitespace or NUL", a)
				}
				if len(a) > restoreTokenMax {
					t.Fatalf("token of %d bytes", len(a))
				}
				if a == "ipvsadm" {
					t.Fatal("ipvsadm token kept")
				}
			}
		}
	})
}

// TestRestoreScannerOffset checks the input offset after each line, also
// for lines longer than the read buffer and skipped empty lines.
func TestRestoreScannerOffset(t *testing.T) {
	long := strings.Repeat("x", 100)
	in := "-A a\n\n \n-" + long + "\n-C"
	s := newRestoreScannerSize(strings.NewReader(in), 16)
	var offsets []int64
	for s.Scan() {
		offsets = append(offsets, s.Offset())
	}
	require.NoError(t, s.Err())
	require.Equal(t, []int64{5, int64(8 + len(long) + 2), int64(len(in))}, offsets)
}

// TestSplitRestoreLineAllocatesOnce checks that a line of many words costs
// one string and one argument list, however many words it has.
func TestSplitRestoreLineAllocatesOnce(t *testing.T) {
	line := strings.Repeat("x ", 10000) + strings.Repeat("y", 3*restoreTokenMax)
	var args []string
	allocs := testing.AllocsPerRun(5, func() { args, _ = splitRestoreLine(line, new([]string)) })
	require.Len(t, args, 10003)
	require.LessOrEqual(t, allocs, 2.0)
}

// TestScannerKeepsFewPositionals checks that the scanner keeps only the
// positional arguments the grammar can use.
func TestScannerKeepsFewPositionals(t *testing.T) {
	args := append([]string{"--set"}, strings.Split(strings.Repeat("7 ", 1000), " ")...)
	sc := scanner{args: args}
	for {
		var o occurrence
		ok, err := sc.next(&o)
		require.Nil(t, err)
		if !ok {
			break
		}
	}
	require.Len(t, sc.positional, maxPositional)
}

// TestRestoreScannerArgsOwned checks that a line's arguments, cut from
// space shared with other lines, are the caller's: appending to them
// leaves the next line's alone.
func TestRestoreScannerArgsOwned(t *testing.T) {
	s := NewRestoreScanner(strings.NewReader("-a b\n-c d e\n"))
	require.True(t, s.Scan())
	first := s.Args()
	require.True(t, s.Scan())
	second := s.Args()
	_ = append(first, "x", "y", "z")
	require.Equal(t, []string{"-a", "b"}, first)
	require.Equal(t, []string{"-c", "d", "e"}, second)
}
