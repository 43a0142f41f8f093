package main

// The conformance suite on the host: every case that needs nothing of the
// kernel but its table runs against the table model (modelBackend), and
// each command's output, error text and status, and the final table, must
// equal what ipvsadm 1.31 did in the VM, recorded in
// testdata/conformance/reference.json (refresh it with
// `make conformance-record`). The VM run of the suite stays the judge;
// this catches most regressions in seconds, without a kernel.

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/names"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// referenceFile holds the recorded results, by case (file/name).
const referenceFile = "reference.json"

// setupCommand matches a setup step that only runs ipvsadm commands.
func setupCommands(shell string) ([][]string, bool) {
	var cmds [][]string
	for _, part := range strings.Split(shell, "&&") {
		words, quoted, err := splitWords(strings.TrimSpace(part))
		if err != nil || len(words) == 0 || words[0] != "ipvsadm" {
			return nil, false
		}
		for i, w := range words {
			if !quoted[i] && strings.ContainsAny(w, "|;<>$`") {
				return nil, false
			}
		}
		cmds = append(cmds, words)
	}
	return cmds, true
}

// replayable tells why a case cannot run on the host, or "".
func replayable(c *confCase) string {
	for _, st := range c.Steps {
		switch {
		case st.Kind == stepSame:
			return "a command depends on time or on the namespace"
		case st.Kind == stepSetup:
			if _, ok := setupCommands(st.Shell); !ok {
				return "a setup step needs the kernel: " + st.Shell
			}
		case st.Kind == stepCommand && strings.Contains(strings.Join(st.Argv, " "), "-daemon"):
			return "sync daemons need network interfaces"
		}
	}
	return ""
}

func TestConformanceReplay(t *testing.T) {
	dir, err := confDir()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, referenceFile))
	if err != nil {
		t.Fatalf("%v (record it in the VM: make conformance-record)", err)
	}
	var recs map[string]confRecording
	if err := json.Unmarshal(b, &recs); err != nil {
		t.Fatal(err)
	}
	cases, err := loadCases(dir)
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, generatedCases()...)
	ran, missing := 0, 0
	for _, c := range cases {
		rec, ok := recs[c.FullName()]
		if !ok {
			missing++
			continue
		}
		if replayable(c) != "" {
			continue
		}
		ran++
		t.Run(c.FullName(), func(t *testing.T) { replayCase(t, c, rec) })
	}
	t.Logf("replayed %d of %d cases on the table model; %d not recorded yet", ran, len(cases), missing)
	if ran < len(cases)/2 {
		t.Errorf("only %d of %d cases replayed: is %s up to date?", ran, len(cases), referenceFile)
	}
}

// replayCase runs one case's steps on a fresh model and compares them
// with the recording.
func replayCase(t *testing.T, c *confCase, rec confRecording) {
	m := newModelBackend()
	withBackend(t, m, nil)
	withVMNames(t)
	k := 0
	for i := range c.Steps {
		st := &c.Steps[i]
		if st.Kind == stepSetup {
			cmds, _ := setupCommands(st.Shell)
			for _, argv := range cmds {
				if status := run(argv, strings.NewReader(""), io.Discard, io.Discard); status != 0 {
					t.Fatalf("setup %q: exit %d", argv, status)
				}
			}
			continue
		}
		if k >= len(rec.Results) {
			t.Fatalf("the recording has %d results, the case more commands (re-record)", len(rec.Results))
		}
		got := replayStep(t, m, st)
		want := rec.Results[k]
		k++
		if c.Differs != "" {
			continue // a listed difference: what ours does is tested elsewhere
		}
		if got != want {
			t.Errorf("command %d (line %d): %s\n%s", k, st.Line, st.Text(), diffResults("ref", want, "ours", got))
		}
	}
	if c.Differs != "" {
		return
	}
	var out strings.Builder
	run([]string{"ipvsadm", "-Sn"}, strings.NewReader(""), &out, io.Discard)
	if out.String() != rec.Final {
		t.Errorf("final table differs:\n%s", diffResults("ref", confResult{Stdout: rec.Final}, "ours", confResult{Stdout: out.String()}))
	}
}

// replayStep runs one command as the VM runner would, on m.
func replayStep(t *testing.T, m *modelBackend, st *confStep) confResult {
	env := map[string]string{}
	for _, e := range st.Env {
		k, v, _ := strings.Cut(e, "=")
		env[k] = v
	}
	oldEnv := lookupEnv
	lookupEnv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	defer func() { lookupEnv = oldEnv }()
	if st.Nobody {
		// Without privilege the first request that needs it, init's, fails.
		old := dialBackend
		dialBackend = func(int) (backend, error) { return deniedBackend{m}, nil }
		defer func() { dialBackend = old }()
	}

	var stdin io.Reader = strings.NewReader(st.Stdin)
	var in *os.File
	if st.Rest {
		f, err := os.CreateTemp(t.TempDir(), "stdin")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		f.WriteString(st.Stdin)
		f.Seek(0, io.SeekStart)
		stdin, in = f, f
	}
	var stdout, stderr strings.Builder
	var out, errw io.Writer = &stdout, &stderr
	if st.Merged {
		errw = &stdout
	}
	if st.Full {
		out = failingWriter{unix.ENOSPC}
	}
	code := run(st.Argv, stdin, out, errw)
	res := confResult{Stdout: stdout.String(), Stderr: stderr.String(), Code: code}
	if in != nil {
		rest, _ := io.ReadAll(in)
		res.Stdout += "<rest of standard input>\n" + string(rest)
	}
	return res
}

// deniedBackend is a backend for a caller without CAP_NET_ADMIN.
type deniedBackend struct{ *modelBackend }

func (deniedBackend) Info() (rules.Info, error) {
	return rules.Info{}, &ipvs.Error{Op: ipvs.OpInfo, Err: unix.EPERM}
}

// withVMNames makes the command resolve names as in the VM: with the files
// of vm/guest/etc (the VM's /etc/hosts, services, nsswitch.conf).
func withVMNames(t *testing.T) {
	dir, err := confDir()
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(dir, "..", "..", "vm", "guest", "etc")
	old := newResolver
	newResolver = func() names.Resolver {
		return &names.SystemResolver{
			HostsPath:    filepath.Join(dir, "hosts"),
			ServicesPath: filepath.Join(dir, "services"),
			NSSwitchPath: filepath.Join(dir, "nsswitch.conf"),
		}
	}
	t.Cleanup(func() { newResolver = old })
}

// TestMergeRecordings merges the recordings of a VM run (the directory
// $IPVSADM_RECORDINGS, one <file>.<case>.json each) into reference.json.
// It is a step of vm/record-conformance.sh and does nothing otherwise.
func TestMergeRecordings(t *testing.T) {
	src := os.Getenv("IPVSADM_RECORDINGS")
	if src == "" {
		t.Skip("IPVSADM_RECORDINGS not set: this is a step of vm/record-conformance.sh")
	}
	files, err := filepath.Glob(filepath.Join(src, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recordings in %s (%v)", src, err)
	}
	recs := map[string]confRecording{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var r confRecording
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		file, name, _ := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".json"), ".")
		recs[file+"/"+name] = r
	}
	b, err := json.MarshalIndent(recs, "", "")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := confDir()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, referenceFile), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d recordings merged into %s", len(recs), referenceFile)
}
