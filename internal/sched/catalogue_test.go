package sched

import (
	"strings"
	"testing"
)

// TestCatalogueOrder checks the catalogue against ipvsadm's help text.
func TestCatalogueOrder(t *testing.T) {
	var names []string
	seen := map[string]bool{}
	for _, s := range All() {
		if seen[s.Name] {
			t.Errorf("duplicate %q", s.Name)
		}
		seen[s.Name] = true
		if s.Description == "" || strings.Contains(s.Description, "\n") {
			t.Errorf("%s: description %q is not one line", s.Name, s.Description)
		}
		names = append(names, s.Name)
	}
	if got, want := strings.Join(names, "|"), "rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh"; got != want {
		t.Errorf("order %s, want %s", got, want)
	}
	if _, ok := Lookup(Default); !ok {
		t.Errorf("Default %q is not in the catalogue", Default)
	}
	if _, ok := Lookup("none"); ok {
		t.Error(`"none" is a kernel pseudo-scheduler, not in ipvsadm's list`)
	}
	All()[0].Name = "changed"
	if All()[0].Name != "rr" {
		t.Error("All returns the catalogue itself")
	}
}
