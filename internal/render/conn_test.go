package render

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/ipvsadm-go/ipvsadm/internal/testkit"
)

// TestConnGolden reproduces reference §10.G from its proc file.
func TestConnGolden(t *testing.T) {
	proc, err := os.ReadFile(filepath.Join("testdata", "list", "ip_vs_conn"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		o     ListOptions
		ref   string
		whole bool
	}{
		{"g-Lnc", ListOptions{Numeric: true}, `
IPVS connection entries|
pro expire state       source             virtual            destination|
TCP 14:17  ESTABLISHED 192.168.0.100:49697 10.0.0.1:80        192.168.0.1:80|
TCP 00:52  TIME_WAIT   [2001:db8::64]:49697 [2001:db8::1]:80   [2001:db8::99]:8080|
UDP 01:00  UDP         192.168.0.103:5060 10.0.0.1:5060      192.168.0.3:5060|
IP  900:00 NONE        192.168.0.104:0    10.0.0.1:80        192.168.0.1:80|
SCTP 00:05  ESTABLISHED 192.168.0.106:80   10.0.0.1:80        192.168.0.1:80|
`, true},
		{"g-Lnc-persistent-conn", ListOptions{Numeric: true, PersistentConn: true}, `
pro expire state       source             virtual            destination        pe name          pe_data|
TCP 14:17  ESTABLISHED 192.168.0.100:49697 10.0.0.1:80        192.168.0.1:80|
UDP 01:00  UDP         192.168.0.103:5060 10.0.0.1:5060      192.168.0.3:5060 sip                1234567890abcdef@example.com|
IP  900:00 NONE        192.168.0.104:0    10.0.0.1:80        192.168.0.1:80|
`, false},
		{"g-Lc", ListOptions{}, `
TCP 14:17  ESTABLISHED 192.168.0.100:49697 vip.example.com:http real1.example.com:http|
UDP 01:00  UDP         192.168.0.103:sip  vip.example.com:sip 192.168.0.3:sip|
IP  900:00 NONE        192.168.0.104:0    vip.example.com:80 real1.example.com:80|
`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			status := WriteConns(&out, &errOut, bytes.NewReader(proc), tt.o, testdataResolver(t))
			if status != 0 || errOut.Len() != 0 {
				t.Errorf("status %d, stderr %q", status, errOut.String())
			}
			listCheckRef(t, out.String(), tt.ref, tt.whole)
			listGolden(t, tt.name, out.Bytes())
		})
	}
}

// TestConnReference compares with the Debian binary's output for the
// inputs of testdata/list/conn, recorded in the project VM.
func TestConnReference(t *testing.T) {
	dir := filepath.Join("testdata", "list", "conn")
	ref, err := os.ReadFile(filepath.Join(dir, "reference.txt"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(ref), "=== ")[1:]
	if len(blocks) < 20 {
		t.Fatalf("only %d cases in reference.txt", len(blocks))
	}
	for _, b := range blocks {
		head, body, _ := strings.Cut(b, "\n")
		name, args, _ := strings.Cut(head, " ")
		t.Run(name+" "+args, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			var wantOut, wantErr strings.Builder
			wantStatus := -1
			for _, l := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
				switch {
				case strings.HasSuffix(l, "|"):
					wantOut.WriteString(strings.TrimSuffix(l, "|") + "\n")
				case strings.HasPrefix(l, "ERR: "):
					wantErr.WriteString(strings.TrimPrefix(l, "ERR: ") + "\n")
				case strings.HasPrefix(l, "status="):
					fmt.Sscanf(l, "status=%d", &wantStatus)
				default:
					t.Fatalf("bad reference line %q", l)
				}
			}
			o := ListOptions{Numeric: true, PersistentConn: strings.Contains(args, "--persistent-conn")}
			var out, errOut bytes.Buffer
			status := WriteConns(&out, &errOut, bytes.NewReader(in), o, nil)
			if status != wantStatus || out.String() != wantOut.String() || errOut.String() != wantErr.String() {
				t.Errorf("got status %d, stdout:\n%s\nstderr %q\nwant status %d, stdout:\n%s\nstderr %q",
					status, testkit.MarkEnds(out.String()), errOut.String(), wantStatus, testkit.MarkEnds(wantOut.String()), wantErr.String())
			}
		})
	}
}

// TestConnEdges covers inputs the reference cannot pin down: where the
// Debian binary prints uninitialised stack memory or crashes, and reading
// one byte at a time.
func TestConnEdges(t *testing.T) {
	const hdr = "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"
	const titles = "IPVS connection entries\npro expire state       source             virtual            destination\n"
	const titlesPE = "IPVS connection entries\npro expire state       source             virtual            destination        pe name          pe_data\n"
	long := "TCP C0A80064 C221 0A000001 0050 C0A80001 0050 ESTABLISHED 1 sip " + strings.Repeat("x", 300) + "\n"
	tests := []struct {
		name, in    string
		o           ListOptions
		out, stderr string
		status      int
	}{
		// ipvsadm prints garbage for the fields sscanf did not reach on a
		// first line; we print them empty and zero.
		{name: "short first line", in: hdr + "TCP C0A80064\n",
			out: titles + "TCP 00:00              192.168.0.100:0    0.0.0.0:0          0.0.0.0:0\n"},
		{name: "mismatch stops conversions", in: hdr + "TCP C0A80064 zz 0A000001 0050 C0A80001 0050 NONE 9\n",
			out: titles + "TCP 00:00              192.168.0.100:0    0.0.0.0:0          0.0.0.0:0\n"},
		{name: "NUL ends the line for sscanf", in: hdr + "TCP C0A80064 C221\x000A000001\n",
			out: titles + "TCP 00:00              192.168.0.100:49697 0.0.0.0:0          0.0.0.0:0\n"},
		// ipvsadm leaves the virtual address uninitialised when it does not
		// parse in the client's family.
		{name: "IPv6 client, bad virtual", in: hdr + "TCP ::1 0001 zzz 0002 ::2 0003 NONE 0\n",
			out: titles + "TCP 00:00  NONE        [::1]:1            [::]:2             [::2]:3\n"},
		{name: "dotted client, hex virtual", in: hdr + "TCP 1.2.3.4 0001 0A000001 0002 0A000002 0003 NONE 0\n",
			out: titles + "TCP 00:00  NONE        1.2.3.4:1          0.0.0.0:2          10.0.0.2:3\n"},
		// ipvsadm overflows its 8-byte protocol buffer on the remainder of
		// a long line and crashes; we print what it would have parsed.
		{name: "long line is split", in: hdr + long, o: ListOptions{Numeric: true, PersistentConn: true},
			out: titlesPE +
				"TCP 00:01  ESTABLISHED 192.168.0.100:49697 10.0.0.1:80        192.168.0.1:80   sip                " + strings.Repeat("x", 255-len(long)+301) + "\n" +
				strings.Repeat("x", len(long)-1-255) + " 00:01  ESTABLISHED 192.168.0.100:0    10.0.0.1:0         192.168.0.1:80\n"},
		{name: "vertical tab is space to sscanf", in: hdr + "\v\f\n", status: 1, out: titles},
		{name: "pe name without data", in: hdr + "UDP C0A80067 13C4 0A000001 13C4 C0A80003 13C4 UDP 60 sip\n",
			o:   ListOptions{Numeric: true, PersistentConn: true},
			out: titlesPE + "UDP 01:00  UDP         192.168.0.103:5060 10.0.0.1:5060      192.168.0.3:5060\n"},
		{name: "header without newline", in: "Pro", out: titles},
		{name: "empty", in: "", status: 1, stderr: "unexpected input from /proc/net/ip_vs_conn\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, oneByte := range []bool{false, true} {
				var rd io.Reader = strings.NewReader(tt.in)
				if oneByte {
					rd = iotest.OneByteReader(rd)
				}
				o := tt.o
				if o == (ListOptions{}) {
					o.Numeric = true
				}
				var out, errOut bytes.Buffer
				status := WriteConns(&out, &errOut, rd, o, nil)
				if status != tt.status || out.String() != tt.out || errOut.String() != tt.stderr {
					t.Errorf("oneByte=%v: status %d, stdout:\n%s\nstderr %q\nwant status %d, stdout:\n%s\nstderr %q",
						oneByte, status, testkit.MarkEnds(out.String()), errOut.String(), tt.status, testkit.MarkEnds(tt.out), tt.stderr)
				}
			}
		})
	}
}

func TestConnReadError(t *testing.T) {
	in := strings.NewReader("hdr\nTCP C0A80064 C221 0A000001 0050 C0A80001 0050 NONE 1\n")
	var out, errOut bytes.Buffer
	r := iotest.TimeoutReader(iotest.HalfReader(in))
	status := WriteConns(&out, &errOut, r, ListOptions{Numeric: true}, nil)
	if status != 0 || errOut.Len() != 0 {
		t.Errorf("status %d, stderr %q", status, errOut.String())
	}
}

func FuzzWriteConns(f *testing.F) {
	proc, err := os.ReadFile(filepath.Join("testdata", "list", "ip_vs_conn"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(proc, false)
	f.Add([]byte("h\nTCP -0x 0x1FFFFFFFFFFFFFFFFF 1.2.3.4 +5 ::ffff:1.2.3.4 g x 99999999999999999999 a b c\n"), true)
	f.Fuzz(func(t *testing.T, in []byte, persistent bool) {
		var out, errOut bytes.Buffer
		o := ListOptions{Numeric: true, PersistentConn: persistent}
		status := WriteConns(&out, &errOut, bytes.NewReader(in), o, nil)
		if status != 0 && status != 1 {
			t.Fatalf("status %d", status)
		}
		if status == 0 && !strings.HasPrefix(out.String(), "IPVS connection entries\n") {
			t.Fatalf("no title in %q", out.String())
		}
	})
}
