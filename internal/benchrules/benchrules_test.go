package benchrules

import (
	"bytes"
	"testing"
)

func TestRules(t *testing.T) {
	want := `-A -t 10.0.0.1:80 -s wlc
-a -t 10.0.0.1:80 -r 172.16.0.1:8080 -m -w 1
-a -t 10.0.0.1:80 -r 172.16.0.2:8080 -m -w 2
-A -t 10.0.0.2:80 -s wlc
-a -t 10.0.0.2:80 -r 172.16.0.3:8080 -m -w 2
-a -t 10.0.0.2:80 -r 172.16.0.4:8080 -m -w 3
-A -t 10.0.0.3:80 -s rr
-a -t 10.0.0.3:80 -r 172.16.0.5:8080 -m -w 3
-a -t 10.0.0.3:80 -r 172.16.0.6:8080 -m -w 4
`
	if got := string(Rules(3, 2)); got != want {
		t.Errorf("Rules(3, 2) =\n%s\nwant\n%s", got, want)
	}
	if n := bytes.Count(Rules(2000, 5), []byte("\n")); n != 12000 {
		t.Errorf("Rules(2000, 5) has %d lines, want 12000", n)
	}
}

func TestAddr(t *testing.T) {
	for _, tt := range []struct {
		base uint32
		n    int
		want string
	}{
		{10 << 24, 0, "10.0.0.1"},
		{10 << 24, 253, "10.0.0.254"},
		{10 << 24, 254, "10.0.1.1"},
		{172<<24 | 16<<16, 254 * 256, "172.17.0.1"},
	} {
		if got := Addr(tt.base, tt.n); got != tt.want {
			t.Errorf("Addr(%#x, %d) = %s, want %s", tt.base, tt.n, got, tt.want)
		}
	}
}
