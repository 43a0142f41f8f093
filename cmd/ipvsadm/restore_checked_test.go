package main

import (
	"bytes"
	"net/netip"

	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/cmdline"
	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// checkedEnv makes run use m, with the writer lock in a temporary
// directory.
func checkedEnv(t *testing.T, m backend) {
	t.Helper()
	withBackend(t, m, nil)
	old := lockDir
	lockDir = t.TempDir()
	t.Cleanup(func() { lockDir = old })
}

// modelWith is a model backend after a plain restore of rulesText.
func modelWith(t *testing.T, rulesText string) *modelBackend {
	t.Helper()
	m := newModelBackend()
	checkedEnv(t, m)
	_, errs, status := runArgs([]string{"-R"}, rulesText)
	require.Equal(t, 0, status, errs)
	return m
}

// saveFull is what -S --full -n prints of m.
func saveFullOf(t *testing.T) string {
	t.Helper()
	out, errs, status := runArgs([]string{"-S", "--full", "-n"}, "")
	require.Equal(t, 0, status, errs)
	return out
}

const liveRules = `-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.1.0.1:80 -g -w 1
-a -t 10.0.0.1:80 -r 10.1.0.2:80 -g -w 1
-A -t 10.0.0.2:80 -s wlc
-a -t 10.0.0.2:80 -r 10.1.0.3:8080 -m -w 2
-A -f 7 -s sh -b sh-port
-A -u 10.9.0.1:53 -s rr
`

func TestCheckedRestoreTestReportsEveryLine(t *testing.T) {
	m := modelWith(t, liveRules)
	before := m.table.Entries()
	input := `-A -t 10.0.0.3:80 -s rr
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.3:80 -r 10.1.0.9:80
-a -t 10.0.0.3:80 -r 10.1.0.9:80 -w 3
-A -t 10.0.0.4:80 -s nosuch
-a -t 10.0.0.4:80 -r 10.1.0.9 -w x
-L -n
-e -t 10.0.0.3:80 -r 10.1.0.9:80 -x 1 -y 2
-A -t 10.0.0.5:80 --bogus
`
	for _, mode := range []string{"--test", "--atomic"} {
		out, errs, status := runArgs([]string{"-R", mode}, input)
		require.Equal(t, exitRefused, status, errs)
		require.Empty(t, out)
		require.Equal(t, `line 2: Service already exists
line 4: Destination already exists
line 5: Scheduler or persistence engine not found
line 6: illegal weight specified
line 7: a checked restore takes changes only, not list
line 8: Numerical result out of range
line 9: --bogus: unknown option
ipvsadm: 7 errors; nothing was changed
`, errs)
		require.Equal(t, before, m.table.Entries(), "nothing applied")
	}
	_, errs, status := runArgs([]string{"-R", "--test"}, "-A -t 10.0.0.3:80 -s rr\n-a -t 10.0.0.3:80 -r 10.1.0.9:80\n")
	require.Equal(t, 0, status, errs)
	require.Equal(t, before, m.table.Entries(), "--test changes nothing")
}

func TestCheckedRestoreAtomicApplies(t *testing.T) {
	m := modelWith(t, liveRules)
	_, errs, status := runArgs([]string{"-R", "--atomic"}, "-D -t 10.0.0.2:80\n-e -t 10.0.0.1:80 -r 10.1.0.1:80 -w 5\n--set 10 20 30\n")
	require.Equal(t, 0, status, errs)
	_, ok := m.table.Service(rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: netip.MustParseAddr("10.0.0.2"), Port: 80})
	require.False(t, ok)
	require.Equal(t, rules.Timeouts{TCP: 10, TCPFin: 20, UDP: 30}, m.table.Timeouts())
}

const desiredRules = `-A -t 10.0.0.1:80 -s wrr -p 300
-a -t 10.0.0.1:80 -r 10.1.0.1:80 -g -w 7
-a -t 10.0.0.1:80 -r 10.1.0.4:80 -g -w 1 -x 100 -y 10
-A -t 10.0.0.3:443 -s rr
-a -t 10.0.0.3:443 -r 10.1.0.5:443 -g -w 1
-A -f 7 -s sh -b sh-port
--set 901 121 301
`

func TestCheckedRestoreReplace(t *testing.T) {
	want := modelWith(t, desiredRules)
	m := modelWith(t, liveRules)
	out, errs, status := runArgs([]string{"-R", "--replace", "--dry-run"}, desiredRules)
	require.Equal(t, 0, status, errs)
	require.Equal(t, `--set 901 121 301
-E -t 10.0.0.1:80 -s wrr -p 300
-e -t 10.0.0.1:80 -r 10.1.0.1:80 -g -w 7
-a -t 10.0.0.1:80 -r 10.1.0.4:80 -g -w 1 -x 100 -y 10
-A -t 10.0.0.3:443 -s rr
-a -t 10.0.0.3:443 -r 10.1.0.5:443 -g -w 1
-d -t 10.0.0.1:80 -r 10.1.0.2:80
-D -u 10.9.0.1:53
-D -t 10.0.0.2:80
`, out, "deletions in the live table's listing order")
	require.Contains(t, errs, "~ service TCP 10.0.0.1:80: scheduler rr -> wrr, flags 0x0 -> 0x1, persistence 0 -> 300\n")
	require.Contains(t, errs, "~ real server TCP 10.0.0.1:80 -> inet 10.1.0.1:80: weight 1 -> 7\n")
	require.Contains(t, errs, "- service TCP 10.0.0.2:80 (with 1 real servers)\n")
	require.True(t, strings.HasSuffix(errs, "9 changes: 3 to add, 3 to change, 3 to delete\n"), errs)

	// The dry run's lines, run by a plain restore, reach the same table.
	dry := m.table.Clone()
	withBackend(t, &modelBackend{table: dry}, nil)
	_, errs, status = runArgs([]string{"-R"}, out)
	require.Equal(t, 0, status, errs)
	require.Equal(t, want.table.Entries(), dry.Entries())

	withBackend(t, m, nil)
	_, errs, status = runArgs([]string{"-R", "--replace"}, desiredRules)
	require.Equal(t, 0, status, errs)
	require.Equal(t, want.table.Entries(), m.table.Entries())
	require.Equal(t, want.table.Timeouts(), m.table.Timeouts())

	out, errs, status = runArgs([]string{"-R", "--replace", "--dry-run"}, desiredRules)
	require.Equal(t, 0, status, errs)
	require.Empty(t, out, "a second replace changes nothing")
	require.Equal(t, "0 changes: 0 to add, 0 to change, 0 to delete\n", errs)
}

func TestCheckedRestoreReplaceScope(t *testing.T) {
	m := modelWith(t, liveRules)
	out, errs, status := runArgs([]string{"-R", "--replace", "--scope", "10.0.0.2/32,fwmark:1-9", "--dry-run"}, "-A -t 10.0.0.2:80 -s rr\n")
	require.Equal(t, 0, status, errs)
	require.Equal(t, "-E -t 10.0.0.2:80 -s rr\n-d -t 10.0.0.2:80 -r 10.1.0.3:8080\n-D -f 7\n", out)

	_, errs, status = runArgs([]string{"-R", "--replace", "--scope", "10.0.0.2"}, "-A -t 10.0.0.2:80 -s rr\n-A -t 10.0.0.3:80\n")
	require.Equal(t, exitRefused, status)
	require.Equal(t, "line 2: service TCP 10.0.0.3:80 is outside --scope 10.0.0.2/32\nipvsadm: 1 error; nothing was changed\n", errs)
	require.Equal(t, 4, m.table.Len())

	_, errs, status = runArgs([]string{"-R", "--scope", "10.0.0.0/8"}, "")
	require.Equal(t, 2, status)
	require.Equal(t, "--scope needs --replace\n", errs)
	_, errs, status = runArgs([]string{"-R", "--replace", "--scope", "fwmark:0"}, "")
	require.Equal(t, 2, status)
	require.Contains(t, errs, "invalid --scope item `fwmark:0'")
}

func TestSaveFullRoundTrips(t *testing.T) {
	m := modelWith(t, desiredRules)
	_, errs, status := runArgs([]string{"--start-daemon", "master", "--mcast-interface", "lo", "--syncid", "3"}, "")
	require.Equal(t, 0, status, errs)
	saved := saveFullOf(t)
	require.Contains(t, saved, "-a -t 10.0.0.1:80 -r 10.1.0.4:80 -g -w 1 -x 100 -y 10\n")
	require.True(t, strings.HasSuffix(saved, "--set 901 121 301\n--start-daemon master --mcast-interface lo --syncid 3 --sync-maxlen 1472 --mcast-group 224.0.0.81 --mcast-port 8848 --mcast-ttl 1\n"), saved)
	// Plain -S is unchanged: no thresholds, timeouts or daemons.
	plain, _, _ := runArgs([]string{"-S", "-n"}, "")
	require.NotContains(t, plain, "-x")
	require.NotContains(t, plain, "--set")

	for _, args := range [][]string{{"-R"}, {"-R", "--replace"}} {
		n := newModelBackend()
		withBackend(t, n, nil)
		_, errs, status := runArgs(args, saved)
		require.Equal(t, 0, status, "%q: %s", args, errs)
		require.Equal(t, m.table.Entries(), n.table.Entries(), "%q", args)
		require.Equal(t, m.table.Timeouts(), n.table.Timeouts())
		require.Equal(t, m.table.Daemons(), n.table.Daemons())
		require.Equal(t, saved, saveFullOf(t))
	}
}

// racingBackend is the model with another writer: just before the
// change number raceAt is applied it adds raceSvc itself; undoFail makes
// the undo of those changes fail.
type racingBackend struct {
	*modelBackend
	n        int
	raceAt   int
	raceSvc  rules.Service
	undoFail map[rules.Op]bool
	undoing  bool
}

func (r *racingBackend) step(op rules.Op) error {
	r.n++
	if r.n == r.raceAt {
		r.table.Apply(rules.Change{Op: rules.OpAddService, Service: r.raceSvc})
		r.undoing = true
	} else if r.undoing && r.n > r.raceAt && r.undoFail[op] {
		return &ipvs.Error{Op: clientOps[op], Err: unix.ENOMEM}
	}
	return nil
}

func (r *racingBackend) AddService(s rules.Service) error {
	if err := r.step(rules.OpAddService); err != nil {
		return err
	}
	return r.modelBackend.AddService(s)
}

func (r *racingBackend) DeleteService(k rules.ServiceKey) error {
	if err := r.step(rules.OpDelService); err != nil {
		return err
	}
	return r.modelBackend.DeleteService(k)
}

func (r *racingBackend) AddDestination(k rules.ServiceKey, d rules.Destination) error {
	if err := r.step(rules.OpAddDest); err != nil {
		return err
	}
	return r.modelBackend.AddDestination(k, d)
}

func (r *racingBackend) UpdateDestination(k rules.ServiceKey, d rules.Destination) error {
	if err := r.step(rules.OpEditDest); err != nil {
		return err
	}
	return r.modelBackend.UpdateDestination(k, d)
}

func (r *racingBackend) DeleteDestination(k rules.ServiceKey, d rules.Destination) error {
	if err := r.step(rules.OpDelDest); err != nil {
		return err
	}
	return r.modelBackend.DeleteDestination(k, d)
}

func TestCheckedRestoreRollsBack(t *testing.T) {
	input := `-a -t 10.0.0.1:80 -r 10.1.0.7:80
-e -t 10.0.0.1:80 -r 10.1.0.1:80 -w 9 -x 5 -y 1
-d -t 10.0.0.1:80 -r 10.1.0.2:80
-D -t 10.0.0.2:80
-A -t 10.0.0.8:80 -s rr
-a -t 10.0.0.8:80 -r 10.1.0.8:80
`
	raced := rules.Service{ServiceKey: rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: netip.MustParseAddr("10.0.0.8"), Port: 80}, Scheduler: "wlc", Netmask: 0xffffffff}
	for _, tc := range []struct {
		name     string
		undoFail map[rules.Op]bool
		status   int
		errs     string
	}{
		{"rolled back", nil, exitRolledBack, "line 5: Service already exists\nipvsadm: the kernel refused a change; all 5 applied changes were undone\n"},
		{"incomplete", map[rules.Op]bool{rules.OpAddService: true, rules.OpAddDest: true}, exitIncomplete,
			"line 5: Service already exists\nipvsadm: the kernel refused a change and not all of the 4 applied changes could be undone; to get the table back, still run:\n" +
				"-A -t 10.0.0.2:80 -s wlc\n-a -t 10.0.0.2:80 -r 10.1.0.3:8080 -m -w 2\n-a -t 10.0.0.1:80 -r 10.1.0.2:80 -g -w 1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := modelWith(t, liveRules)
			want := m.table.Clone()
			require.NoError(t, want.Apply(rules.Change{Op: rules.OpAddService, Service: raced}))
			r := &racingBackend{modelBackend: m, raceAt: 5, raceSvc: raced, undoFail: tc.undoFail}
			withBackend(t, r, nil)
			_, errs, status := runArgs([]string{"-R", "--atomic"}, input)
			require.Equal(t, tc.status, status, errs)
			require.Equal(t, tc.errs, errs)
			if tc.undoFail == nil {
				require.Equal(t, want.Entries(), m.table.Entries(), "the table before, plus the other writer's service")
			}
		})
	}
}

func TestCheckedRestoreLock(t *testing.T) {
	m := modelWith(t, liveRules)
	unlock, err := lockNamespace(time.Second)
	require.NoError(t, err)
	old := lookupEnv
	lookupEnv = func(k string) (string, bool) {
		if k == "IPVSADM_LOCK_TIMEOUT" {
			return "0.2", true
		}
		return old(k)
	}
	t.Cleanup(func() { lookupEnv = old })
	_, errs, status := runArgs([]string{"-R", "--atomic"}, "-D -t 10.0.0.2:80\n")
	require.Equal(t, exitLocked, status)
	require.Contains(t, errs, "another ipvsadm --atomic or --replace is changing this network namespace")
	require.Equal(t, 4, m.table.Len())
	// --test and --dry-run change nothing and take no lock.
	_, errs, status = runArgs([]string{"-R", "--test"}, "-D -t 10.0.0.2:80\n")
	require.Equal(t, 0, status, errs)
	unlock()
	_, errs, status = runArgs([]string{"-R", "--atomic"}, "-D -t 10.0.0.2:80\n")
	require.Equal(t, 0, status, errs)
	require.Equal(t, 3, m.table.Len())
}

func TestRestoreScriptExtensions(t *testing.T) {
	m := modelWith(t, liveRules)
	var out, errb bytes.Buffer
	status := run([]string{"ipvsadm-restore", "--dry-run"}, strings.NewReader("# a comment\n-A -t 10.0.0.1:80 -s rr\n"), &out, &errb)
	require.Equal(t, 0, status, errb.String())
	require.Contains(t, out.String(), "-D -t 10.0.0.2:80\n")
	require.Equal(t, 4, m.table.Len())
	status = run([]string{"ipvsadm-restore", "--atomic"}, strings.NewReader("-A -t 10.0.0.1:80 -s rr\n"), &out, &errb)
	require.Equal(t, 0, status, errb.String())
	require.Equal(t, 1, m.table.Len())
	require.Len(t, m.table.Destinations(m.table.Services()[0].ServiceKey), 0)
}

// Every command line of the conformance suite parses the same with our
// extensions known as without them: they change no ipvsadm 1.31 command.
func TestExtensionsKeepConformanceParses(t *testing.T) {
	dir, err := confDir()
	require.NoError(t, err)
	cases, err := loadCases(dir)
	require.NoError(t, err)
	n := 0
	for _, c := range cases {
		for _, s := range c.Steps {
			if len(s.Argv) == 0 || s.Argv[0] != "ipvsadm" {
				continue
			}
			plain := &cmdline.Parser{Argv0: "ipvsadm"}
			ext := &cmdline.Parser{Argv0: "ipvsadm", Extensions: true}
			c1, e1 := plain.Parse(s.Argv[1:])
			c2, e2 := ext.Parse(s.Argv[1:])
			require.True(t, reflect.DeepEqual(c1, c2), "%s line %d", c.FullName(), s.Line)
			require.Equal(t, e1, e2, "%s line %d", c.FullName(), s.Line)
			n++
		}
	}
	require.Greater(t, n, 500)
}
