package cparse

import (
	"net/netip"
	"strings"
)

// Parsers that reproduce the C library functions ipvsadm relies on, so that
// exactly the same text is accepted: strtol, atoi, inet_aton, inet_pton.

// isCSpace reports whether c is whitespace for the C locale's isspace.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// Strtol parses s as Strtol(s, &end, 10) does and reports whether the
// whole string was consumed without overflow of a 64-bit long.
func Strtol(s string) (int64, bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var v uint64
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		// Checked before multiplying: v*10 must not wrap around (it did
		// once, and "18446744073709551621" became 5).
		if v > 1<<63/10 {
			return 0, false
		}
		v = v*10 + uint64(s[i]-'0')
		if v > 1<<63 {
			return 0, false
		}
	}
	if i == start || i != len(s) {
		return 0, false
	}
	if neg {
		return -int64(v), true
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}

// StringToNumber is ipvsadm's string_to_number: strtol base 10 over the
// whole string, within [min, max].
func StringToNumber(s string, min, max int64) (int64, bool) {
	v, ok := Strtol(s)
	if !ok || v < min || v > max {
		return 0, false
	}
	return v, true
}

// Atoi is C atoi, that is (int)Strtol(s, NULL, 10): leading space, a
// sign, digits up to the first other character (nothing parsable is 0),
// saturated to a 64-bit long on overflow, then cut to a 32-bit int.
func Atoi(s string) int64 {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var v uint64
	over := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if v > (1<<64-1-9)/10 {
			over = true
			continue
		}
		v = v*10 + uint64(s[i]-'0')
	}
	var l int64
	switch {
	case neg && (over || v > 1<<63):
		l = -1 << 63
	case neg:
		l = -int64(v)
	case over || v > 1<<63-1:
		l = 1<<63 - 1
	default:
		l = int64(v)
	}
	return int64(int32(l))
}

// InetAton parses an IPv4 address the way glibc's inet_aton does: one to
// four parts in decimal, octal (leading 0) or hex (0x), the last part
// filling the remaining bytes, and anything after the address accepted if
// it starts with whitespace.
func InetAton(s string) (netip.Addr, bool) {
	var parts [4]uint64
	n := 0
	i := 0
	for {
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return netip.Addr{}, false
		}
		base := uint64(10)
		if s[i] == '0' {
			base = 8
			i++
			// "0x" counts as hex only when a hex digit follows, as
			// with strtoul; otherwise the 'x' ends the number.
			if i+1 < len(s) && (s[i] == 'x' || s[i] == 'X') && isHexDigit(s[i+1]) {
				base = 16
				i++
			}
		}
		var v uint64
		for i < len(s) {
			c := s[i]
			var d uint64
			switch {
			case c >= '0' && c <= '9':
				d = uint64(c - '0')
				if base == 8 && d > 7 {
					// glibc's strtoul stops at an 8 or 9 in octal.
					goto endPart
				}
			case base == 16 && c >= 'a' && c <= 'f':
				d = uint64(c-'a') + 10
			case base == 16 && c >= 'A' && c <= 'F':
				d = uint64(c-'A') + 10
			default:
				goto endPart
			}
			v = v*base + d
			if v > 0xffffffff {
				return netip.Addr{}, false
			}
			i++
		}
	endPart:
		if n == 4 {
			return netip.Addr{}, false
		}
		parts[n] = v
		n++
		if i < len(s) && s[i] == '.' {
			i++
			continue
		}
		break
	}
	if i < len(s) && !isCSpace(s[i]) {
		return netip.Addr{}, false
	}
	var v uint64
	switch n {
	case 1:
		v = parts[0]
	case 2:
		if parts[0] > 0xff || parts[1] > 0xffffff {
			return netip.Addr{}, false
		}
		v = parts[0]<<24 | parts[1]
	case 3:
		if parts[0] > 0xff || parts[1] > 0xff || parts[2] > 0xffff {
			return netip.Addr{}, false
		}
		v = parts[0]<<24 | parts[1]<<16 | parts[2]
	case 4:
		for _, p := range parts {
			if p > 0xff {
				return netip.Addr{}, false
			}
		}
		v = parts[0]<<24 | parts[1]<<16 | parts[2]<<8 | parts[3]
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// InetPton4 is inet_pton(AF_INET): exactly four decimal parts 0..255,
// with no leading zeros.
func InetPton4(s string) (netip.Addr, bool) {
	var b [4]byte
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return netip.Addr{}, false
	}
	for i, p := range parts {
		if p == "" || len(p) > 3 || (len(p) > 1 && p[0] == '0') {
			return netip.Addr{}, false
		}
		v := 0
		for _, c := range []byte(p) {
			if c < '0' || c > '9' {
				return netip.Addr{}, false
			}
			v = v*10 + int(c-'0')
		}
		if v > 255 {
			return netip.Addr{}, false
		}
		b[i] = byte(v)
	}
	return netip.AddrFrom4(b), true
}

// InetPton6 is inet_pton(AF_INET6): an IPv6 address without a zone.
func InetPton6(s string) (netip.Addr, bool) {
	// Every IPv6 text has at least two colons; testing that first keeps
	// the common host:port text from building a parse error.
	if strings.Count(s, ":") < 2 || strings.Contains(s, "%") {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		return netip.Addr{}, false
	}
	return a, true
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
