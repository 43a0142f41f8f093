package testkit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "x.golden")
	*update = true
	Golden(t, path, []byte("one \ntwo\n"))
	*update = false
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "one \ntwo\n" {
		t.Fatalf("-update wrote %q, %v", b, err)
	}
	Golden(t, path, []byte("one \ntwo\n"))
	if got := MarkEnds("a \nb\n"); got != "a |\nb|\n" {
		t.Errorf("MarkEnds = %q", got)
	}
	if got := RefLines(t, "\na |\nb|\n"); strings.Join(got, ",") != "a ,b" {
		t.Errorf("RefLines = %q", got)
	}
}

func TestLoadTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.json")
	os.WriteFile(path, []byte(`{"Info":{"Version":66049},"Entries":[{"Service":{"Family":2,"Protocol":6,"Addr":"10.0.0.1","Port":80}}]}`), 0o644)
	tb := LoadTable(t, path)
	if tb.Info.Version != 66049 || len(tb.Entries) != 1 || tb.Entries[0].Service.Port != 80 {
		t.Errorf("LoadTable = %+v", tb)
	}
}

func TestBenchRules(t *testing.T) {
	want := "-A -t 10.0.0.1:80 -s wlc\n" +
		"-a -t 10.0.0.1:80 -r 172.16.0.1:8080 -m -w 1\n" +
		"-a -t 10.0.0.1:80 -r 172.16.0.2:8080 -m -w 2\n" +
		"-A -t 10.0.0.2:80 -s wlc\n" +
		"-a -t 10.0.0.2:80 -r 172.16.0.3:8080 -m -w 2\n" +
		"-a -t 10.0.0.2:80 -r 172.16.0.4:8080 -m -w 3\n" +
		"-A -t 10.0.0.3:80 -s rr\n" +
		"-a -t 10.0.0.3:80 -r 172.16.0.5:8080 -m -w 3\n" +
		"-a -t 10.0.0.3:80 -r 172.16.0.6:8080 -m -w 4\n"
	if got := string(BenchRules(3, 2)); got != want {
		t.Errorf("BenchRules(3, 2) =\n%s\nwant\n%s", got, want)
	}
	if n := strings.Count(string(BenchRules(2000, 5)), "\n"); n != 12000 {
		t.Errorf("BenchRules(2000, 5) has %d lines", n)
	}
	if got := BenchAddr(10<<24, 254); got != "10.0.1.1" {
		t.Errorf("BenchAddr skips .255 and .0: got %s", got)
	}
}
