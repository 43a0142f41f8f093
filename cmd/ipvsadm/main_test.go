package main

import (
	"os"
	"path/filepath"
	"testing"
)

// testPrograms are programs the test binary can act as, chosen by the name
// it is invoked under (argv[0]). Kernel tests link or copy the test binary
// to these names to run "ipvsadm" (this command) and helpers inside network
// namespaces without a separate build.
var testPrograms = map[string]func() int{
	"ipvsadm":         runProcess,
	"ipvsadm-save":    runProcess,
	"ipvsadm-restore": runProcess,
}

func TestMain(m *testing.M) {
	if prog, ok := testPrograms[filepath.Base(os.Args[0])]; ok {
		os.Exit(prog())
	}
	os.Exit(m.Run())
}
