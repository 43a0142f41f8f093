package main

// make demo's script on the real kernel, with this ipvsadm: every step of
// vm/demo.sh checks what it shows, so running it here keeps the demo from
// rotting.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs/ipvstest"
)

// demoScript is vm/demo.sh from the package directory (vm/vm.sh
// kernel-test copies it to the same place in the VM).
const demoScript = "../../vm/demo.sh"

func TestKernelDemo(t *testing.T) {
	if !ipvstest.InVM() {
		t.Skip("vm/demo.sh builds network namespaces: it runs in the IPVS VM only (make demo)")
	}
	ours := newTools(t).ours
	script, err := filepath.Abs(demoScript)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(script); err != nil {
		t.Fatalf("the demo script: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", script)
	// Ours first on PATH: the demo runs "ipvsadm".
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(ours)+":"+os.Getenv("PATH"))
	// The demo in a process group of its own, ended as a whole, and no
	// waiting on a straggler that holds the output pipe: the tests that
	// run after it must find nothing of it left.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil || !strings.Contains(string(out), "\n=== Done") {
		t.Fatalf("sh %s: %v after %v:\n%s", demoScript, err, time.Since(start), out)
	}
	t.Logf("the demo ran in %v", time.Since(start).Round(time.Millisecond))
}
