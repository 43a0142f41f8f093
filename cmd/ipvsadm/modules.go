package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Where the kernel's modules are described; tests point these elsewhere.
var (
	procModulesPath = "/proc/modules"
	sysModuleDir    = "/sys/module"
	libModulesDir   = "/lib/modules"
)

// Module states, as the system view and the JSON output name them.
const (
	moduleLoaded    = "loaded"
	moduleBuiltIn   = "built-in"
	moduleAvailable = "available" // a module file the kernel loads on first use
	moduleMissing   = "missing"
	moduleUnknown   = "unknown" // no module lists to tell
)

// moduleStates tells the state of kernel modules by name.
type moduleStates struct {
	loaded  map[string]bool
	builtin map[string]bool
	files   map[string]bool
	listed  bool // modules.dep was read
}

// readModuleStates reads /proc/modules and the running kernel's
// modules.builtin and modules.dep.
func readModuleStates() *moduleStates {
	m := &moduleStates{loaded: map[string]bool{}, builtin: map[string]bool{}, files: map[string]bool{}}
	eachLine(procModulesPath, func(line string) {
		if name, _, ok := strings.Cut(line, " "); ok {
			m.loaded[name] = true
		}
	})
	dir := filepath.Join(libModulesDir, kernelRelease())
	eachLine(filepath.Join(dir, "modules.builtin"), func(line string) { m.builtin[moduleName(line)] = true })
	m.listed = eachLine(filepath.Join(dir, "modules.dep"), func(line string) {
		file, _, _ := strings.Cut(line, ":")
		m.files[moduleName(file)] = true
	})
	return m
}

// moduleName is the module of a path in modules.dep or modules.builtin:
// kernel/net/netfilter/ipvs/ip_vs_rr.ko.xz is ip_vs_rr.
func moduleName(path string) string {
	base := filepath.Base(path)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}

// state returns the state of module name.
func (m *moduleStates) state(name string) string {
	switch {
	case m.loaded[name]:
		return moduleLoaded
	case m.builtin[name]:
		return moduleBuiltIn
	case m.files[name]:
		return moduleAvailable
	}
	if _, err := os.Stat(filepath.Join(sysModuleDir, name)); err == nil {
		return moduleBuiltIn
	}
	if !m.listed {
		return moduleUnknown
	}
	return moduleMissing
}

// eachLine calls fn with each line of a file and reports whether it could
// be read.
func eachLine(path string, fn func(string)) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fn(sc.Text())
	}
	return true
}

// kernelRelease is uname -r.
func kernelRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}
