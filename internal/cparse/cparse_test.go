package cparse

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

func TestStrtol(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"42", 42, true},
		{" \t\n\v\f\r7", 7, true}, // leading C whitespace is skipped
		{"+5", 5, true},
		{"-5", -5, true},
		{"9223372036854775807", 1<<63 - 1, true},
		{"-9223372036854775808", -1 << 63, true},
		{"9223372036854775808", 0, false}, // overflow
		{"-9223372036854775809", 0, false},
		{"99999999999999999999999", 0, false},
		{"18446744073709551621", 0, false}, // 2^64+5: must not wrap to 5
		{"", 0, false},
		{" ", 0, false},
		{"-", 0, false},
		{"- 5", 0, false},
		{"5 ", 0, false}, // trailing text is not consumed
		{"0x10", 0, false},
		{"1_000", 0, false},
	}
	for _, tt := range tests {
		got, ok := Strtol(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Strtol(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestStringToNumber(t *testing.T) {
	for _, tt := range []struct {
		in       string
		min, max int64
		want     int64
		ok       bool
	}{
		{"1", 1, 65535, 1, true},
		{"65535", 1, 65535, 65535, true},
		{"65536", 1, 65535, 0, false},
		{"0", 1, 65535, 0, false},
		{"x", 0, 10, 0, false},
	} {
		got, ok := StringToNumber(tt.in, tt.min, tt.max)
		if got != tt.want || ok != tt.ok {
			t.Errorf("StringToNumber(%q, %d, %d) = %d, %v; want %d, %v", tt.in, tt.min, tt.max, got, ok, tt.want, tt.ok)
		}
	}
}

func TestAtoi(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
	}{
		{"", 0},
		{"abc", 0},
		{"12abc", 12},
		{"  -3", -3},
		{"+8", 8},
		{"2147483647", 2147483647},
		{"2147483648", -2147483648},  // (int) of a long wraps
		{"4294967297", 1},            // likewise
		{"99999999999999999999", -1}, // strtol saturates to LONG_MAX, (int) gives -1
		{"-99999999999999999999", 0}, // LONG_MIN cut to int is 0
		{"-9223372036854775808", 0},  // exactly LONG_MIN
		{"9223372036854775807", -1},  // exactly LONG_MAX
		{"18446744073709551615", -1}, // beyond 2^64 saturates too
		{"0000000000000000000000012", 12},
	} {
		if got := Atoi(tt.in); got != tt.want {
			t.Errorf("Atoi(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestInetAton(t *testing.T) {
	for _, tt := range []struct {
		in, want string // want "" for refused
	}{
		{"1.2.3.4", "1.2.3.4"},
		{"1", "0.0.0.1"},
		{"1.2", "1.0.0.2"},
		{"1.2.3", "1.2.0.3"},
		{"1.256", "1.0.1.0"},
		{"1.2.65535", "1.2.255.255"},
		{"4294967295", "255.255.255.255"},
		{"0x7f.1", "127.0.0.1"},
		{"0X7F.0.0.1", "127.0.0.1"},
		{"010.0.0.1", "8.0.0.1"},
		{"1.2.3.4 trailing words", "1.2.3.4"},
		{"1.2.3.4\tx", "1.2.3.4"},
		{"", ""},
		{"4294967296", ""},
		{"256.1.1.1", ""},
		{"1.2.3.4.5", ""},
		{"1.2.3.4x", ""},
		{"08.1.1.1", ""}, // 8 is no octal digit
		{"0x", ""},
		{"1..2", ""},
		{".1", ""},
		{"-1", ""},
	} {
		a, ok := InetAton(tt.in)
		got := ""
		if ok {
			got = a.String()
		}
		if got != tt.want {
			t.Errorf("InetAton(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestInetPton(t *testing.T) {
	for _, tt := range []struct {
		in     string
		v4, v6 string // "" for refused
	}{
		{"1.2.3.4", "1.2.3.4", ""},
		{"255.255.255.255", "255.255.255.255", ""},
		{"01.2.3.4", "", ""},
		{"1.2.3", "", ""},
		{"1.2.3.256", "", ""},
		{"1.2.3.4 ", "", ""},
		{"1.2.3.a", "", ""},
		{"::1", "", "::1"},
		{"2001:db8::10", "", "2001:db8::10"},
		{"::ffff:1.2.3.4", "", "::ffff:1.2.3.4"},
		{"fe80::1%eth0", "", ""},
		{"1.2.3.4:80", "", ""},
		{"[::1]", "", ""},
	} {
		got4, got6 := "", ""
		if a, ok := InetPton4(tt.in); ok {
			got4 = a.String()
		}
		if a, ok := InetPton6(tt.in); ok {
			got6 = a.String()
		}
		if got4 != tt.v4 || got6 != tt.v6 {
			t.Errorf("InetPton(%q) = %q, %q; want %q, %q", tt.in, got4, got6, tt.v4, tt.v6)
		}
	}
}

// FuzzStrtol checks Strtol against strconv after C whitespace is skipped,
// and that InetPton4 accepts only what netip parses as a plain IPv4 text.
func FuzzStrtol(f *testing.F) {
	for _, s := range []string{"0", "-1", " +12", "9223372036854775808", "1.2.3.4", "01.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := Strtol(s)
		want, err := strconv.ParseInt(strings.TrimLeft(s, " \t\n\v\f\r"), 10, 64)
		if ok != (err == nil) || ok && got != want {
			t.Errorf("Strtol(%q) = %d, %v; strconv says %d, %v", s, got, ok, want, err)
		}
		a, ok := InetPton4(s)
		n, err := netip.ParseAddr(s)
		if ok != (err == nil && n.Is4()) || ok && a != n {
			t.Errorf("InetPton4(%q) = %v, %v; netip says %v, %v", s, a, ok, n, err)
		}
		_ = Atoi(s)
		_, _ = InetAton(s)
	})
}
