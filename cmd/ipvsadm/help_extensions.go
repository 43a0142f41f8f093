package main

import (
	"fmt"
	"io"
)

// extensionsText lists our options that ipvsadm 1.31 does not have. -h
// keeps ipvsadm's text byte for byte, so they have their own help; %[1]s
// is the program name as invoked.
const extensionsText = `Extensions (not in ipvsadm 1.31, which refuses them):
  %[1]s -R --test              check the whole input, change nothing
  %[1]s -R --atomic            check, then apply all of the input or nothing
  %[1]s -R --replace [--scope items]
                               make the table equal to the input (a -S save
                               or -A/-a/--set/--start-daemon lines) by
                               editing, adding and then deleting: no flush
  %[1]s -R ... --dry-run       print the plan as -R lines on stdout and a
                               summary on stderr, change nothing
  %[1]s -S --full [-n]         save thresholds, timeouts and sync daemons too
  %[1]s --help-extensions      display this help message

  --scope items                comma-separated: address prefixes (10.0.0.0/8),
                               addresses, fwmark:N or fwmark:N-M; --replace
                               edits and deletes only services within them
Every problem of a checked restore is reported as "line N: ...".
Exit status: 0 done (or would apply), 1 refused (nothing changed),
3 the kernel refused a change and every applied change was undone,
4 the kernel refused a change and some could not be undone (listed),
5 another --atomic/--replace held this network namespace (nothing changed).
`

func writeHelpExtensions(w io.Writer, argv0 string) {
	io.WriteString(w, versionLine)
	fmt.Fprintf(w, extensionsText, argv0)
}
