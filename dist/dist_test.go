package dist

import (
	"os/exec"
	"strings"
	"testing"
)

// complete runs the bash completion for the words of a command line (the
// last one being completed) and returns the candidates.
func complete(t *testing.T, words ...string) []string {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	script := "source ./ipvsadm.bash-completion; ipvsadm() { printf '%s\\n' '-A -t 10.0.0.1:80 -s rr' '-a -t 10.0.0.1:80 -r 1.2.3.4:80 -m -w 1' '-A -u 10.0.0.2:53 -s wlc'; }\n" +
		"COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); _ipvsadm; printf '%s\\n' \"${COMPREPLY[@]}\""
	out, err := exec.Command(bash, append([]string{"-c", script, "bash"}, words...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return strings.Fields(string(out))
}

func TestBashCompletion(t *testing.T) {
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"ipvsadm", "-s", "w"}, "wrr wlc"},
		{[]string{"ipvsadm", "--tun-type", ""}, "ipip gue gre"},
		{[]string{"ipvsadm", "--start-daemon", "m"}, "master"},
		{[]string{"ipvsadm", "-L", "-t", ""}, "10.0.0.1:80"},
		{[]string{"ipvsadm", "-D", "-u", ""}, "10.0.0.2:53"},
		{[]string{"ipvsadm", "--add-s"}, "--add-service --add-server"},
		{[]string{"ipvsadm", "-L", "--js"}, "--json"},
		{[]string{"ipvsadm", "-L", "--conn-"}, "--conn-virtual --conn-real --conn-state --conn-count"},
		{[]string{"ipvsadm", "-w", ""}, ""},
		{[]string{"ipvsadm", "--dr"}, "--drain"},
		{[]string{"ipvsadm", "--drain", "-t", "10.0.0.1:80", "-r", ""}, "1.2.3.4:80"},
		{[]string{"ipvsadm", "--drain", "-u", "10.0.0.2:53", "-r", ""}, ""},
		{[]string{"ipvsadm", "--drain", "-t", "10.0.0.1:80", "--re"}, "--real-server --remove"},
		{[]string{"ipvsadm", "--undrain", "-t", "10.0.0.1:80", "--re"}, "--real-server"},
		{[]string{"ipvsadm", "-a", "-r", ""}, ""},
		{[]string{"ipvsadm", "-L", "-t", "10.0.0.1:80", "--pred"}, "--predict"},
		{[]string{"ipvsadm", "-L", "-t", "10.0.0.1:80", "--with"}, "--with --without"},
		{[]string{"ipvsadm", "--predict", ""}, ""},
	} {
		if got := strings.Join(complete(t, tc.words...), " "); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.words, got, tc.want)
		}
	}
}

func TestUnitCommands(t *testing.T) {
	for _, want := range []string{"ExecStart=/usr/sbin/ipvsadm -R --replace\n", "StandardInput=file:/etc/ipvsadm.rules\n",
		"ExecStop=/bin/sh -c '/usr/sbin/ipvsadm -S --full -n > ", "ConditionFileNotEmpty=/etc/ipvsadm.rules\n"} {
		if !strings.Contains(Unit, want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	if strings.Contains(Unit, "ipvsadm -C") || strings.Contains(Unit, "ExecStopPost") {
		t.Error("neither starting nor stopping may flush the table")
	}
}
