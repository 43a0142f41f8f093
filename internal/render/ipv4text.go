package render

import (
	"slices"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// Numeric IPv4 real servers are nearly every line of a large -Ln or -Sn,
// so their text (all of a -Ln line, the address of a -Sn one) is written
// into place here, instead of through the general address, padding and
// number formatters (their calls and branches for names, IPv6 and
// cutting were most of a listing's user time). The output is the same
// byte for byte; the tests compare both.

// ipv4DestLineMax is the longest numeric IPv4 real-server line of a plain
// listing: the arrow, the 28-column address, the method column, an
// 11-character weight and two 10-digit counts, each after a blank, and
// the newline.
const ipv4DestLineMax = 5 + 28 + 8 + 12 + 11 + 11 + 1

// appendIPv4DestLine appends the line appendBriefDestLine writes for the
// numeric IPv4 real server d. The line starts as blanks, so that padding
// a field is only a matter of where the next one starts.
func appendIPv4DestLine(b []byte, d *rules.BriefDestination) []byte {
	start := len(b)
	b = slices.Grow(b, ipv4DestLineMax)
	l := b[start : start+ipv4DestLineMax]
	copy(l, ipv4DestLineBlank)
	putIPv4Port(l, 5, (*[4]byte)(d.IP[:4]), d.Port)
	*(*[8]byte)(l[5+28:]) = forwardColumn8[d.Forward&7]
	i := putDecLeft(l, 5+28+8+1, int64(d.Weight), 6)
	i = putDecLeft(l, i+1, int64(d.ActiveConns), 10)
	i = putDecLeft(l, i+1, int64(d.InactiveConns), 10)
	l[i] = '\n'
	return b[:start+i+1]
}

// forwardColumn8 is forwardColumn as arrays, each eight bytes long, which
// are copied without a call.
var forwardColumn8 = func() (c [8][8]byte) {
	for m := range c {
		c[m] = [8]byte([]byte(forwardColumn[m]))
	}
	return c
}()

// ipv4DestLineBlank is the arrow, then blanks to the longest line's end.
var ipv4DestLineBlank = "  -> " + spaces + spaces[:ipv4DestLineMax-5-len(spaces)]

// appendIPv4Port appends "a.b.c.d:port", as AppendAddrPortText does for a
// numeric IPv4 address.
func appendIPv4Port(b []byte, ip *[4]byte, port uint16) []byte {
	const most = len("255.255.255.255:65535")
	start := len(b)
	b = slices.Grow(b, most)
	n := putIPv4Port(b[start:start+most], 0, ip, port)
	return b[:start+n]
}

// putIPv4Port writes "a.b.c.d:port" into l at i and returns where it ends.
func putIPv4Port(l []byte, i int, ip *[4]byte, port uint16) int {
	for _, octet := range ip {
		*(*[4]byte)(l[i:]) = octetText[octet]
		i += int(octetLen[octet])
		l[i] = '.'
		i++
	}
	l[i-1] = ':'
	return i + putDec(l[i:], uint64(port))
}

// octetText is each octet's decimal digits, then blanks; octetLen is
// their count.
var octetText, octetLen = func() (t [256][4]byte, n [256]uint8) {
	for v := range t {
		t[v] = [4]byte{' ', ' ', ' ', ' '}
		n[v] = uint8(putDec(t[v][:], uint64(v)))
	}
	return t, n
}()

// putDecLeft writes v in decimal into l at i, where l holds blanks, as
// %-*d does in width columns (0 for none), and returns where the field
// ends.
func putDecLeft(l []byte, i int, v int64, width int) int {
	from := i
	u := uint64(v)
	if v < 0 {
		l[i] = '-'
		i++
		u = uint64(-v)
	}
	i += putDec(l[i:], u)
	return max(i, from+width)
}

// putDec writes v in decimal at the start of l and returns its length.
func putDec(l []byte, v uint64) int {
	if v < 10 {
		l[0] = byte('0' + v)
		return 1
	}
	n := 2
	for x := v; x >= 100; x /= 10 {
		n++
	}
	i := n
	for v >= 100 {
		q := v / 100
		r := v - 100*q
		i -= 2
		l[i], l[i+1] = twoDigits[2*r], twoDigits[2*r+1]
		v = q
	}
	if v >= 10 {
		l[i-2], l[i-1] = twoDigits[2*v], twoDigits[2*v+1]
	} else {
		l[i-1] = byte('0' + v)
	}
	return n
}

// twoDigits is "00" to "99".
const twoDigits = "0001020304050607080910111213141516171819" +
	"2021222324252627282930313233343536373839" +
	"4041424344454647484950515253545556575859" +
	"6061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"
