package render

import "testing"

func TestAppendLargeNumTable(t *testing.T) {
	tests := []struct {
		v     uint64
		exact bool
		want  string
	}{
		{0, false, "        0"},
		{99999999, false, " 99999999"},
		{100000000, false, "  100000K"},
		{999999999, false, "  999999K"},
		{1000000000, false, "    1000M"},
		{99999999999, false, "   99999M"},
		{100000000000, false, "     100G"},
		{99999999999999, false, "   99999G"},
		{100000000000000, false, "     100T"},
		{123456789012345678, false, "  123456T"},
		// Wider than the field: ipvsadm lets the columns run together.
		{18446744073709551615, false, "18446744T"},
		{705032704, false, "  705032K"},

		{0, true, "        0"},
		{12345678, true, " 12345678"},
		{123456789, true, " 123456789"},
		{100000000000, true, " 100000000000"},
		{18446744073709551615, true, " 18446744073709551615"},
	}
	for _, tt := range tests {
		if got := string(AppendLargeNum(nil, tt.v, tt.exact)); got != tt.want {
			t.Errorf("AppendLargeNum(%d, %v) = %q, want %q", tt.v, tt.exact, got, tt.want)
		}
	}
}

// TestAppendLargeNumOverflow is the verified dest line of §4.6, where the
// last two columns run together.
func TestAppendLargeNumOverflow(t *testing.T) {
	got := string(AppendLargeNum(AppendLargeNum(nil, 100000000000, false), 18446744073709551615, false))
	if want := "     100G18446744T"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
