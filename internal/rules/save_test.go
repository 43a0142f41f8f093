package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func init() {
	// -update rewrites golden files. Defined here unless another test file
	// of the package already has it.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updatingGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// compareGolden checks got against the golden file path, or rewrites the
// file with -update.
func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if updatingGolden() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s:\n got:\n%s\nwant:\n%s", path, markEnds(string(got)), markEnds(string(want)))
	}
}

// markEnds makes trailing spaces visible the way the reference does, with
// "|" at the end of every line.
func markEnds(s string) string {
	return strings.ReplaceAll(s, "\n", "|\n")
}

// refText turns reference text with "|" line ends into plain output.
func refText(s string) string {
	s = strings.TrimPrefix(s, "\n")
	return strings.ReplaceAll(s, "|\n", "\n")
}

// testTable is a table fixture of testdata/tables: a kernel dump.
type testTable struct {
	Comment string
	Info    Info
	Entries []ServiceEntry
}

func loadTestTable(t *testing.T, name string) testTable {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "tables", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var tt testTable
	if err := json.Unmarshal(b, &tt); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return tt
}

// testdataResolver resolves with the hosts and services files of
// testdata/tables, the name data of reference §10.H, with no DNS.
func testdataResolver(t *testing.T) *SystemResolver {
	t.Helper()
	dir := filepath.Join("testdata", "tables")
	return &SystemResolver{
		ServicesPath: filepath.Join(dir, "services"),
		HostsPath:    filepath.Join(dir, "hosts"),
		NSSwitchPath: filepath.Join(dir, "nsswitch.conf"),
	}
}

// TestWriteSaveGolden reproduces reference §10.B (B20) and §10.H (-S).
func TestWriteSaveGolden(t *testing.T) {
	tests := []struct {
		name, table string
		numeric     bool
		ref         string // the reference's output, "|" marking line ends
	}{
		{"b20-Sn", "b", true, `
-A -f -1294967296 -s wlc|
-A -t 10.0.0.1:80 -s rr|
-a -t 10.0.0.1:80 -r 192.168.1.10:80 -g -w 1|
-a -t 10.0.0.1:80 -r 192.168.1.11:8080 -m -w 3|
-a -t 10.0.0.1:80 -r 192.168.1.12:80 -i -w 0 --tun-type ipip|
-a -t 10.0.0.1:80 -r 192.168.1.14:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum|
-a -t 10.0.0.1:80 -r 192.168.1.15:80 -i -w 1 --tun-type gre --tun-nocsum|
-A -t 10.0.0.3:443 -s sh -p 600 -M 255.255.255.0 -b sh-fallback,sh-port|
-A -t 10.0.0.4:80 -s wlc -p 30 --pe sip|
-A -u 10.0.0.1:53 -s wlc -p 360 -o|
-A -t [2001:db8::10]:80 -s wlc|
-a -t [2001:db8::10]:80 -r [2001:db8::20]:8080 -m -w 5|
-A -f 7 -6 -s wlc -p 120 -M 64|
-A -f 100 -s wrr|
-a -f 100 -r 192.168.1.20:0 -g -w 1|
`},
		{"h-S", "h", false, `
-A -t vip.example.com:http -s wlc|
-a -t vip.example.com:http -r real1.example.com:http -g -w 1|
-a -t vip.example.com:http -r a-very-long-real-server-hostname.example.com:http -g -w 1|
-a -t vip.example.com:http -r 192.168.0.3:mysql -m -w 1|
-A -t vip.example.com:https -s wlc|
-A -t an-extremely-long-virtual-service-name.example.org:http-alt -s wlc|
-a -t an-extremely-long-virtual-service-name.example.org:http-alt -r real1.example.com:http -m -w 1|
-A -t 10.0.0.3:9999 -s wlc|
-A -u vip.example.com:domain -s wlc|
-a -u vip.example.com:domain -r real1.example.com:domain -m -w 1|
-A -t [v6host.example.com]:http -s wlc|
-a -t [v6host.example.com]:http -r [2001:db8::99]:http-alt -m -w 1|
-A -f 7 -s wlc|
-a -f 7 -r real1.example.com:0 -g -w 1|
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := loadTestTable(t, tt.table)
			before, _ := json.Marshal(table.Entries)
			var buf bytes.Buffer
			if err := WriteSave(&buf, table.Entries, tt.numeric, testdataResolver(t)); err != nil {
				t.Fatal(err)
			}
			if got, want := buf.String(), refText(tt.ref); got != want {
				t.Errorf("differs from the reference:\n got:\n%s\nwant:\n%s", markEnds(got), markEnds(want))
			}
			compareGolden(t, filepath.Join("testdata", "save", tt.name+".golden"), buf.Bytes())
			if after, _ := json.Marshal(table.Entries); !bytes.Equal(before, after) {
				t.Error("WriteSave modified its input")
			}
		})
	}
}

// TestWriteSaveQuirks covers the save rules the golden cases do not reach.
// The tunnel and forwarding cases were checked against the Debian binary in
// the project VM (tunnel flags of 3 and more crash it).
func TestWriteSaveQuirks(t *testing.T) {
	v4 := func(p Protocol, addr string, port uint16) Service {
		return Service{ServiceKey: ServiceKey{Family: IPv4, Protocol: p, Addr: netip.MustParseAddr(addr), Port: port},
			Scheduler: "wlc", Netmask: 0xffffffff}
	}
	d := func(addr string, port uint16, m ForwardMethod) Destination {
		return Destination{Family: IPv4, Addr: netip.MustParseAddr(addr), Port: port, Forward: m, Weight: 1}
	}
	sh3 := v4(TCP, "10.0.0.1", 80)
	sh3.Scheduler, sh3.Flags = "sh", FlagSched3
	rr12 := v4(TCP, "10.0.0.2", 80)
	rr12.Scheduler, rr12.Flags = "rr", FlagSched1|FlagSched3
	pe := v4(UDP, "10.0.0.3", 5060)
	pe.PE = "sip"
	mask := v4(TCP, "10.0.0.4", 0)
	mask.Flags, mask.Timeout, mask.Netmask = FlagPersistent, 300, 0xffff00ff
	nomask := v4(TCP, "10.0.0.5", 80)
	nomask.Netmask = 0xffffff00 // not persistent: no -M
	odd := v4(47, "10.0.0.6", 80)
	mh := v4(SCTP, "10.0.0.7", 80)
	mh.Scheduler, mh.Flags = "mh", FlagSched2
	fw := Service{ServiceKey: ServiceKey{Family: IPv4, FWMark: 4294967295}, Scheduler: "wlc", Netmask: 0xffffffff}
	v6 := Service{ServiceKey: ServiceKey{Family: IPv4, Protocol: TCP, Addr: netip.MustParseAddr("10.0.0.8"), Port: 80},
		Scheduler: "wlc", Netmask: 0xffffffff}
	entries := []ServiceEntry{
		{Service: sh3, Dests: []Destination{d("192.168.0.1", 80, Local), d("192.168.0.2", 80, 5)}},
		{Service: rr12},
		{Service: pe},
		{Service: mask},
		{Service: nomask},
		{Service: odd},
		{Service: mh},
		{Service: fw},
		{Service: v6, Dests: []Destination{
			{Family: IPv6, Addr: netip.MustParseAddr("2001:db8::1"), Port: 80, Forward: Tunnel,
				TunnelType: TunnelGUE, TunnelPort: 5555, TunnelFlags: TunnelRemoteChecksum, Weight: 2,
				UpperThreshold: 9, LowerThreshold: 3},
			{Family: IPv4, Addr: netip.MustParseAddr("192.168.0.9"), Port: 80, Forward: Tunnel,
				TunnelType: TunnelGRE, TunnelFlags: TunnelChecksum},
			{Family: IPv4, Addr: netip.MustParseAddr("192.168.0.10"), Port: 80, Forward: Tunnel, TunnelType: 9},
			{Family: IPv4, Addr: netip.MustParseAddr("192.168.0.11"), Port: 80, Forward: Tunnel,
				TunnelType: TunnelGRE, TunnelFlags: TunnelRemoteChecksum},
			{Family: IPv4, Addr: netip.MustParseAddr("192.168.0.12"), Port: 80, Forward: Tunnel,
				TunnelType: TunnelGUE, TunnelPort: 1, TunnelFlags: 3},
			{Family: IPv4, Addr: netip.MustParseAddr("192.168.0.13"), Port: 80, Forward: Tunnel,
				TunnelType: TunnelIPIP, TunnelFlags: TunnelChecksum},
			{Family: IPv4, Addr: netip.MustParseAddr("192.168.0.14"), Port: 80, Forward: 7},
		}},
	}
	want := refText(`
-A -f -1 -s wlc|
-A -t 10.0.0.1:80 -s sh -b |
-a -t 10.0.0.1:80 -r 192.168.0.1:80 -g -w 1|
-a -t 10.0.0.1:80 -r 192.168.0.2:80 (null) -w 1|
-A -t 10.0.0.2:80 -s rr -b flag-1,flag-3|
-A -t 10.0.0.4:0 -s wlc -p 300 -M 255.255.0.255|
-A -t 10.0.0.5:80 -s wlc|
-A -t 10.0.0.8:80 -s wlc|
-a -t 10.0.0.8:80 -r 192.168.0.9:80 -i -w 0 --tun-type gre --tun-csum|
-a -t 10.0.0.8:80 -r 192.168.0.10:80 -i -w 0|
-a -t 10.0.0.8:80 -r 192.168.0.11:80 -i -w 0 --tun-type gre --tun-remcsum|
-a -t 10.0.0.8:80 -r 192.168.0.12:80 -i -w 0 --tun-type gue --tun-port 1|
-a -t 10.0.0.8:80 -r 192.168.0.13:80 -i -w 0 --tun-type ipip|
-a -t 10.0.0.8:80 -r 192.168.0.14:80 (null) -w 0|
-a -t 10.0.0.8:80 -r [2001:db8::1]:80 -i -w 2 --tun-type gue --tun-port 5555 --tun-remcsum|
-A -u 10.0.0.3:5060 -s wlc --pe sip|
-A --xxx-service 10.0.0.6:80 -s wlc|
-A --sctp-service 10.0.0.7:80 -s mh -b mh-port|
`)
	var buf bytes.Buffer
	if err := WriteSave(&buf, entries, true, nil); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", markEnds(got), markEnds(want))
	}
}

func TestWriteSaveEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSave(&buf, nil, true, nil); err != nil || buf.Len() != 0 {
		t.Errorf("got %q, %v; want nothing", buf.String(), err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteSaveError(t *testing.T) {
	entries := []ServiceEntry{{Service: Service{ServiceKey: ServiceKey{Family: IPv4, FWMark: 1}, Scheduler: "wlc"}}}
	if err := WriteSave(failingWriter{}, entries, true, nil); err == nil {
		t.Error("no error from a failing writer")
	}
}

func TestAppendSchedFlags(t *testing.T) {
	tests := []struct {
		sched string
		f     ServiceFlags
		want  string
	}{
		{"wlc", 0, ""},
		{"wlc", FlagSched1 | FlagSched2 | FlagSched3 | FlagPersistent, "flag-1,flag-2,flag-3"},
		{"rr", FlagSched2, "flag-2"},
		{"sh", FlagSched1 | FlagSched2, "sh-fallback,sh-port"},
		{"sh", FlagSched3, ""},
		{"sh", FlagSched2 | FlagSched3, "sh-port"},
		{"mh", FlagSched1, "mh-fallback"},
		{"mh", FlagSched1 | FlagSched2 | FlagSched3, "mh-fallback,mh-port"},
		{"shx", FlagSched1, "flag-1"},
		{"mh", FlagSched2 | FlagPersistent | FlagOnePacket, "mh-port"},
	}
	for _, tt := range tests {
		if got := string(AppendSchedFlags(nil, tt.sched, tt.f)); got != tt.want {
			t.Errorf("AppendSchedFlags(%q, %#x) = %q, want %q", tt.sched, uint32(tt.f), got, tt.want)
		}
	}
}

func TestAppendNetmaskOption(t *testing.T) {
	tests := []struct {
		f    Family
		mask uint32
		want string
		ok   bool
	}{
		{IPv4, 0xffffffff, "", false},
		{IPv4, 0xffffff00, "255.255.255.0", true},
		{IPv4, 24, "0.0.0.24", true},
		{IPv6, 128, "", false},
		{IPv6, 64, "64", true},
		{IPv6, 0xffffffff, "-1", true},
	}
	for _, tt := range tests {
		s := Service{ServiceKey: ServiceKey{Family: tt.f}, Netmask: tt.mask}
		got := string(AppendNetmaskOption(nil, " -M ", &s))
		ok := got != ""
		if got = strings.TrimPrefix(got, " -M "); got != tt.want || ok != tt.ok {
			t.Errorf("AppendNetmaskOption(%v %#x) = %q, %v; want %q, %v", tt.f, tt.mask, got, ok, tt.want, tt.ok)
		}
	}
}

// TestSaveLinesNoAllocs checks that numeric save lines render without
// allocating.
func TestSaveLinesNoAllocs(t *testing.T) {
	s := Service{ServiceKey: ServiceKey{Family: IPv4, Protocol: TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80},
		Scheduler: "mh", Flags: FlagPersistent | FlagSched2 | FlagOnePacket, Timeout: 300, Netmask: 0xffffff00, PE: "sip"}
	d := Destination{Family: IPv6, Addr: netip.MustParseAddr("::ffff:1.2.3.4"), Port: 80, Forward: Tunnel,
		TunnelType: TunnelGUE, TunnelPort: 6080, TunnelFlags: TunnelChecksum, Weight: 3}
	buf := make([]byte, 0, 4096)
	r := testdataResolver(t) // not asked: numeric
	allocs := testing.AllocsPerRun(100, func() {
		var svcBuf [128]byte
		svcText := appendSaveService(svcBuf[:0], &s, true, r)
		b := appendSaveServiceLine(buf[:0], &s, svcText)
		appendSaveDestLine(b, &s, svcText, &d, true, r)
	})
	if allocs != 0 {
		t.Errorf("%v allocations", allocs)
	}
}
