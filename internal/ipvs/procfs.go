package ipvs

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// Reading a whole table through netlink takes one dump request per
// service: the IPVS family has no request for every real server at once,
// and the kernel's work per request dominates a listing. /proc/net/ip_vs,
// however, lists every service's real servers in one sequential read,
// with what a plain listing or a save needs of most of them: address,
// port, forwarding method, weight and connection counts. Table uses it
// where it can and falls back to netlink for the rest.

// Paths of the calling thread's network namespace and its IPVS table.
// (/proc/net follows the thread-group leader, which need not share the
// namespace of the thread or of the client's socket.)
const (
	threadNetNSPath = "/proc/thread-self/ns/net"
	threadIPVSPath  = "/proc/thread-self/net/ip_vs"
)

// An nsID identifies a network namespace: its nsfs device and inode.
type nsID struct{ dev, ino uint64 }

// socketNamespace asks the kernel which namespace the socket lives in
// (SIOCGSKNS, Linux 4.9 and later); the zero nsID if it cannot tell.
func socketNamespace(rc syscall.RawConn) nsID {
	var id nsID
	rc.Control(func(fd uintptr) {
		nsfd, err := unix.IoctlRetInt(int(fd), unix.SIOCGSKNS)
		if err != nil {
			return
		}
		defer unix.Close(nsfd)
		var st unix.Stat_t
		if unix.Fstat(nsfd, &st) == nil {
			id = nsID{dev: st.Dev, ino: st.Ino}
		}
	})
	return id
}

// openProcIPVS opens the IPVS table of namespace ns in /proc, or returns
// nil if the calling thread is not in that namespace. The file is tied to
// the namespace once open.
func openProcIPVS(ns nsID) *os.File {
	if ns == (nsID{}) {
		return nil
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var st unix.Stat_t
	if unix.Stat(threadNetNSPath, &st) != nil || (nsID{dev: st.Dev, ino: st.Ino}) != ns {
		return nil
	}
	f, err := os.Open(threadIPVSPath)
	if err != nil {
		return nil
	}
	return f
}

// procKey identifies a service in /proc/net/ip_vs, which does not show
// a fwmark service's family.
type procKey struct {
	fwmark uint32
	proto  rules.Protocol
	addr   netip.Addr
	port   uint16
}

var errProcFormat = errors.New("unexpected /proc/net/ip_vs format")

// parseProcIPVS reads the real servers of every service from the text of
// /proc/net/ip_vs, line by line. A key seen twice (fwmark services of
// both families) is reported as ambiguous, with no real servers.
func parseProcIPVS(r io.Reader) (map[procKey][]rules.Destination, map[procKey]bool, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	n := 0
	table := make(map[procKey][]rules.Destination)
	ambiguous := make(map[procKey]bool)
	var cur procKey
	have := false
	for sc.Scan() {
		line := sc.Bytes()
		n++
		switch {
		case n == 1:
			if !bytes.HasPrefix(line, []byte("IP Virtual Server version ")) {
				return nil, nil, errProcFormat
			}
			continue
		case n <= 3 || len(line) == 0:
			continue
		}
		f := strings.Fields(string(line))
		if len(f) > 0 && f[0] == "->" {
			if !have || len(f) != 6 {
				return nil, nil, errProcFormat
			}
			d, err := parseProcDest(f[1:6])
			if err != nil {
				return nil, nil, err
			}
			if !ambiguous[cur] {
				table[cur] = append(table[cur], d)
			}
			continue
		}
		if len(f) < 3 {
			return nil, nil, errProcFormat
		}
		k, err := parseProcService(f[0], f[1])
		if err != nil {
			return nil, nil, err
		}
		cur, have = k, true
		if _, dup := table[k]; dup {
			ambiguous[k] = true
			delete(table, k)
			continue
		}
		if !ambiguous[k] {
			table[k] = nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	if n == 0 {
		return nil, nil, errProcFormat
	}
	return table, ambiguous, nil
}

func parseProcService(proto, addr string) (procKey, error) {
	if proto == "FWM" {
		v, err := strconv.ParseUint(addr, 16, 32)
		if err != nil {
			return procKey{}, errProcFormat
		}
		return procKey{fwmark: uint32(v)}, nil
	}
	var k procKey
	switch proto {
	case "TCP":
		k.proto = rules.TCP
	case "UDP":
		k.proto = rules.UDP
	case "SCTP":
		k.proto = rules.SCTP
	default:
		return procKey{}, errProcFormat
	}
	a, port, err := parseProcAddrPort(addr)
	if err != nil {
		return procKey{}, err
	}
	k.addr, k.port = a, port
	return k, nil
}

// parseProcAddrPort parses "0A000001:0050" or "[2001:0db8:...:0001]:0050".
func parseProcAddrPort(s string) (netip.Addr, uint16, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return netip.Addr{}, 0, errProcFormat
	}
	port, err := strconv.ParseUint(s[i+1:], 16, 16)
	if err != nil {
		return netip.Addr{}, 0, errProcFormat
	}
	host := s[:i]
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		a, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !a.Is6() {
			return netip.Addr{}, 0, errProcFormat
		}
		return a, uint16(port), nil
	}
	var v4 [4]byte
	if len(host) != 8 {
		return netip.Addr{}, 0, errProcFormat
	}
	if _, err := hex.Decode(v4[:], []byte(host)); err != nil {
		return netip.Addr{}, 0, errProcFormat
	}
	return netip.AddrFrom4(v4), uint16(port), nil
}

func parseProcDest(f []string) (rules.Destination, error) {
	a, port, err := parseProcAddrPort(f[0])
	if err != nil {
		return rules.Destination{}, err
	}
	d := rules.Destination{Family: rules.FamilyOf(a), Addr: a, Port: port}
	switch f[1] {
	case "Masq":
		d.Forward = rules.Masquerade
	case "Local":
		d.Forward = rules.Local
	case "Tunnel":
		d.Forward = rules.Tunnel
	case "Route":
		d.Forward = rules.Route
	default:
		return rules.Destination{}, errProcFormat
	}
	w, err1 := strconv.ParseInt(f[2], 10, 32)
	act, err2 := strconv.ParseUint(f[3], 10, 32)
	inact, err3 := strconv.ParseUint(f[4], 10, 32)
	if err1 != nil || err2 != nil || err3 != nil {
		return rules.Destination{}, errProcFormat
	}
	d.Weight, d.ActiveConns, d.InactiveConns = int32(w), uint32(act), uint32(inact)
	return d, nil
}

// Table returns every service with its real servers, services in the
// kernel's order and real servers newest first.
//
// With brief set, real servers may be read from /proc/net/ip_vs in one
// pass: they then carry address, family, port, forwarding method, weight
// and active and inactive connection counts, and zero thresholds,
// persistent-connection count and statistics. Services with a tunnel real
// server, services /proc does not show unambiguously, and calls from a
// thread in another network namespace than the client's socket get full
// netlink dumps, so tunnel settings are always complete. Without brief,
// every real server is complete.
func (c *Client) Table(brief bool) ([]rules.ServiceEntry, error) {
	svcs, err := c.Services()
	if err != nil {
		return nil, err
	}
	var (
		proc      map[procKey][]rules.Destination
		ambiguous map[procKey]bool
	)
	if brief && len(svcs) > 0 {
		if f := openProcIPVS(c.ns); f != nil {
			// Large reads: the kernel restarts its walk of the table
			// at every read.
			proc, ambiguous, _ = parseProcIPVS(bufio.NewReaderSize(f, 1<<20))
			f.Close()
		}
	}
	entries := make([]rules.ServiceEntry, len(svcs))
	for i, s := range svcs {
		entries[i].Service = s
		k := procKey{fwmark: s.FWMark, proto: s.Protocol, addr: s.Addr, port: s.Port}
		if s.IsFWMark() {
			k = procKey{fwmark: s.FWMark}
		}
		dests, ok := proc[k]
		for _, d := range dests {
			ok = ok && d.Forward != rules.Tunnel
		}
		if ok && !ambiguous[k] {
			entries[i].Dests = dests
			continue
		}
		if entries[i].Dests, err = c.Destinations(s.ServiceKey); err != nil {
			return nil, err
		}
	}
	return entries, nil
}
