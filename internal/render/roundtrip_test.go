package render_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/cmdline"
	"github.com/ipvsadm-go/ipvsadm/internal/render"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/sched"
)

// restore parses text as ipvsadm -R would and applies its -A and -a lines
// to the table model (which refuses what the kernel refuses).
func restore(t *testing.T, text string) []rules.ServiceEntry {
	t.Helper()
	lines, err := cmdline.ReadRestoreLines(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	p := &cmdline.Parser{Argv0: "ipvsadm", Resolver: nil, SchedFlags: sched.ParseFlags}
	tb := rules.NewTable()
	for _, args := range lines {
		cmd, err := p.Parse(args)
		if err != nil {
			continue
		}
		switch cmd.Kind {
		case cmdline.CmdAddService:
			tb.Apply(rules.Change{Op: rules.OpAddService, Service: cmd.Service})
		case cmdline.CmdAddServer:
			tb.Apply(rules.Change{Op: rules.OpAddDest, Service: cmd.Service, Dest: cmd.Dest})
		}
	}
	return tb.Entries()
}

// restorable drops what ipvsadm 1.31 saves in a form it cannot read back
// (a quirk we keep for byte compatibility): fwmarks of 2^31 and more,
// which are printed negative, and scheduler flags without a name for the
// scheduler, printed as an empty "-b ".
func restorable(entries []rules.ServiceEntry) []rules.ServiceEntry {
	var out []rules.ServiceEntry
	for _, e := range entries {
		s := e.Service
		if s.FWMark >= 1<<31 {
			continue
		}
		if s.Flags&rules.FlagsSched != 0 && len(sched.AppendFlags(nil, s.Scheduler, s.Flags)) == 0 {
			continue
		}
		out = append(out, e)
	}
	return out
}

func save(t *testing.T, entries []rules.ServiceEntry) string {
	t.Helper()
	var b bytes.Buffer
	if err := render.WriteSave(&b, entries, true, nil); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// FuzzRulesRoundTrip: whatever the input, restoring the numeric save of
// the table it builds gives a table that saves to the same text.
func FuzzRulesRoundTrip(f *testing.F) {
	for _, seed := range []string{
		"-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 192.168.1.10:8080 -m -w 3 -x 10 -y 5\n",
		"-A -u 10.0.0.1:53 -p -o\n-A -t 10.0.0.3:443 -s sh -b sh-fallback,sh-port -p 600 -M 255.255.255.0\n",
		"-A -f 7 -6 -p 120 -M 64\n-a -f 7 -6 -r [2001:db8::1]:0 -i\n-A -f 3000000000\n",
		"-A -t [2001:db8::10]:80\n-a -t [2001:db8::10]:80 -r [2001:db8::20]:8080 -m -w 5\n",
		"-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 192.168.1.14 -i --tun-type gue --tun-port 6080 --tun-csum\n" +
			"-a -t 10.0.0.1:80 -r 192.168.1.15 -i --tun-type gre\n-A -t 10.0.0.4:80 -p 30 --pe sip\n",
		"ipvsadm -A -t 127.1:80 -s sh -b flag-3\r\n-A --sctp-service 10.0.0.1:1 -s mh -b mh-port\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		first := restorable(restore(t, text))
		saved := save(t, first)
		second := restore(t, saved)
		if again := save(t, second); again != saved {
			t.Fatalf("save is not stable:\ninput:\n%s\nfirst save:\n%s\nsecond save:\n%s", text, saved, again)
		}
		if len(second) != len(first) {
			t.Fatalf("restore of the save lost services:\n%s", saved)
		}
	})
}
