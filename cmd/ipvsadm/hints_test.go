package main

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
)

// openPTY opens a pseudo-terminal pair: the controlling side to read what
// the program writes, and the terminal side to give it as standard error.
func openPTY(t *testing.T) (ctl, term *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	ctl = os.NewFile(uintptr(fd), "/dev/ptmx")
	require.NoError(t, unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	require.NoError(t, err)
	term, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	return ctl, term
}

// runOnTerminal runs args with standard error on a pseudo-terminal and
// returns what the terminal received (line ends as written) and the
// status.
func runOnTerminal(t *testing.T, args []string) (stderr string, status int) {
	return runOnTerminalWith(t, args, "")
}

// runOnTerminalWith is runOnTerminal with stdin as standard input.
func runOnTerminalWith(t *testing.T, args []string, stdin string) (stderr string, status int) {
	ctl, term := openPTY(t)
	defer ctl.Close()
	var out bytes.Buffer
	status = run(append([]string{"ipvsadm"}, args...), strings.NewReader(stdin), &out, term)
	term.Close()
	b, _ := io.ReadAll(ctl) // ends with EIO once the terminal side is closed
	return strings.ReplaceAll(string(b), "\r\n", "\n"), status
}

func TestHintsOnTerminal(t *testing.T) {
	m := newModelBackend()
	withBackend(t, m, nil)
	_, errs, status := runArgs([]string{"-A", "-t", "10.0.0.1:80"}, "")
	require.Equal(t, 0, status, errs)
	for _, tc := range []struct {
		args []string
		msg  string // ipvsadm's message, printed first
		hint string // the start of the hint line
	}{
		{[]string{"-A", "-t", "10.0.0.1:80"}, "Service already exists", "the virtual service exists already"},
		{[]string{"-A", "-t", "10.0.0.2:80", "-s", "nosuch"}, "Scheduler or persistence engine not found", `scheduler "nosuch" is not available`},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "10.1.1.1", "-x", "5", "-y", "10"}, "Numerical result out of range", "the lower threshold (-y 10) is above the upper threshold (-x 5)"},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "10.1.1.1", "-y", "10"}, "Numerical result out of range", "the lower threshold (-y 10) is above the upper threshold (-x 0)"},
		{[]string{"--start-daemon", "master"}, "No such device", `there is no interface "eth0" in this network namespace`},
		{[]string{"--stop-daemon", "backup"}, "No daemon is running", "no backup sync daemon runs"},
		{[]string{"-e", "-t", "10.0.0.1:80", "-r", "10.9.9.9"}, "No such destination", "the service has no such real server"},
		{[]string{"-D", "-t", "10.0.0.9:80"}, "No such service", "there is no such virtual service"},
	} {
		errs, status := runOnTerminal(t, tc.args)
		require.NotZero(t, status)
		lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
		require.Len(t, lines, 2, "%q: %q", tc.args, errs)
		require.Equal(t, tc.msg, lines[0], "%q", tc.args)
		require.True(t, strings.HasPrefix(lines[1], "hint: "+tc.hint), "%q: %q", tc.args, lines[1])

		// Not a terminal: ipvsadm's bytes only.
		_, errs, _ = runArgs(tc.args, "")
		require.Equal(t, tc.msg+"\n", errs)
	}
}

func TestInitHintsOnTerminal(t *testing.T) {
	for _, tc := range []struct {
		err  error
		hint string
	}{
		{noIPVS, "hint: the kernel has no IPVS loaded"},
		{&ipvs.Error{Op: ipvs.OpDial, Err: unix.EPERM}, "hint: IPVS needs the CAP_NET_ADMIN capability"},
	} {
		withBackend(t, nil, tc.err)
		errs, status := runOnTerminal(t, []string{"-Ln"})
		require.Equal(t, 2, status)
		lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
		require.Len(t, lines, 3, errs)
		require.True(t, strings.HasPrefix(lines[0], "Can't initialize ipvs: "))
		require.Equal(t, "Are you sure that IP Virtual Server is built in the kernel or as module?", lines[1])
		require.True(t, strings.HasPrefix(lines[2], tc.hint), lines[2])
	}
}

func TestNetNSHintOnTerminal(t *testing.T) {
	withBackend(t, newModelBackend(), nil)
	old := netnsDirs
	netnsDirs = []string{t.TempDir()}
	t.Cleanup(func() { netnsDirs = old })
	errs, status := runOnTerminal(t, []string{"-Ln", "--netns", "lb0"})
	require.Equal(t, 2, status)
	require.Equal(t, "Cannot open network namespace \"lb0\": No such file or directory\nhint: no namespace of that name in "+netnsDirs[0]+
		" (list them with ls "+netnsDirs[0]+"; create one with ip netns add lb0)\n", errs)
}

// TestRestoreHintsOnTerminal: the problems of restore lines get their
// hints too, in ipvsadm's restore and in the checked one, after each
// line's message; without a terminal the text is unchanged.
func TestRestoreHintsOnTerminal(t *testing.T) {
	input := "-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80\n-A -t 10.0.0.2:80 --json\n-a -t 10.0.0.1:80 -r 10.1.1.1 -x 5 -y 10\n"
	for _, tc := range []struct {
		args  []string
		plain string
		hints []string // after the line of the same index
	}{
		{[]string{"-R"}, "Service already exists\n--json: unknown option\nNumerical result out of range\n", []string{
			"the virtual service exists already",
			"restore lines take ipvsadm 1.31's options only",
			"the lower threshold (-y 10) is above the upper threshold (-x 5)",
		}},
		{[]string{"-R", "--test"}, "line 2: Service already exists\nline 3: --json: unknown option\nline 4: Numerical result out of range\nipvsadm: 3 errors; nothing was changed\n", []string{
			"the virtual service exists already",
			"restore lines take ipvsadm 1.31's options only",
			"the lower threshold (-y 10) is above the upper threshold (-x 5)",
		}},
	} {
		checkedEnv(t, newModelBackend())
		_, errs, _ := runArgs(tc.args, input)
		require.Equal(t, tc.plain, errs, "%q", tc.args)

		checkedEnv(t, newModelBackend())
		errs, _ = runOnTerminalWith(t, tc.args, input)
		plain := strings.Split(strings.TrimSuffix(tc.plain, "\n"), "\n")
		got := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
		var want []string
		for i, l := range plain {
			want = append(want, l)
			if i < len(tc.hints) {
				require.Greater(t, len(got), len(want), "%q: %q", tc.args, errs)
				require.True(t, strings.HasPrefix(got[len(want)], "hint: "+tc.hints[i]), "%q: %q", tc.args, got[len(want)])
				want = append(want, got[len(want)])
			}
		}
		require.Equal(t, want, got, "%q", tc.args)
	}
}

// TestHelpOnTerminal: -h on a terminal is ipvsadm 1.31's text followed by
// the extensions (the text of --help-extensions); not on a terminal it is
// 1.31's bytes alone.
func TestHelpOnTerminal(t *testing.T) {
	withBackend(t, nil, noIPVS)
	plain, errs, status := runArgs([]string{"-h"}, "")
	require.Equal(t, 0, status, errs)
	require.Len(t, plain, 4645)
	ext, _, _ := runArgs([]string{"--help-extensions"}, "")
	_, extText, _ := strings.Cut(ext, "\n")

	ctl, term := openPTY(t)
	defer ctl.Close()
	read := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(ctl) // read while it writes: a terminal's buffer is small
		read <- b
	}()
	var errb bytes.Buffer
	status = run([]string{"ipvsadm", "-h"}, strings.NewReader(""), term, &errb)
	term.Close()
	b := <-read
	require.Equal(t, 0, status, errb.String())
	got := strings.ReplaceAll(string(b), "\r\n", "\n")
	require.Equal(t, plain+"\n"+extText, got)
	require.Contains(t, got, "\n  ipvsadm -R --test|--atomic|--replace [--scope items] [--dry-run] [--json]\n")
}
