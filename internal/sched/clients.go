package sched

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
)

// This file holds the client sets of a prediction (--predict) and their
// text form.

// A ClientSet is a set of clients: the addresses of a prefix (a single
// address is a /32 or /128) times a range of source ports. Without a port
// the clients' port is unknown and taken as 0.
type ClientSet struct {
	Prefix              netip.Prefix // masked
	FirstPort, LastPort uint16
	HasPort             bool
}

// Count returns how many clients s holds, up to 2^64-1.
func (s ClientSet) Count() uint64 {
	bitsLeft := s.Prefix.Addr().BitLen() - s.Prefix.Bits()
	n := new(big.Int).Lsh(big.NewInt(1), uint(bitsLeft))
	n.Mul(n, big.NewInt(int64(s.LastPort)-int64(s.FirstPort)+1))
	if !n.IsUint64() {
		return ^uint64(0)
	}
	return n.Uint64()
}

// Each calls fn for every client of s in order (address, then port) until
// fn returns false.
func (s ClientSet) Each(fn func(netip.AddrPort) bool) {
	for a := s.Prefix.Addr(); a.IsValid() && s.Prefix.Contains(a); a = a.Next() {
		for p := uint32(s.FirstPort); p <= uint32(s.LastPort); p++ {
			if !fn(netip.AddrPortFrom(a, uint16(p))) {
				return
			}
		}
	}
}

// String renders s in the form ParseClientSet reads.
func (s ClientSet) String() string {
	var host string
	if s.Prefix.IsSingleIP() {
		host = s.Prefix.Addr().String()
	} else {
		host = s.Prefix.String()
	}
	if !s.HasPort {
		return host
	}
	if s.Prefix.Addr().Is6() {
		host = "[" + host + "]"
	}
	if s.FirstPort == s.LastPort {
		return fmt.Sprintf("%s:%d", host, s.FirstPort)
	}
	return fmt.Sprintf("%s:%d-%d", host, s.FirstPort, s.LastPort)
}

// ParseClientSet reads one client set: an address or a prefix, numeric,
// optionally followed by a source port or a port range, the IPv6 forms in
// brackets then:
//
//	10.0.0.7  10.0.0.7:5555  10.0.0.0/24  10.0.0.0/24:1024-1100
//	2001:db8::7  [2001:db8::7]:5555  2001:db8::/120  [2001:db8::/120]:80
func ParseClientSet(s string) (ClientSet, error) {
	bad := func(why string) (ClientSet, error) {
		return ClientSet{}, fmt.Errorf("%q is not a client (%s): give ADDR, ADDR:PORT, PREFIX or PREFIX:PORT[-PORT], IPv6 in brackets with a port", s, why)
	}
	host, ports, hasPort := s, "", false
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.Index(s, "]")
		if end < 0 || end+1 >= len(s) || s[end+1] != ':' {
			return bad("brackets go with a port")
		}
		host, ports, hasPort = s[1:end], s[end+2:], true
	case strings.Count(s, ":") == 1:
		host, ports, hasPort = strings.Cut(s, ":")
	}
	var cs ClientSet
	if strings.Contains(host, "/") {
		p, err := netip.ParsePrefix(host)
		if err != nil {
			return bad("not a numeric prefix")
		}
		cs.Prefix = p.Masked()
	} else {
		a, err := netip.ParseAddr(host)
		if err != nil || a.Zone() != "" {
			return bad("not a numeric address")
		}
		cs.Prefix = netip.PrefixFrom(a, a.BitLen())
	}
	if a := cs.Prefix.Addr(); a.Is4In6() {
		cs.Prefix = netip.PrefixFrom(a.Unmap(), max(cs.Prefix.Bits()-96, 0)).Masked()
	}
	if strings.HasPrefix(s, "[") && cs.Prefix.Addr().Is4() {
		return bad("brackets are for IPv6")
	}
	if !hasPort {
		return cs, nil
	}
	first, last, isRange := strings.Cut(ports, "-")
	lo, err1 := strconv.ParseUint(first, 10, 16)
	hi, err2 := lo, error(nil)
	if isRange {
		hi, err2 = strconv.ParseUint(last, 10, 16)
	}
	if err1 != nil || err2 != nil || hi < lo {
		return bad("ports are 0 to 65535, a range LOW-HIGH")
	}
	cs.FirstPort, cs.LastPort, cs.HasPort = uint16(lo), uint16(hi), true
	return cs, nil
}

// ParseClientList reads client sets one per line; blank lines and text
// from "#" on are ignored. Errors name the line.
func ParseClientList(r io.Reader) ([]ClientSet, error) {
	var sets []ClientSet
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		cs, err := ParseClientSet(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		sets = append(sets, cs)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(sets) == 0 {
		return nil, errors.New("no clients")
	}
	return sets, nil
}
