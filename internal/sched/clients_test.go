package sched

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseClientSet(t *testing.T) {
	for _, tt := range []struct {
		in, out string
		count   uint64
		err     bool
	}{
		{"10.0.0.7", "10.0.0.7", 1, false},
		{"10.0.0.7:5555", "10.0.0.7:5555", 1, false},
		{"10.0.0.7:1000-1009", "10.0.0.7:1000-1009", 10, false},
		{"10.0.0.9/24", "10.0.0.0/24", 256, false},
		{"10.0.0.0/24:80", "10.0.0.0/24:80", 256, false},
		{"2001:db8::7", "2001:db8::7", 1, false},
		{"[2001:db8::7]:5555", "[2001:db8::7]:5555", 1, false},
		{"2001:db8::/120", "2001:db8::/120", 256, false},
		{"[2001:db8::/126]:1-2", "[2001:db8::/126]:1-2", 8, false},
		{"::ffff:10.0.0.1", "10.0.0.1", 1, false},
		{"::/0", "::/0", ^uint64(0), false},
		{"10.0.0.7:", "", 0, true},
		{"10.0.0.7:70000", "", 0, true},
		{"10.0.0.7:9-8", "", 0, true},
		{"[10.0.0.7]:80", "", 0, true},
		{"[2001:db8::7]", "", 0, true},
		{"fe80::1%eth0", "", 0, true},
		{"host.example", "", 0, true},
		{"10.0.0.0/33", "", 0, true},
		{"", "", 0, true},
	} {
		cs, err := ParseClientSet(tt.in)
		if tt.err {
			if err == nil {
				t.Errorf("%q: parsed as %s", tt.in, cs)
			}
			continue
		}
		if err != nil || cs.String() != tt.out || cs.Count() != tt.count {
			t.Errorf("%q: %s (%d), %v; want %s (%d)", tt.in, cs, cs.Count(), err, tt.out, tt.count)
		}
	}
}

func TestParseClientList(t *testing.T) {
	sets, err := ParseClientList(strings.NewReader("# clients\n10.0.0.1\n\n  10.0.1.0/30:7  # four\n[2001:db8::1]:9\n"))
	if err != nil || len(sets) != 3 || sets[1].Count() != 4 {
		t.Fatalf("%v %v", sets, err)
	}
	var got []string
	sets[1].Each(func(c netip.AddrPort) bool { got = append(got, c.String()); return true })
	if strings.Join(got, " ") != "10.0.1.0:7 10.0.1.1:7 10.0.1.2:7 10.0.1.3:7" {
		t.Errorf("each: %v", got)
	}
	if _, err := ParseClientList(strings.NewReader("10.0.0.1\nbogus\n")); err == nil || !strings.HasPrefix(err.Error(), "line 2: ") {
		t.Errorf("error %v", err)
	}
	if _, err := ParseClientList(strings.NewReader("# nothing\n")); err == nil {
		t.Error("an empty list is accepted")
	}
}

// FuzzParseClientSet: what parses prints back to the same set.
func FuzzParseClientSet(f *testing.F) {
	for _, s := range []string{"10.0.0.7", "10.0.0.0/24:1-9", "[2001:db8::/120]:80", "::ffff:1.2.3.4/120", "[::]:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := ParseClientSet(s)
		if err != nil {
			return
		}
		back, err := ParseClientSet(cs.String())
		if err != nil || back != cs {
			t.Fatalf("%q -> %s -> %v, %v", s, cs, back, err)
		}
		if cs.Count() == 0 {
			t.Fatalf("%q: no clients", s)
		}
	})
}

// FuzzParseClientList never panics and names the line of an error.
func FuzzParseClientList(f *testing.F) {
	f.Add("10.0.0.1\n# x\n10.0.0.0/30:1-2\n")
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := ParseClientList(strings.NewReader(s)); err != nil && strings.Contains(err.Error(), "line 0") {
			t.Fatal(err)
		}
	})
}
