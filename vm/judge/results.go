package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// An event is one line of a test2json stream (see go doc test2json).
type event struct {
	Action  string
	Test    string
	Package string
	Elapsed float64 // seconds, on pass, fail and skip
	Output  string
}

// A testResult is one test or subtest of a package, as its events left it.
type testResult struct {
	name    string
	action  string  // "pass", "fail", "skip", or "" when it never finished
	elapsed float64 // seconds
	output  []string
}

func (t *testResult) topLevelKernel() bool {
	return strings.HasPrefix(t.name, "TestKernel") && !strings.Contains(t.name, "/")
}

// A pkgResult is what came back for one test binary.
type pkgResult struct {
	name     string // the results' file name stem
	pkg      string // import path, from the events
	status   string // the binary's exit status; "" when none came back
	stream   bool   // NAME.json came back
	readErr  error  // reading NAME.json or NAME.status failed
	tests    []*testResult
	pkgLines []string // output not attributed to a test
}

// A run is a whole kernel-test run.
type run struct {
	vmStatus  int
	guestDone bool // the guest runner finished and said so
	pkgs      []*pkgResult
}

func readRun(dir string, names []string, vmStatus int) *run {
	r := &run{vmStatus: vmStatus}
	_, err := os.Stat(filepath.Join(dir, "done"))
	r.guestDone = err == nil
	for _, n := range names {
		r.pkgs = append(r.pkgs, readPackage(dir, n))
	}
	return r
}

func readPackage(dir, name string) *pkgResult {
	p := &pkgResult{name: name}
	st, err := os.ReadFile(filepath.Join(dir, name+".status"))
	switch {
	case err == nil:
		p.status = strings.TrimSpace(string(st))
	case !errors.Is(err, fs.ErrNotExist):
		p.readErr = err
	}
	f, err := os.Open(filepath.Join(dir, name+".json"))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			p.readErr = err
		}
		return p
	}
	defer f.Close()
	p.stream = true
	if err := p.readEvents(bufio.NewScanner(f)); err != nil {
		p.readErr = fmt.Errorf("%s.json: %w", name, err)
	}
	return p
}

// readEvents folds a test2json stream into tests, in the order they started.
func (p *pkgResult) readEvents(sc *bufio.Scanner) error {
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	byName := map[string]*testResult{}
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// Not an event: keep the text where a reader will see it.
			p.pkgLines = append(p.pkgLines, sc.Text()+"\n")
			continue
		}
		if p.pkg == "" {
			p.pkg = e.Package
		}
		if e.Test == "" {
			if e.Action == "output" {
				p.pkgLines = append(p.pkgLines, e.Output)
			}
			continue
		}
		t := byName[e.Test]
		if t == nil {
			t = &testResult{name: e.Test}
			byName[e.Test] = t
			p.tests = append(p.tests, t)
		}
		switch e.Action {
		case "output":
			t.output = append(t.output, e.Output)
		case "pass", "fail", "skip":
			t.action, t.elapsed = e.Action, e.Elapsed
		}
	}
	return sc.Err()
}
