package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRestoreReplaceJSON: ipvsadm -L --json | ipvsadm -R --replace --json
// makes another table equal to the listed one, without a flush; the
// checked modes read the document as they read restore lines.
func TestRestoreReplaceJSON(t *testing.T) {
	src := newModelBackend()
	withBackend(t, src, nil)
	_, errs, status := runArgs([]string{"-R"}, "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 192.168.1.1 -m -w 3\n"+
		"-a -t 10.0.0.1:80 -r 192.168.1.2 -m\n-A -u 10.0.0.2:53 -s wlc\n")
	require.Equal(t, 0, status, errs)
	doc, errs, status := runArgs([]string{"-L", "--json"}, "")
	require.Equal(t, 0, status, errs)
	want, _, _ := runArgs([]string{"-Sn"}, "")

	dst := newModelBackend()
	withBackend(t, dst, nil)
	_, errs, status = runArgs([]string{"-R"}, "-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 192.168.1.9 -g\n-A -t 10.0.0.9:80\n")
	require.Equal(t, 0, status, errs)
	before, _, _ := runArgs([]string{"-Sn"}, "")

	// --dry-run plans, --test checks; neither changes anything.
	plan, _, status := runArgs([]string{"-R", "--replace", "--json", "--dry-run"}, doc)
	require.Equal(t, 0, status)
	require.Contains(t, plan, "-D -t 10.0.0.9:80")
	_, errs, status = runArgs([]string{"-R", "--replace", "--json", "--test"}, doc)
	require.Equal(t, 0, status, errs)
	unchanged, _, _ := runArgs([]string{"-Sn"}, "")
	require.Equal(t, before, unchanged)

	_, errs, status = runArgs([]string{"-R", "--replace", "--json"}, doc)
	require.Equal(t, 0, status, errs)
	got, _, _ := runArgs([]string{"-Sn"}, "")
	require.Equal(t, want, got)

	// Twice is a no-op; a broken document changes nothing and says why.
	plan, _, status = runArgs([]string{"-R", "--replace", "--json", "--dry-run"}, doc)
	require.Equal(t, 0, status)
	require.Empty(t, plan)
	_, errs, status = runArgs([]string{"-R", "--replace", "--json"}, `{"schema_version": 1, "services": [{]`)
	require.Equal(t, exitRefused, status)
	require.True(t, strings.HasPrefix(errs, "the JSON document: "), errs)
	got, _, _ = runArgs([]string{"-Sn"}, "")
	require.Equal(t, want, got)
}
