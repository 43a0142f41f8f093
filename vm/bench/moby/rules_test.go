package main

import (
	"net"
	"strings"
	"testing"

	"github.com/moby/ipvs"
)

func TestParseRules(t *testing.T) {
	changes, err := parseRules(strings.NewReader(
		"-A -t 10.0.0.1:80 -s wlc\n" +
			"-a -t 10.0.0.1:80 -r 172.16.0.1:8080 -m -w 1\n" +
			"-a -t 10.0.0.1:80 -r 172.16.0.2:8080 -m -w 5\n" +
			"-A -t 10.0.0.3:80 -s rr\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 4 {
		t.Fatalf("%d changes, want 4", len(changes))
	}
	s := changes[0].svc
	if changes[0].dest != nil || !s.Address.Equal(net.ParseIP("10.0.0.1")) || s.Port != 80 || s.SchedName != "wlc" ||
		s.Protocol != 6 || s.Netmask != 0xffffffff {
		t.Errorf("service: %+v", s)
	}
	d := changes[2].dest
	if changes[2].svc != s || d == nil || !d.Address.Equal(net.ParseIP("172.16.0.2")) || d.Port != 8080 || d.Weight != 5 ||
		d.ConnectionFlags != ipvs.ConnectionFlagMasq || changes[2].line != 3 {
		t.Errorf("real server: %+v of %+v, line %d", d, changes[2].svc, changes[2].line)
	}
	if changes[3].svc.SchedName != "rr" {
		t.Errorf("service 2: %+v", changes[3].svc)
	}
}

func TestParseRulesRefuses(t *testing.T) {
	for _, in := range []string{
		"-A -t 10.0.0.1:80 -s wlc -p 60",
		"-A -u 10.0.0.1:80 -s wlc",
		"-A -t [2001:db8::1]:80 -s wlc",
		"-A -t 10.0.0.1:0 -s wlc",
		"-A -t 10.0.0.1:80 -s WLC",
		"-A -t 10.0.0.1:80 -s wlc\n-A -t 10.0.0.1:80 -s rr",
		"-a -t 10.0.0.1:80 -r 172.16.0.1:8080 -m -w 1",
		"-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 172.16.0.1:8080 -g -w 1",
		"-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 172.16.0.1:8080 -m -w 70000",
		"# comment",
		"-A -t 10.0.0.1:80 -s wlc\n\n",
	} {
		if _, err := parseRules(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), "rule file line") {
			t.Errorf("parseRules(%q): error %v, want a refusal with the line", in, err)
		}
	}
}

// FuzzParseRules: any input is refused or gives changes whose real
// servers belong to a service created before them.
func FuzzParseRules(f *testing.F) {
	f.Add("-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 172.16.0.1:8080 -m -w 1\n")
	f.Add("-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.2:80 -r 172.16.0.1:8080 -m -w 1\n")
	f.Fuzz(func(t *testing.T, in string) {
		changes, err := parseRules(strings.NewReader(in))
		if err != nil {
			return
		}
		created := map[*ipvs.Service]bool{}
		for _, c := range changes {
			if c.dest == nil {
				created[c.svc] = true
			} else if !created[c.svc] {
				t.Fatalf("line %d: a real server of a service not created before", c.line)
			}
			if c.svc.Address.To4() == nil || c.svc.Port == 0 {
				t.Fatalf("line %d: service %+v", c.line, c.svc)
			}
		}
	})
}
