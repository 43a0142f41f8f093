package names

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

func TestSystemResolverServices(t *testing.T) {
	path := filepath.Join(t.TempDir(), "services")
	data := `# comment line
tcpmux		1/tcp				# TCP port service multiplexer
http		80/tcp		www www-http	# WorldWideWeb HTTP
http		80/sctp
kerberos	88/tcp		kerberos5 krb5	# Kerberos v5
kerberos	88/udp		kerberos5 krb5
broken		notaport/tcp
broken2		99
toolarge	70000/tcp
second-http	80/tcp		web
#hidden		81/tcp
dupe	8080/udp
http-alt	8080/tcp	webcache
sip		5060/udp
`
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &SystemResolver{ServicesPath: path}

	portNames := []struct {
		port uint16
		p    rules.Protocol
		want string
		ok   bool
	}{
		{80, rules.TCP, "http", true}, // the first entry wins
		{80, rules.SCTP, "http", true},
		{80, rules.UDP, "", false},
		{88, rules.UDP, "kerberos", true},
		{8080, rules.TCP, "http-alt", true},
		{8080, rules.UDP, "dupe", true},
		{81, rules.TCP, "", false},
		{5060, rules.UDP, "sip", true},
		{80, 0, "", false}, // no names without a protocol
	}
	for _, tt := range portNames {
		if got, ok := r.PortName(tt.port, tt.p); got != tt.want || ok != tt.ok {
			t.Errorf("PortName(%d, %v) = %q, %v; want %q, %v", tt.port, tt.p, got, ok, tt.want, tt.ok)
		}
	}

	lookups := []struct {
		name string
		p    rules.Protocol
		want uint16
		ok   bool
	}{
		{"http", rules.TCP, 80, true},
		{"www", rules.TCP, 80, true},
		{"www-http", rules.TCP, 80, true},
		{"web", rules.TCP, 80, true},
		{"krb5", rules.UDP, 88, true},
		{"http", rules.SCTP, 80, true},
		{"http", rules.UDP, 0, false},
		{"webcache", rules.TCP, 8080, true},
		{"HTTP", rules.TCP, 0, false},
		{"hidden", rules.TCP, 0, false},
		{"broken", rules.TCP, 0, false},
		{"toolarge", rules.TCP, 0, false},
		{"http", 0, 0, false},
	}
	for _, tt := range lookups {
		if got, ok := r.LookupPort(tt.name, tt.p); got != tt.want || ok != tt.ok {
			t.Errorf("LookupPort(%q, %v) = %d, %v; want %d, %v", tt.name, tt.p, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSystemResolverNoServicesFile(t *testing.T) {
	r := &SystemResolver{ServicesPath: filepath.Join(t.TempDir(), "missing")}
	if _, ok := r.PortName(80, rules.TCP); ok {
		t.Error("PortName resolved without a services file")
	}
}

func TestSystemResolverHosts(t *testing.T) {
	var addrCalls, ipCalls atomic.Int32
	dir := t.TempDir()
	empty := filepath.Join(dir, "hosts")
	nsswitch := filepath.Join(dir, "nsswitch.conf")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(nsswitch, []byte("hosts: files dns\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &SystemResolver{
		HostsPath:    empty,
		NSSwitchPath: nsswitch,
		LookupAddr: func(_ context.Context, addr string) ([]string, error) {
			addrCalls.Add(1)
			switch addr {
			case "10.0.0.1":
				return []string{"vip.example.com.", "vip."}, nil
			case "2001:db8::1":
				return []string{"v6host.example.com"}, nil
			}
			return nil, errors.New("no such host")
		},
		LookupIP4: func(_ context.Context, host string) ([]netip.Addr, error) {
			ipCalls.Add(1)
			switch host {
			case "vip":
				return []netip.Addr{netip.MustParseAddr("::ffff:10.0.0.1"), netip.MustParseAddr("10.0.0.2")}, nil
			case "v6only":
				return []netip.Addr{netip.MustParseAddr("2001:db8::1")}, nil
			}
			return nil, errors.New("no such host")
		},
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				if n, ok := r.HostName(netip.MustParseAddr("10.0.0.1")); n != "vip.example.com" || !ok {
					t.Errorf("HostName(10.0.0.1) = %q, %v", n, ok)
				}
				if n, ok := r.HostName(netip.MustParseAddr("2001:db8::1")); n != "v6host.example.com" || !ok {
					t.Errorf("HostName(2001:db8::1) = %q, %v", n, ok)
				}
				if _, ok := r.HostName(netip.MustParseAddr("10.9.9.9")); ok {
					t.Error("HostName(10.9.9.9) resolved")
				}
				if a, ok := r.LookupHost4("vip"); a != netip.MustParseAddr("10.0.0.1") || !ok {
					t.Errorf("LookupHost4(vip) = %v, %v", a, ok)
				}
				if _, ok := r.LookupHost4("v6only"); ok {
					t.Error("LookupHost4(v6only) resolved")
				}
			}
		}()
	}
	wg.Wait()
	// Racing goroutines may each miss the cache once, but no more.
	if n := addrCalls.Load(); n < 3 || n > 12 {
		t.Errorf("%d reverse lookups, want 3 to 12 (cached)", n)
	}
	if n := ipCalls.Load(); n < 2 || n > 8 {
		t.Errorf("%d forward lookups, want 2 to 8 (cached)", n)
	}
	if _, ok := r.HostName(netip.Addr{}); ok {
		t.Error("HostName(invalid) resolved")
	}
	if _, ok := r.LookupHost4(""); ok {
		t.Error(`LookupHost4("") resolved`)
	}
}

// TestSystemResolverDefaults makes sure the zero value works against the
// real system (localhost is in every hosts file worth the name).
func TestSystemResolverDefaults(t *testing.T) {
	r := NewSystemResolver()
	if a, ok := r.LookupHost4("localhost"); ok && !a.Is4() {
		t.Errorf("LookupHost4(localhost) = %v", a)
	}
	if _, err := os.Stat(DefaultServicesPath); err == nil {
		if _, ok := r.LookupPort("http", rules.TCP); !ok {
			t.Logf("%s has no http/tcp", DefaultServicesPath)
		}
	}
}

// TestSystemResolverHostsFile pins glibc's files backend: case-insensitive
// names, a trailing dot kept, ::1 and v4-mapped lines answering IPv4
// lookups, other IPv6 lines not, IPv6 literals refused, the first line
// winning, and no DNS unless nsswitch.conf lists it.
func TestSystemResolverHostsFile(t *testing.T) {
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts")
	nsswitch := filepath.Join(dir, "nsswitch.conf")
	writeFile := func(p, text string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(hosts, `127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback # comment
10.0.0.1 web1.example web1
10.0.0.9 web1.example
::ffff:10.0.0.3 mapped.example
2001:db8::1 v6host.example
fe80::1%lo zoned.example
bogus line
`)
	writeFile(nsswitch, "hosts: files\n")
	dnsCalls := 0
	r := &SystemResolver{HostsPath: hosts, NSSwitchPath: nsswitch,
		LookupIP4: func(context.Context, string) ([]netip.Addr, error) {
			dnsCalls++
			return []netip.Addr{netip.MustParseAddr("192.0.2.1")}, nil
		},
	}
	for name, want := range map[string]string{
		"web1.example": "10.0.0.1", "WEB1": "10.0.0.1", "ip6-loopback": "127.0.0.1",
		"mapped.example": "10.0.0.3", "web1.example.": "", "v6host.example": "",
		"zoned.example": "", "::1": "", "nosuch": "",
	} {
		a, ok := r.LookupHost4(name)
		if want == "" {
			if ok {
				t.Errorf("LookupHost4(%q) = %v, want no address", name, a)
			}
			continue
		}
		if !ok || a.String() != want {
			t.Errorf("LookupHost4(%q) = %v, %v, want %s", name, a, ok, want)
		}
	}
	if dnsCalls != 0 {
		t.Errorf("DNS asked %d times with hosts: files", dnsCalls)
	}
	for addr, want := range map[string]string{
		"127.0.0.1": "localhost", "10.0.0.1": "web1.example", "10.0.0.3": "mapped.example",
		"2001:db8::1": "v6host.example", "::1": "localhost", "10.0.0.2": "",
	} {
		n, ok := r.HostName(netip.MustParseAddr(addr))
		if n != want || ok != (want != "") {
			t.Errorf("HostName(%s) = %q, %v, want %q", addr, n, ok, want)
		}
	}
}

// TestCacheBounded checks that the caches stay bounded however many
// distinct keys are asked for.
func TestCacheBounded(t *testing.T) {
	var mu sync.Mutex
	var m map[int]int
	calls := 0
	lookup := func(k int) int { calls++; return k * 2 }
	for k := 0; k < 3*cacheMax; k++ {
		if got := cached(&mu, &m, k, lookup); got != 2*k {
			t.Fatalf("cached(%d) = %d", k, got)
		}
		if len(m) > cacheMax {
			t.Fatalf("cache holds %d entries, more than %d", len(m), cacheMax)
		}
	}
	before := calls
	cached(&mu, &m, 3*cacheMax-1, lookup)
	if calls != before {
		t.Error("a recent key was looked up again")
	}
}
