package main

import (
	"bytes"
	"io"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/testkit"
)

// benchList runs args against the model holding the 60,000-line bench
// table (10,000 services of 5 real servers): the user-space cost of a
// listing, without the kernel's.
func benchList(b *testing.B, args ...string) {
	m := newModelBackend()
	withBackend(b, m, nil)
	var out, errs bytes.Buffer
	if status := run([]string{"ipvsadm", "-R"}, bytes.NewReader(testkit.BenchRules(10000, 5)), &out, &errs); status != 0 {
		b.Fatal(errs.String())
	}
	b.ReportAllocs()
	for b.Loop() {
		if status := run(append([]string{"ipvsadm"}, args...), nil, io.Discard, &errs); status != 0 {
			b.Fatal(errs.String())
		}
	}
}

func BenchmarkListText(b *testing.B)      { benchList(b, "-Ln") }
func BenchmarkListTextStats(b *testing.B) { benchList(b, "-Ln", "--stats") }
func BenchmarkListJSON(b *testing.B)      { benchList(b, "-Ln", "--json") }
