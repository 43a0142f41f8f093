package names

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/ipvsadm-go/ipvsadm/internal/cparse"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// DefaultServicesPath is the services database glibc's "files" backend
// reads.
const DefaultServicesPath = "/etc/services"

// A SystemResolver resolves names the way ipvsadm does through glibc:
// ports from /etc/services, hosts from /etc/hosts read as glibc's "files"
// backend reads it and then, if nsswitch.conf says so, from DNS.
//
// Results are cached for the life of the resolver. ipvsadm does not cache,
// but a listing only takes a moment, so the difference is invisible except
// that a slow DNS server is asked once per address instead of once per line.
//
// The zero value is ready to use; the fields only exist to point tests at
// other data. A SystemResolver is safe for concurrent use.
type SystemResolver struct {
	// ServicesPath is the services database; empty means
	// DefaultServicesPath. A missing or unreadable file resolves nothing.
	ServicesPath string
	// LookupIP4 returns the IPv4 addresses of a host name, in resolver
	// order; nil means net.DefaultResolver.LookupNetIP with network "ip4".
	LookupIP4 func(ctx context.Context, host string) ([]netip.Addr, error)
	// LookupAddr returns the names of an address, canonical name first;
	// nil means net.DefaultResolver.LookupAddr.
	LookupAddr func(ctx context.Context, addr string) ([]string, error)
	// HostsPath and NSSwitchPath are the hosts file and the name-service
	// switch configuration; empty means the system's.
	HostsPath    string
	NSSwitchPath string

	hostsOnce    sync.Once
	hostLines    []hostLine
	nsswitchOnce sync.Once
	dns          bool

	servicesOnce sync.Once
	services     []serviceEntry

	mu    sync.Mutex
	hosts map[string]hostResult     // LookupHost4 cache
	names map[netip.Addr]nameResult // HostName cache
}

// serviceEntry is one line of the services database.
type serviceEntry struct {
	names []string // official name first, then aliases
	port  uint16
	proto string
}

type hostResult struct {
	addr netip.Addr
	ok   bool
}

type nameResult struct {
	name string
	ok   bool
}

var _ Resolver = (*SystemResolver)(nil)

// NewSystemResolver returns a SystemResolver using the system's services
// database and Go's default resolver.
func NewSystemResolver() *SystemResolver { return &SystemResolver{} }

// protoName is the services-database protocol of p, or "" if p has no
// service names.
func protoName(p rules.Protocol) string {
	switch p {
	case rules.TCP:
		return "tcp"
	case rules.UDP:
		return "udp"
	case rules.SCTP:
		return "sctp"
	}
	return ""
}

// LookupPort returns the port of a service name or alias for p, from the
// first matching entry of the services database (getservbyname).
func (r *SystemResolver) LookupPort(name string, p rules.Protocol) (uint16, bool) {
	proto := protoName(p)
	if proto == "" {
		return 0, false
	}
	for _, e := range r.loadServices() {
		if e.proto != proto {
			continue
		}
		for _, n := range e.names {
			if n == name {
				return e.port, true
			}
		}
	}
	return 0, false
}

// PortName returns the official name of the first services-database entry
// for port and p (getservbyport).
func (r *SystemResolver) PortName(port uint16, p rules.Protocol) (string, bool) {
	proto := protoName(p)
	if proto == "" {
		return "", false
	}
	for _, e := range r.loadServices() {
		if e.port == port && e.proto == proto {
			return e.names[0], true
		}
	}
	return "", false
}

// LookupHost4 returns the first IPv4 address of name (gethostbyname):
// from the hosts file as glibc's "files" backend reads it, then, when
// nsswitch.conf lists dns for hosts, from DNS. Names with only IPv6
// addresses do not resolve, and neither do IPv6 literals.
func (r *SystemResolver) LookupHost4(name string) (netip.Addr, bool) {
	res := cached(&r.mu, &r.hosts, name, r.lookupHost4)
	return res.addr, res.ok
}

func (r *SystemResolver) lookupHost4(name string) hostResult {
	if name == "" || strings.Contains(name, ":") {
		return hostResult{}
	}
	for _, h := range r.loadHosts() {
		if a, ok := h.as4(); ok && h.named(name) {
			return hostResult{addr: a, ok: true}
		}
	}
	// Go's resolver would also look in the hosts file, where it ignores a
	// trailing dot that glibc keeps: such a name is left to fail here.
	if !r.useDNS() || r.inHostsFile(strings.TrimSuffix(name, ".")) {
		return hostResult{}
	}
	lookup := r.LookupIP4
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
		}
	}
	if addrs, err := lookup(context.Background(), name); err == nil {
		for _, a := range addrs {
			if a = a.Unmap(); a.Is4() {
				return hostResult{addr: a, ok: true}
			}
		}
	}
	return hostResult{}
}

// HostName returns the canonical name of addr (gethostbyaddr's h_name):
// the first name of the first hosts-file line for it, else, when
// nsswitch.conf lists dns, the first name DNS gives, without its trailing
// dot.
func (r *SystemResolver) HostName(addr netip.Addr) (string, bool) {
	if !addr.IsValid() {
		return "", false
	}
	res := cached(&r.mu, &r.names, addr, r.hostName)
	return res.name, res.ok
}

func (r *SystemResolver) hostName(addr netip.Addr) nameResult {
	for _, h := range r.loadHosts() {
		var a netip.Addr
		var ok bool
		if addr.Is4() {
			a, ok = h.as4()
		} else {
			a, ok = h.addr, h.addr.Is6()
		}
		if ok && a == addr {
			return nameResult{name: h.names[0], ok: true}
		}
	}
	if !r.useDNS() {
		return nameResult{}
	}
	lookup := r.LookupAddr
	if lookup == nil {
		lookup = net.DefaultResolver.LookupAddr
	}
	if names, err := lookup(context.Background(), addr.String()); err == nil {
		for _, n := range names {
			if n = strings.TrimSuffix(n, "."); n != "" {
				return nameResult{name: n, ok: true}
			}
		}
	}
	return nameResult{}
}

// DefaultHostsPath and DefaultNSSwitchPath are the files glibc reads.
const (
	DefaultHostsPath    = "/etc/hosts"
	DefaultNSSwitchPath = "/etc/nsswitch.conf"
)

// A hostLine is one address line of the hosts file.
type hostLine struct {
	addr  netip.Addr
	names []string // canonical name first, then aliases
}

// as4 is the line's address as glibc's files backend sees it in an IPv4
// lookup: IPv4 as is, a v4-mapped address as its IPv4 part, ::1 as
// 127.0.0.1; any other IPv6 line does not take part.
func (h hostLine) as4() (netip.Addr, bool) {
	switch {
	case h.addr.Is4():
		return h.addr, true
	case h.addr.Is4In6():
		return h.addr.Unmap(), true
	case h.addr == netip.IPv6Loopback():
		return netip.AddrFrom4([4]byte{127, 0, 0, 1}), true
	}
	return netip.Addr{}, false
}

// named reports whether name is one of the line's names, ignoring case as
// glibc does.
func (h hostLine) named(name string) bool {
	for _, n := range h.names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

func (r *SystemResolver) inHostsFile(name string) bool {
	for _, h := range r.loadHosts() {
		if h.named(name) {
			return true
		}
	}
	return false
}

// loadHosts reads the hosts file once.
func (r *SystemResolver) loadHosts() []hostLine {
	r.hostsOnce.Do(func() {
		f, err := openOr(r.HostsPath, DefaultHostsPath)
		if err != nil {
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line, _, _ := strings.Cut(sc.Text(), "#")
			fields := strings.Fields(line)
			if len(fields) < 2 {
				continue
			}
			// inet_pton, not a general parser: no zones, no shorthand.
			a, ok := cparse.InetPton4(fields[0])
			if !ok {
				a, ok = cparse.InetPton6(fields[0])
			}
			if ok {
				r.hostLines = append(r.hostLines, hostLine{addr: a, names: fields[1:]})
			}
		}
	})
	return r.hostLines
}

// useDNS reports whether nsswitch.conf lists dns among the hosts sources
// (glibc's default, without the file, does).
func (r *SystemResolver) useDNS() bool {
	r.nsswitchOnce.Do(func() {
		r.dns = true
		f, err := openOr(r.NSSwitchPath, DefaultNSSwitchPath)
		if err != nil {
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line, _, _ := strings.Cut(sc.Text(), "#")
			key, sources, ok := strings.Cut(line, ":")
			if !ok || strings.TrimSpace(key) != "hosts" {
				continue
			}
			r.dns = false
			for _, src := range strings.Fields(sources) {
				if src == "dns" {
					r.dns = true
				}
			}
		}
	})
	return r.dns
}

// loadServices reads the services database once.
func (r *SystemResolver) loadServices() []serviceEntry {
	r.servicesOnce.Do(func() {
		f, err := openOr(r.ServicesPath, DefaultServicesPath)
		if err != nil {
			return
		}
		defer f.Close()
		r.services = parseServices(f)
	})
	return r.services
}

// parseServices parses a services database like glibc's files backend:
// "name port/proto [alias...]", with "#" starting a comment anywhere on the
// line. Lines that do not parse are skipped.
func parseServices(f *os.File) []serviceEntry {
	var entries []serviceEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		portText, proto, ok := strings.Cut(fields[1], "/")
		if !ok || proto == "" {
			continue
		}
		port, err := strconv.ParseUint(portText, 10, 16)
		if err != nil {
			continue
		}
		names := append([]string{fields[0]}, fields[2:]...)
		entries = append(entries, serviceEntry{names: names, port: uint16(port), proto: proto})
	}
	return entries
}

// openOr opens path, or def when path is empty.
func openOr(path, def string) (*os.File, error) {
	if path == "" {
		path = def
	}
	return os.Open(path)
}

// cached returns (*m)[k] under mu, computing it with lookup (outside the
// lock) and storing it when missing.
func cached[K comparable, V any](mu *sync.Mutex, m *map[K]V, k K, lookup func(K) V) V {
	mu.Lock()
	v, ok := (*m)[k]
	mu.Unlock()
	if ok {
		return v
	}
	v = lookup(k)
	mu.Lock()
	// A listing of a large connection table asks for many distinct
	// addresses; start over rather than grow without bound.
	if *m == nil || len(*m) >= cacheMax {
		*m = make(map[K]V)
	}
	(*m)[k] = v
	mu.Unlock()
	return v
}

// cacheMax bounds each cache of a resolver. Listings ask for the same few
// names again and again; the connection table may name a million clients.
const cacheMax = 4096
