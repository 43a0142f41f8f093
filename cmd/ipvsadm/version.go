package main

import (
	"runtime"

	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
)

// version is this implementation's version; `make install` sets it from
// git (-ldflags "-X main.version=..."). -v keeps printing ipvsadm 1.31's
// line, which scripts parse; this one is shown by --help-extensions, the
// system view and every JSON document.
var version = "0.1.0-dev"

// generator names this program in JSON documents.
func generator() jsondoc.Generator {
	return jsondoc.Generator{Name: "ipvsadm", Version: version, CompatibleWith: "1.31", GoVersion: runtime.Version()}
}

// versionText is the one-line identification of this implementation.
func versionText() string {
	return "ipvsadm (Go implementation) " + version + ", compatible with ipvsadm 1.31, built with " + runtime.Version()
}
