package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/testkit"
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
	testkit.ValidateJSON(t, "plan", []byte(plan))
	require.Contains(t, plan, `{"kind":"delete","object":"service","line":null,"service":{"family":"inet","protocol":"tcp","address":"10.0.0.9","port":80,"fwmark":null}`)
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
	testkit.ValidateJSON(t, "plan", []byte(plan))
	require.Contains(t, plan, `"changes":[],"summary":{"changes":0,"add":0,"edit":0,"delete":0}}`)
	_, errs, status = runArgs([]string{"-R", "--replace", "--json"}, `{"schema_version": 1, "services": [{]`)
	require.Equal(t, exitRefused, status)
	validateRestoreErrors(t, errs)
	require.True(t, strings.HasPrefix(errs, `{"error":{"message":"the JSON document: `), errs)
	got, _, _ = runArgs([]string{"-Sn"}, "")
	require.Equal(t, want, got)
}

// validateRestoreErrors checks what a failed checked restore printed with
// --json: error objects, one a line, then one outcome line.
func validateRestoreErrors(t *testing.T, errs string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
	require.GreaterOrEqual(t, len(lines), 2, errs)
	for _, l := range lines[:len(lines)-1] {
		testkit.ValidateJSON(t, "error", []byte(l))
	}
	testkit.ValidateJSON(t, "restore_outcome", []byte(lines[len(lines)-1]))
	return lines
}

// TestDryRunJSONPlan: the plan of --dry-run --json is one document with
// every change of the text plan, in order, with the input lines, the
// objects before and after, and the text summary's counts; the input may
// be restore lines.
func TestDryRunJSONPlan(t *testing.T) {
	modelWith(t, liveRules+"-a -t 10.0.0.2:80 -r 10.1.0.4:8080 -m -w 2 -x 10 -y 5\n")
	desired := `-A -t 10.0.0.1:80 -s wrr
-a -t 10.0.0.1:80 -r 10.1.0.1:80 -g -w 5
-A -t 10.0.0.2:80 -s wlc
-a -t 10.0.0.2:80 -r 10.1.0.3:8080 -m -w 2
-A -t 10.0.0.3:80 -s rr
-a -t 10.0.0.3:80 -r 10.1.0.9:80 -i --tun-type gue --tun-port 6080
--set 100 0 0
`
	text, summary, status := runArgs([]string{"-R", "--replace", "--dry-run"}, desired)
	require.Equal(t, 0, status, summary)
	out, errs, status := runArgs([]string{"-R", "--replace", "--dry-run", "--json"}, desired)
	require.Equal(t, 0, status, errs)
	require.Empty(t, errs)
	testkit.ValidateJSON(t, "plan", []byte(out))
	var plan jsondoc.Plan
	require.NoError(t, json.Unmarshal([]byte(out), &plan))
	require.Len(t, plan.Changes, strings.Count(text, "\n"))
	require.Contains(t, summary, fmt.Sprintf("%d changes: %d to add, %d to change, %d to delete\n",
		plan.Summary.Changes, plan.Summary.Add, plan.Summary.Edit, plan.Summary.Delete))

	type brief struct {
		kind, object string
		line         int
		service      string
	}
	var got []brief
	for _, c := range plan.Changes {
		b := brief{kind: c.Kind, object: c.Object}
		if c.Line != nil {
			b.line = *c.Line
		}
		if c.Service != nil {
			if c.Service.FWMark != nil {
				b.service = fmt.Sprint("fwmark ", *c.Service.FWMark)
			} else {
				b.service = fmt.Sprintf("%s %s:%d", *c.Service.Protocol, *c.Service.Address, *c.Service.Port)
			}
		}
		got = append(got, b)
	}
	require.Equal(t, []brief{
		{"edit", "timeouts", 7, ""},
		{"add", "service", 5, "tcp 10.0.0.3:80"},
		{"add", "real_server", 6, "tcp 10.0.0.3:80"},
		{"edit", "service", 1, "tcp 10.0.0.1:80"},
		{"edit", "real_server", 2, "tcp 10.0.0.1:80"},
		{"delete", "real_server", 0, "tcp 10.0.0.2:80"},
		{"delete", "real_server", 0, "tcp 10.0.0.1:80"},
		{"delete", "service", 0, "udp 10.9.0.1:53"},
		{"delete", "service", 0, "fwmark 7"},
	}, got)

	// Before and after: the listing's objects.
	var edit struct {
		Changes []struct {
			Before, After map[string]any
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &edit))
	require.Equal(t, map[string]any{"tcp_seconds": 100.0, "tcp_fin_seconds": 120.0, "udp_seconds": 300.0}, edit.Changes[0].After)
	require.Equal(t, 900.0, edit.Changes[0].Before["tcp_seconds"])
	require.Equal(t, "rr", edit.Changes[3].Before["scheduler"])
	require.Equal(t, "wrr", edit.Changes[3].After["scheduler"])
	require.Equal(t, 1.0, edit.Changes[4].Before["weight"])
	require.Equal(t, 5.0, edit.Changes[4].After["weight"])
	require.Equal(t, map[string]any{"type": "gue", "port": 6080.0, "checksum": "none"}, edit.Changes[2].After["tunnel"])
	require.Equal(t, "10.1.0.4", edit.Changes[5].Before["address"])
	require.Equal(t, 10.0, edit.Changes[5].Before["upper_threshold"], "a deleted real server as the table holds it")
	require.Nil(t, edit.Changes[5].After)
	require.Nil(t, edit.Changes[1].Before)

	// A script's plan (--atomic --dry-run) has the other kinds of change;
	// --pretty indents it.
	out, errs, status = runArgs([]string{"-R", "--atomic", "--dry-run", "--json", "--pretty"},
		"-Z\n-Z -t 10.0.0.1:80\n--start-daemon backup --mcast-interface lo\n--stop-daemon backup\n-C\n")
	require.Equal(t, 0, status, errs)
	testkit.ValidateJSON(t, "plan", []byte(out))
	require.Contains(t, out, "\n  \"changes\": [\n")
	require.NoError(t, json.Unmarshal([]byte(out), &plan))
	var kinds []string
	for _, c := range plan.Changes {
		kinds = append(kinds, c.Kind+" "+c.Object)
	}
	require.Equal(t, []string{"edit counters", "edit counters", "add daemon", "delete daemon", "delete table"}, kinds)
	require.Nil(t, plan.Changes[0].Service)
	require.NotNil(t, plan.Changes[1].Service)
	require.Equal(t, jsondoc.PlanSummary{Changes: 5, Add: 1, Edit: 2, Delete: 2}, plan.Summary)

	// A plan is not a table: -R --json refuses it.
	_, errs, status = runArgs([]string{"-R", "--replace", "--json", "--dry-run"}, out)
	require.Equal(t, exitRefused, status)
	validateRestoreErrors(t, errs)
	require.Contains(t, errs, "this is a plan (-R --dry-run --json), not a table")
	// So is a document without services: --replace would delete them all.
	_, errs, status = runArgs([]string{"-R", "--replace", "--json"}, `{"schema_version":1,"timeouts":null}`)
	require.Equal(t, exitRefused, status)
	require.Contains(t, errs, `it has no \"services\" (null)`)
	// An empty input is a broken document, never an empty table.
	_, errs, status = runArgs([]string{"-R", "--replace", "--json"}, "\n \n")
	require.Equal(t, exitRefused, status)
	require.Contains(t, errs, "the JSON document: not a JSON document")
}

// TestCheckedRestoreJSONErrors: with --json every problem of a checked
// restore is an error object with its line, the kernel's operation and
// errno, and a hint where one helps; an outcome line ends them. The exit
// statuses are those of the text.
func TestCheckedRestoreJSONErrors(t *testing.T) {
	m := modelWith(t, liveRules)
	input := "-A -t 10.0.0.3:80 -s rr\n-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.3:80 -r 10.1.0.9:80 -w x\n" +
		"-A -t 10.0.0.4:80 --json\n-e -t 10.0.0.3:80 -r 10.1.0.9:80 -x 1 -y 2\n"
	_, text, status := runArgs([]string{"-R", "--atomic"}, input)
	require.Equal(t, exitRefused, status)
	out, errs, status := runArgs([]string{"-R", "--atomic", "--json"}, input)
	require.Equal(t, exitRefused, status)
	require.Empty(t, out)
	lines := validateRestoreErrors(t, errs)
	textLines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	require.Len(t, lines, len(textLines))
	for i, l := range lines[:len(lines)-1] {
		var e errorObject
		require.NoError(t, json.Unmarshal([]byte(l), &e))
		require.NotNil(t, e.Error.Line)
		require.Equal(t, textLines[i], fmt.Sprintf("line %d: %s", *e.Error.Line, e.Error.Message))
	}
	require.Equal(t, `{"error":{"message":"Service already exists","operation":"add service","errno":17,"errno_name":"EEXIST","hint":"the virtual service exists already: change it with -E, or delete it with -D first","line":2}}`, lines[0])
	require.Contains(t, lines[2], `"message":"--json: unknown option","operation":null,"errno":null,"errno_name":null,"hint":"restore lines take ipvsadm 1.31's options only`)
	require.Contains(t, lines[3], `"errno_name":"ERANGE","hint":"the lower threshold (-y 2) is above the upper threshold (-x 1)`)
	require.Equal(t, `{"restore":{"status":1,"message":"ipvsadm: 4 errors; nothing was changed","errors":4,"changed":false,"applied_changes":0,"left":[]}}`, lines[4])
	require.Equal(t, 4, m.table.Len())

	// The lock of another writer: exit 5.
	unlock, err := lockNamespace(time.Second)
	require.NoError(t, err)
	old := lookupEnv
	lookupEnv = func(k string) (string, bool) {
		if k == "IPVSADM_LOCK_TIMEOUT" {
			return "0.1", true
		}
		return old(k)
	}
	t.Cleanup(func() { lookupEnv = old })
	_, errs, status = runArgs([]string{"-R", "--replace", "--json"}, "-A -t 10.0.0.1:80 -s rr\n")
	unlock()
	require.Equal(t, exitLocked, status)
	lines = validateRestoreErrors(t, errs)
	require.Len(t, lines, 2)
	require.Contains(t, lines[0], "another ipvsadm --atomic or --replace is changing this network namespace")
	require.Contains(t, lines[0], `"hint":"another ipvsadm -R --atomic or --replace held this namespace for 100ms`)
	require.Contains(t, lines[1], `{"restore":{"status":5,`)
	require.Equal(t, 4, m.table.Len())
}

// TestCheckedRestoreJSONRollback: the rollback reports of exits 3 and 4
// as JSON.
func TestCheckedRestoreJSONRollback(t *testing.T) {
	input := "-a -t 10.0.0.1:80 -r 10.1.0.7:80\n-D -t 10.0.0.2:80\n-A -t 10.0.0.8:80 -s rr\n"
	raced := rules.Service{ServiceKey: rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: netip.MustParseAddr("10.0.0.8"), Port: 80}, Scheduler: "wlc", Netmask: 0xffffffff}
	for _, tc := range []struct {
		undoFail map[rules.Op]bool
		status   int
		outcome  string
	}{
		{nil, exitRolledBack, `{"restore":{"status":3,"message":"ipvsadm: the kernel refused a change; all 2 applied changes were undone","errors":1,"changed":false,"applied_changes":2,"left":[]}}`},
		{map[rules.Op]bool{rules.OpAddService: true}, exitIncomplete, `{"restore":{"status":4,"message":"ipvsadm: the kernel refused a change and not all of the 2 applied changes could be undone; to get the table back, still run:","errors":1,"changed":true,"applied_changes":2,"left":["-A -t 10.0.0.2:80 -s wlc","-a -t 10.0.0.2:80 -r 10.1.0.3:8080 -m -w 2"]}}`},
	} {
		m := modelWith(t, liveRules)
		withBackend(t, &racingBackend{modelBackend: m, raceAt: 3, raceSvc: raced, undoFail: tc.undoFail}, nil)
		_, errs, status := runArgs([]string{"-R", "--atomic", "--json"}, input)
		require.Equal(t, tc.status, status, errs)
		lines := validateRestoreErrors(t, errs)
		require.Len(t, lines, 2)
		require.Equal(t, `{"error":{"message":"Service already exists","operation":"add service","errno":17,"errno_name":"EEXIST","hint":"the virtual service exists already: change it with -E, or delete it with -D first","line":3}}`, lines[0])
		require.Equal(t, tc.outcome, lines[1])
	}
}
