package sched

import (
	"errors"
	"strings"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		sched, text string
		want        rules.ServiceFlags
		err         string
	}{
		{"wlc", "", 0, ""},
		{"wlc", ",", 0, ""},  // ipvsadm 1.31 crashes here
		{"wlc", ",,", 0, ""}, // and here
		{"wlc", "flag-1", rules.FlagSched1, ""},
		{"rr", "flag-1,,flag-3,", rules.FlagSched1 | rules.FlagSched3, ""},
		{"sh", "flag-2", rules.FlagSched2, ""},
		{"sh", "sh-fallback,sh-port", rules.FlagSched1 | rules.FlagSched2, ""},
		{"mh", "mh-port", rules.FlagSched2, ""},
		{"mh", "mh-fallback,flag-3", rules.FlagSched1 | rules.FlagSched3, ""},
		{"sh", "sh-port,sh-port", rules.FlagSched2, ""},
		{"rr", "sh-port", 0, "incompatible scheduler flag `sh-port'"},
		{"wlc", "sh-port", 0, "incompatible scheduler flag `sh-port'"},
		{"", "mh-port", 0, "incompatible scheduler flag `mh-port'"},
		{"sh", "mh-port", 0, "incompatible scheduler flag `mh-port'"},
		{"shx", "sh-port", 0, "incompatible scheduler flag `sh-port'"},
		{"sh", "bogus", 0, "invalid scheduler flag `bogus'"},
		{"sh", "sh-port,bogus,mh-port", 0, "invalid scheduler flag `bogus'"},
		{"sh", "mh-port,bogus", 0, "incompatible scheduler flag `mh-port'"},
		{"wlc", "Flag-1", 0, "invalid scheduler flag `Flag-1'"},
		{"wlc", " flag-1", 0, "invalid scheduler flag ` flag-1'"},
		{"wlc", "flag-4", 0, "invalid scheduler flag `flag-4'"},
		// Only the first 127 bytes count: the cut leaves "fla".
		{"wlc", strings.Repeat(",", 124) + "flag-1", 0, "invalid scheduler flag `fla'"},
		{"wlc", strings.Repeat(",", 121) + "flag-1", rules.FlagSched1, ""},
		{"wlc", strings.Repeat(",", 127) + "bogus", 0, ""},
	}
	for _, tt := range tests {
		got, err := ParseFlags(tt.sched, tt.text)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseFlags(%q, %q) error = %v, want %s", tt.sched, tt.text, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseFlags(%q, %q) = %#x, %v; want %#x", tt.sched, tt.text, uint32(got), err, uint32(tt.want))
		}
	}
}

func TestFlagError(t *testing.T) {
	_, err := ParseFlags("rr", "sh-port")
	var fe *FlagError
	if !errors.As(err, &fe) || fe.Flag != "sh-port" || fe.Kind != IncompatibleFlag {
		t.Errorf("got %#v", err)
	}
	_, err = ParseFlags("rr", "nope")
	if !errors.As(err, &fe) || fe.Flag != "nope" || fe.Kind != InvalidFlag {
		t.Errorf("got %#v", err)
	}
}

// TestFlagsRoundTrip checks that what is printed parses back to the same
// bits for every scheduler and flag combination with printable names.
func TestFlagsRoundTrip(t *testing.T) {
	for _, s := range append(All(), Scheduler{Name: "none"}) {
		for f := rules.ServiceFlags(0); f <= rules.FlagsSched; f += rules.FlagSched1 {
			text := string(AppendFlags(nil, s.Name, f))
			got, err := ParseFlags(s.Name, text)
			want := f
			if s.Name == "sh" || s.Name == "mh" {
				want &^= rules.FlagSched3 // has no name there
			}
			if err != nil || got != want {
				t.Errorf("%s %#x: %q parses to %#x, %v", s.Name, uint32(f), text, uint32(got), err)
			}
		}
	}
}

func TestAppendFlags(t *testing.T) {
	tests := []struct {
		sched string
		f     rules.ServiceFlags
		want  string
	}{
		{"wlc", 0, ""},
		{"wlc", rules.FlagSched1 | rules.FlagSched2 | rules.FlagSched3 | rules.FlagPersistent, "flag-1,flag-2,flag-3"},
		{"rr", rules.FlagSched2, "flag-2"},
		{"sh", rules.FlagSched1 | rules.FlagSched2, "sh-fallback,sh-port"},
		{"sh", rules.FlagSched3, ""},
		{"sh", rules.FlagSched2 | rules.FlagSched3, "sh-port"},
		{"mh", rules.FlagSched1, "mh-fallback"},
		{"mh", rules.FlagSched1 | rules.FlagSched2 | rules.FlagSched3, "mh-fallback,mh-port"},
		{"shx", rules.FlagSched1, "flag-1"},
		{"mh", rules.FlagSched2 | rules.FlagPersistent | rules.FlagOnePacket, "mh-port"},
	}
	for _, tt := range tests {
		if got := string(AppendFlags(nil, tt.sched, tt.f)); got != tt.want {
			t.Errorf("AppendFlags(%q, %#x) = %q, want %q", tt.sched, uint32(tt.f), got, tt.want)
		}
	}
}
