package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/dist"
	"github.com/ipvsadm-go/ipvsadm/internal/ipvs/ipvstest"
)

// unitCommands are the commands of the systemd unit with the rules file
// and the binary replaced: each a shell command line, and whether it reads
// the rules file as its standard input.
type unitCommand struct {
	shell string
	stdin bool
}

func unitCommands(t *testing.T, binary, rules string) (start, stop []unitCommand) {
	t.Helper()
	text := strings.ReplaceAll(strings.ReplaceAll(dist.Unit, "/etc/ipvsadm.rules", rules), "/usr/sbin/ipvsadm", binary)
	stdinFile := false
	for _, line := range strings.Split(text, "\n") {
		if line == "StandardInput=file:"+rules {
			stdinFile = true
		}
	}
	for _, line := range strings.Split(text, "\n") {
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch key {
		case "ExecStartPre", "ExecStart":
			start = append(start, unitCommand{shell: val, stdin: stdinFile})
		case "ExecStop":
			// /bin/sh -c '...': run the quoted part.
			inner := strings.TrimSuffix(strings.TrimPrefix(val, "/bin/sh -c '"), "'")
			stop = append(stop, unitCommand{shell: inner})
		}
	}
	if len(start) == 0 || len(stop) == 0 || !stdinFile {
		t.Fatalf("unit without start or stop commands:\n%s", text)
	}
	return start, stop
}

// runUnit runs the commands in ns as systemd would (standard input from
// the rules file where the unit says so) and requires each to succeed.
func runUnit(t *testing.T, ns *ipvstest.NS, cmds []unitCommand, rules string) {
	t.Helper()
	for _, c := range cmds {
		stdin := ""
		if c.stdin {
			b, err := os.ReadFile(rules)
			if err != nil {
				t.Fatal(err)
			}
			stdin = string(b)
		}
		r, err := ipvstest.RunIn(ns.FD(), ipvstest.Command{Argv: []string{"sh", "-c", c.shell}, Stdin: stdin})
		if err != nil || r.Code != 0 {
			t.Fatalf("%s: %v exit %d: %s%s", c.shell, err, r.Code, r.Stdout, r.Stderr)
		}
	}
}

// TestKernelSystemdUnit runs the commands of dist/ipvsadm.service: at
// boot they restore the saved rules, on stop they save the live table
// without flushing it, and a restart leaves the same table.
func TestKernelSystemdUnit(t *testing.T) {
	tl := newTools(t)
	rules := filepath.Join(t.TempDir(), "ipvsadm.rules")
	start, stop := unitCommands(t, tl.ours, rules)

	rulesText := "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 192.168.1.2:80 -m -w 3\n-a -t 10.0.0.1:80 -r 192.168.1.1:80 -m -w 1\n" +
		"-A -u [2001:db8::1]:53 -s sh -p 300\n-a -u [2001:db8::1]:53 -r [2001:db8::2]:53 -g -w 1\n-A -f 7 -s wlc\n"
	// In ipvsadm's own order, as a save writes it.
	scratch := ipvstest.NewNS(t)
	mustRunTool(t, scratch, tl.ref, rulesText, "-R")
	saved := mustRunTool(t, scratch, tl.ref, "", "-Sn")
	if err := os.WriteFile(rules, []byte(saved), 0o644); err != nil {
		t.Fatal(err)
	}
	boot := ipvstest.NewNS(t)
	runUnit(t, boot, start, rules)
	if got := mustRunTool(t, boot, tl.ref, "", "-Sn"); got != saved {
		t.Fatalf("after start, ipvsadm 1.31 -Sn:\n%s\nwant\n%s", got, saved)
	}

	mustRunTool(t, boot, tl.ref, "", "-A", "-t", "10.9.9.9:443", "-s", "wrr")
	live := mustRunTool(t, boot, tl.ref, "", "-Sn")
	liveFull := mustRunTool(t, boot, tl.ours, "", "-S", "--full", "-n")
	runUnit(t, boot, stop, rules)
	b, _ := os.ReadFile(rules)
	if string(b) != liveFull {
		t.Errorf("stop saved\n%s\nnot the live table (-S --full -n)\n%s", b, liveFull)
	}
	if got := mustRunTool(t, boot, tl.ref, "", "-Sn"); got != live {
		t.Errorf("stop changed the table:\n%s", got)
	}

	// A restart: stop, then start on the live table.
	runUnit(t, boot, stop, rules)
	runUnit(t, boot, start, rules)
	if got := mustRunTool(t, boot, tl.ref, "", "-Sn"); got != live {
		t.Errorf("after a restart:\n%s\nwant\n%s", got, live)
	}
	// The next boot restores what was saved.
	next := ipvstest.NewNS(t)
	runUnit(t, next, start, rules)
	if got := mustRunTool(t, next, tl.ref, "", "-Sn"); got != live {
		t.Errorf("after the next boot:\n%s\nwant\n%s", got, live)
	}
}
