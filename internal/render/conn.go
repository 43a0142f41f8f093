package render

// The connection listing, ipvsadm -L -c. ipvsadm reads it from the proc
// file rather than netlink, with fgets and sscanf; both are emulated here
// closely enough that odd input (long lines, blank lines, short lines)
// prints what ipvsadm prints.

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/ipvsadm-go/ipvsadm/internal/names"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// ConnectionsPath is the file ipvsadm -L -c reads. The caller opens it and
// prints "cannot open file /proc/net/ip_vs_conn" (exit 1) if that fails.
const ConnectionsPath = "/proc/net/ip_vs_conn"

// connLineMax is what one fgets into ipvsadm's 256-byte buffer returns at
// most; the rest of a longer line comes back as a line of its own.
const connLineMax = 255

// WriteConns renders the connection list from the contents of
// /proc/net/ip_vs_conn to w and returns the exit status:
//   - an input without even a header line: "unexpected input from
//     /proc/net/ip_vs_conn" on stderr, nothing on w, 1;
//   - a blank or whitespace-only line: 1 at once and silently, after
//     whatever was written before it (ipvsadm exits on the spot);
//   - otherwise 0.
//
// A read error ends the listing like the end of the file (ipvsadm would
// spin on it forever).
func WriteConns(w, stderr io.Writer, proc io.Reader, o ListOptions, r names.Resolver) int {
	br := bufio.NewReader(proc)
	if _, ok := connFgets(br); !ok {
		fmt.Fprintf(stderr, "unexpected input from %s\n", ConnectionsPath)
		return 1
	}
	io.WriteString(w, "IPVS connection entries\n")
	if o.PersistentConn {
		fmt.Fprintf(w, "pro expire %-11s %-18s %-18s %-18s %-16s %s\n",
			"state", "source", "virtual", "destination", "pe name", "pe_data")
	} else {
		fmt.Fprintf(w, "pro expire %-11s %-18s %-18s %s\n",
			"state", "source", "virtual", "destination")
	}
	var prev connFields
	for {
		line, ok := connFgets(br)
		if !ok {
			return 0
		}
		f, ok := scanConnFields(line, prev)
		if !ok {
			return 1
		}
		prev = f
		if o.Conn.Active() {
			_, vaddr, daddr := connAddrs(&f)
			if !o.Conn.Match(vaddr, f.vport(), daddr, f.dport(), f.state()) {
				continue
			}
		}
		io.WriteString(w, connLine(f, o, r))
	}
}

// connFgets returns the next line including its newline, at most connLineMax
// bytes of it. ok is false when nothing could be read.
func connFgets(br *bufio.Reader) (line string, ok bool) {
	var sb strings.Builder
	for sb.Len() < connLineMax {
		c, err := br.ReadByte()
		if err != nil {
			break
		}
		sb.WriteByte(c)
		if c == '\n' {
			break
		}
	}
	return sb.String(), sb.Len() > 0
}

// connFields are the values of one proc line, as
// sscanf("%s %s %hX %s %hX %s %hX %s %d %s %s") assigns them.
type connFields struct {
	words [7]string // protocol, caddr, vaddr, daddr, state, pe name, pe data
	nums  [4]uint64 // cport, vport, dport, expires as converted
	n     int       // conversions done, as sscanf returns
}

// Accessors by name; the arrays follow the order of the conversions.
func (f *connFields) protocol() string { return f.words[0] }
func (f *connFields) caddr() string    { return f.words[1] }
func (f *connFields) vaddr() string    { return f.words[2] }
func (f *connFields) daddr() string    { return f.words[3] }
func (f *connFields) state() string    { return f.words[4] }
func (f *connFields) peName() string   { return f.words[5] }
func (f *connFields) peData() string   { return f.words[6] }

// %hX keeps the low 16 bits; %d stores strtol's long into an int.
func (f *connFields) cport() uint16  { return uint16(f.nums[0]) }
func (f *connFields) vport() uint16  { return uint16(f.nums[1]) }
func (f *connFields) dport() uint16  { return uint16(f.nums[2]) }
func (f *connFields) expires() int32 { return int32(f.nums[3]) }

// scanConnFields parses a line the way glibc's sscanf does with ipvsadm's
// format. ok is false where sscanf returns EOF: the line has no
// non-whitespace at all. Conversion stops at the first field that does not
// fit.
//
// ipvsadm leaves the fields after that uninitialised. What the Debian
// binary then shows was observed in the project VM: on the first line,
// stack garbage (here: empty and zero); on later lines the previous line's
// text fields, destination port and expiry, but 0 for the client and
// virtual ports. prev carries the previous line's fields to reproduce that.
func scanConnFields(line string, prev connFields) (f connFields, ok bool) {
	if i := strings.IndexByte(line, 0); i >= 0 {
		line = line[:i] // sscanf sees a C string
	}
	f = prev
	f.nums[0], f.nums[1], f.n = 0, 0, 0
	// The conversions in order: 's' is %s, 'x' is %hX, 'd' is %d.
	const verbs = "ssxsxsxsdss"
	sc := connScanner{s: line}
	words, nums := 0, 0
	for _, verb := range verbs {
		var st connScanStatus
		switch verb {
		case 's':
			var v string
			if v, st = sc.word(); st == connScanOK {
				f.words[words] = v
			}
			words++
		default:
			base := 16
			if verb == 'd' {
				base = 10
			}
			var v uint64
			if v, st = sc.number(base); st == connScanOK {
				f.nums[nums] = v
			}
			nums++
		}
		if st != connScanOK {
			if st == connScanEOF && f.n == 0 {
				return f, false
			}
			break
		}
		f.n++
	}
	return f, true
}

// connLine renders the fields of one proc line.
func connLine(f connFields, o ListOptions, r names.Resolver) string {
	var proto rules.Protocol
	switch f.protocol() {
	case "TCP":
		proto = rules.TCP
	case "UDP":
		proto = rules.UDP
	case "SCTP":
		proto = rules.SCTP
	}

	caddr, vaddr, daddr := connAddrs(&f)

	// ipvsadm keeps expires unsigned for the division.
	exp := uint32(f.expires())
	expire := fmt.Sprintf("%02d:%02d", exp/60, exp%60)
	src := AddrPortText(caddr, f.cport(), proto, o.Numeric, r)
	virt := AddrPortText(vaddr, f.vport(), proto, o.Numeric, r)
	dst := AddrPortText(daddr, f.dport(), proto, o.Numeric, r)
	if o.PersistentConn && f.n == 11 {
		return fmt.Sprintf("%-3s %-6s %-11s %-18s %-18s %-16s %-18s %s\n",
			f.protocol(), expire, f.state(), src, virt, dst, f.peName(), f.peData())
	}
	return fmt.Sprintf("%-3s %-6s %-11s %-18s %-18s %s\n",
		f.protocol(), expire, f.state(), src, virt, dst)
}

// connAddrs reads the client, virtual and real server addresses of a
// proc line as ipvsadm does.
func connAddrs(f *connFields) (caddr, vaddr, daddr netip.Addr) {
	// The client address decides how the virtual one is read; the
	// destination is classified on its own (it may be IPv6 behind an IPv4
	// service).
	if a, ok := connPton6(f.caddr()); ok {
		caddr = a
		if vaddr, ok = connPton6(f.vaddr()); !ok {
			vaddr = netip.IPv6Unspecified()
		}
	} else if a, ok := connPton4(f.caddr()); ok {
		caddr = a
		if vaddr, ok = connPton4(f.vaddr()); !ok {
			vaddr = netip.IPv4Unspecified()
		}
	} else {
		caddr, vaddr = hexAddr4(f.caddr()), hexAddr4(f.vaddr())
	}
	daddr, ok := connPton6(f.daddr())
	if !ok {
		if daddr, ok = connPton4(f.daddr()); !ok {
			daddr = hexAddr4(f.daddr())
		}
	}

	return caddr, vaddr, daddr
}

// connPton4 is inet_pton(AF_INET): strict dotted quad, no leading zeros.
func connPton4(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}

// connPton6 is inet_pton(AF_INET6): IPv6 text (with an optional trailing
// dotted quad), no zone.
func connPton6(s string) (netip.Addr, bool) {
	if strings.ContainsRune(s, '%') {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		return netip.Addr{}, false
	}
	return a, true
}

// hexAddr4 reads the kernel's "%08X" IPv4 form with strtoul(s, NULL, 16):
// the value in host order, truncated to 32 bits, 0 if nothing parses.
func hexAddr4(s string) netip.Addr {
	v, _ := connStrtoul(s, 16)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// A connScanStatus is the outcome of one sscanf conversion.
type connScanStatus int

const (
	connScanOK       connScanStatus = iota
	connScanEOF                     // input ended before the conversion (input failure)
	connScanMismatch                // the text does not fit the conversion
)

// connScanner walks a string with sscanf's conversion rules.
type connScanner struct {
	s string
	i int
}

// connIsSpace is C's isspace in the C locale.
func connIsSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func (c *connScanner) skipSpace() {
	for c.i < len(c.s) && connIsSpace(c.s[c.i]) {
		c.i++
	}
}

// word is %s: skip white space, then take the run of non-space bytes.
func (c *connScanner) word() (string, connScanStatus) {
	c.skipSpace()
	if c.i == len(c.s) {
		return "", connScanEOF
	}
	start := c.i
	for c.i < len(c.s) && !connIsSpace(c.s[c.i]) {
		c.i++
	}
	return c.s[start:c.i], connScanOK
}

// number is %X (base 16) or %d (base 10): what strtoul/strtol would read
// after skipping white space, saturating on overflow; a minus sign negates
// modulo 2^64 as strtoul does.
func (c *connScanner) number(base int) (uint64, connScanStatus) {
	c.skipSpace()
	if c.i == len(c.s) {
		return 0, connScanEOF
	}
	v, n := connStrtoul(c.s[c.i:], base)
	if n == 0 {
		return 0, connScanMismatch
	}
	c.i += n
	return v, connScanOK
}

// connStrtoul parses an optionally signed number in base 10 or 16 (with an
// optional 0x prefix) at the start of s, after optional white space. It
// returns the value and the bytes consumed (0 if there is no number).
// Overflow saturates; a leading minus negates modulo 2^64. For base 10 the
// value is what strtol would return, as the same bit pattern.
func connStrtoul(s string, base int) (uint64, int) {
	i := 0
	for i < len(s) && connIsSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if base == 16 && i+2 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && connDigit(s[i+2]) < 16 {
		i += 2
	}
	start := i
	var v uint64
	overflow := false
	for i < len(s) {
		d := connDigit(s[i])
		if d >= base {
			break
		}
		if v > (^uint64(0)-uint64(d))/uint64(base) {
			overflow = true
		}
		v = v*uint64(base) + uint64(d)
		i++
	}
	if i == start {
		return 0, 0
	}
	if base == 10 {
		// strtol: saturate to the long range.
		switch {
		case overflow || (!neg && v > 1<<63-1):
			if neg {
				return 1 << 63, i
			}
			return 1<<63 - 1, i
		case neg && v > 1<<63:
			return 1 << 63, i
		case neg:
			return -v, i
		}
		return v, i
	}
	if overflow {
		return ^uint64(0), i
	}
	if neg {
		v = -v
	}
	return v, i
}

// connDigit is the value of a hex digit, or 99 for anything else.
func connDigit(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return 99
}
