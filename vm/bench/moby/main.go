// Command moby, run in the VM as ipvsadm-moby, is the third contender of
// `make bench` (vm/bench): the Go library github.com/moby/ipvs, which
// kube-proxy's IPVS mode, Docker and telegraf program and read IPVS with,
// driven the way kube-proxy drives it. It lives in its own Go module so
// that the main module does not depend on that library.
//
//	ipvsadm-moby restore <RULES   create every service and real server of
//	                              a rule file in `ipvsadm -Sn` form
//	ipvsadm-moby list >OUT        every service and real server, with
//	                              counters, one line each
//	ipvsadm-moby flush            delete every service
//
// restore reads only what the benchmark generates (see parseRules) and
// refuses anything else before changing the table; then it sends one
// request per line, in file order: NewService for -A, NewDestination for
// -a, as kube-proxy's sync loop does for a service it has not programmed
// yet. list is GetServices, then GetDestinations of each service (one
// dump per service), the way telegraf's ipvs input and kube-proxy read the
// table; both return the counters, printed as decimal numbers. Every
// subcommand works on the network namespace it was started in and exits 1
// with a message on stderr on any error. The library's one-time
// `modprobe ip_vs` is skipped (see run).
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/moby/ipvs"
	"github.com/sirupsen/logrus"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ipvsadm-moby:", err)
		os.Exit(1)
	}
}

func run(args []string, in io.Reader, out io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: ipvsadm-moby restore|list|flush (got %q)", args)
	}
	var changes []change
	if args[0] == "restore" {
		// Parse first: a refused line leaves the table untouched.
		var err error
		if changes, err = parseRules(in); err != nil {
			return err
		}
	} else if args[0] != "list" && args[0] != "flush" {
		return fmt.Errorf("unknown subcommand %q (restore, list or flush)", args[0])
	}
	// ipvs.New first runs `modprobe -va ip_vs`, once per process: a daemon
	// such as kube-proxy pays that at start, not per change or listing,
	// and ours has no such step. An empty PATH makes that lookup fail at
	// once (the guest has ip_vs loaded), so the benchmark measures the
	// library's requests, not a fork and exec of modprobe. The library
	// logs the failure through logrus, which is silenced: the benchmark
	// treats any output on stderr as an error.
	os.Setenv("PATH", "")
	logrus.SetOutput(io.Discard)
	h, err := ipvs.New("")
	if err != nil {
		return fmt.Errorf("ipvs.New: %w", err)
	}
	defer h.Close()
	switch args[0] {
	case "restore":
		return restore(h, changes)
	case "list":
		w := bufio.NewWriterSize(out, 64<<10)
		if err := list(h, w); err != nil {
			return err
		}
		return w.Flush()
	default:
		if err := h.Flush(); err != nil {
			return fmt.Errorf("flush (Handle.Flush): %w", err)
		}
		return nil
	}
}

// restore applies the changes in order, one request each.
func restore(h *ipvs.Handle, changes []change) error {
	for _, c := range changes {
		if c.dest == nil {
			if err := h.NewService(c.svc); err != nil {
				return fmt.Errorf("line %d: NewService: %w", c.line, err)
			}
			continue
		}
		if err := h.NewDestination(c.svc, c.dest); err != nil {
			return fmt.Errorf("line %d: NewDestination: %w", c.line, err)
		}
	}
	return nil
}
