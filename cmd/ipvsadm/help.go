package main

import (
	"fmt"
	"io"
)

// versionLine is what -v prints and -h starts with.
const versionLine = "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n"

// usageText is ipvsadm 1.31's help, byte for byte; %[1]s is the program
// name as invoked.
const usageText = `Usage:
  %[1]s -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]
  %[1]s -D virtual-service
  %[1]s -C
  %[1]s -R
  %[1]s -S [-n]
  %[1]s -a|e virtual-service -r server-address [options]
  %[1]s -d virtual-service -r server-address
  %[1]s -L|l [virtual-service] [options]
  %[1]s -Z [virtual-service]
  %[1]s --set tcp tcpfin udp
  %[1]s --start-daemon {master|backup} [daemon-options]
  %[1]s --stop-daemon {master|backup}
  %[1]s -h

Commands:
Either long or short options are allowed.
  --add-service     -A        add virtual service with options
  --edit-service    -E        edit virtual service with options
  --delete-service  -D        delete virtual service
  --clear           -C        clear the whole table
  --restore         -R        restore rules from stdin
  --save            -S        save rules to stdout
  --add-server      -a        add real server with options
  --edit-server     -e        edit real server with options
  --delete-server   -d        delete real server
  --list            -L|-l     list the table
  --zero            -Z        zero counters in a service or all services
  --set tcp tcpfin udp        set connection timeout values
  --start-daemon              start connection sync daemon
  --stop-daemon               stop connection sync daemon
  --help            -h        display this help message

virtual-service:
  --tcp-service|-t  service-address   service-address is host[:port]
  --udp-service|-u  service-address   service-address is host[:port]
  --sctp-service    service-address   service-address is host[:port]
  --fwmark-service|-f fwmark          fwmark is an integer greater than zero

Options:
  --ipv6         -6                   fwmark entry uses IPv6
  --scheduler    -s scheduler         one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh,
                                      the default scheduler is wlc.
  --pe            engine              alternate persistence engine may be sip,
                                      not set by default.
  --persistent   -p [timeout]         persistent service
  --netmask      -M netmask           persistent granularity mask
  --real-server  -r server-address    server-address is host (and port)
  --gatewaying   -g                   gatewaying (direct routing) (default)
  --ipip         -i                   ipip encapsulation (tunneling)
  --masquerading -m                   masquerading (NAT)
  --tun-type      type                one of ipip|gue|gre,
                                      the default tunnel type is ipip.
  --tun-port      port                tunnel destination port
  --tun-nocsum                        tunnel encapsulation without checksum
  --tun-csum                          tunnel encapsulation with checksum
  --tun-remcsum                       tunnel encapsulation with remote checksum
  --weight       -w weight            capacity of real server
  --u-threshold  -x uthreshold        upper threshold of connections
  --l-threshold  -y lthreshold        lower threshold of connections
  --connection   -c                   output of current IPVS connections
  --timeout                           output of timeout (tcp tcpfin udp)
  --daemon                            output of daemon information
  --stats                             output of statistics information
  --rate                              output of rate information
  --exact                             expand numbers (display exact values)
  --thresholds                        output of thresholds information
  --persistent-conn                   output of persistent connection info
  --tun-info                          output of tunnel information
  --nosort                            disable sorting output of service/server entries
  --sort                              does nothing, for backwards compatibility
  --ops          -o                   one-packet scheduling
  --numeric      -n                   numeric output of addresses and ports
  --sched-flags  -b flags             scheduler flags (comma-separated)
Daemon Options:
  --syncid sid                        syncid for connection sync (default=255)
  --sync-maxlen length                Max sync message length (default=1472)
  --mcast-interface interface         multicast interface for connection sync
  --mcast-group address               IPv4/IPv6 group (default=224.0.0.81)
  --mcast-port port                   UDP port (default=8848)
  --mcast-ttl ttl                     Multicast TTL (default=1)
`

func writeVersion(w io.Writer) { io.WriteString(w, versionLine) }

// writeHelp writes -h: ipvsadm 1.31's text, byte for byte, for scripts
// and the conformance suite; on a terminal (a person reading) the
// extensions follow it, as --help-extensions lists them.
func writeHelp(w io.Writer, argv0 string, terminal bool) {
	io.WriteString(w, versionLine)
	fmt.Fprintf(w, usageText, argv0)
	if terminal {
		io.WriteString(w, "\n")
		fmt.Fprintf(w, extensionsText, argv0)
	}
}

// extensionsText lists the options this ipvsadm has beyond 1.31 (-h
// keeps 1.31's text byte for byte); %[1]s is the program name.
const extensionsText = `Extensions of this ipvsadm (ipvsadm 1.31 refuses these options):
  %[1]s -L|l [virtual-service] [options] --json [--pretty]
  %[1]s -L --timeout|--daemon --json
  %[1]s -L -c --json [--conn-virtual ADDR[:PORT]] [--conn-real ADDR[:PORT]] [--conn-state STATE]
  %[1]s -L -c --conn-count [--json]
  %[1]s -L --system [--json]
  %[1]s -L virtual-service --predict CLIENTS [--with RS=W] [--without RS] [--json]
  %[1]s -R --json
  %[1]s -R --test|--atomic|--replace [--scope items] [--dry-run] [--json]
  %[1]s -S --full [-n]
  %[1]s --drain virtual-service -r server-address [--drain-timeout DURATION] [--remove] [--json]
  %[1]s --undrain virtual-service -r server-address -w weight [--json]
  %[1]s --netns NAME|PATH <any command>
  ipvsadm-save [-n] [--netns NAME|PATH]
  ipvsadm-restore [--test|--atomic|--replace|--dry-run|--scope items|--json] [--netns NAME|PATH]
  %[1]s --help-extensions

Options:
  --json                              JSON output (one document; -L -c: one
                                      connection per line); errors as JSON on
                                      stderr; with -R, read a -L --json document
                                      (the checked modes also read -R lines)
  --pretty                            indent the JSON output
  --netns NAME|PATH                   work on the network namespace NAME (under
                                      /run/netns) or of the file PATH
  --system                            with -L: IPVS version, connection table
                                      size, scheduler modules, IPVS sysctls
  --conn-virtual ADDR[:PORT]          with -L -c: only connections to this
                                      virtual address (and port)
  --conn-real ADDR[:PORT]             with -L -c: only connections to this
                                      real server (and port)
  --conn-state STATE                  with -L -c: only connections in STATE
  --conn-count                        with -L -c: counts by state and protocol
  --predict CLIENTS                   with -L and one service: which real
                                      server each client would get (model of
                                      the scheduler; "Uncertain:" where the
                                      kernel does not export what it depends
                                      on); CLIENTS: ADDR[:PORT], PREFIX[:PORT
                                      [-PORT]] ([v6]:PORT), @FILE, - (stdin);
                                      repeatable
  --with RS=WEIGHT                    with --predict: what if real server RS
                                      (ADDR[:PORT]) had WEIGHT (a new one is
                                      added); repeatable
  --without RS                        with --predict: what if RS were taken
                                      out; repeatable
  --test                              with -R: check the whole input, change
                                      nothing
  --atomic                            with -R: check, then apply all of the
                                      input or nothing
  --replace                           with -R: make the table equal to the
                                      input (a -S save or -A/-a/--set/
                                      --start-daemon lines) by editing, adding
                                      and then deleting: no flush
  --scope items                       with --replace: edit and delete only
                                      services within these comma-separated
                                      address prefixes (10.0.0.0/8), addresses,
                                      fwmark:N or fwmark:N-M
  --dry-run                           with -R's options above: print the plan as
                                      -R lines on stdout and a summary on
                                      stderr (with --json: one plan document),
                                      change nothing
  --full                              with -S: save thresholds, timeouts and
                                      sync daemons too
  --drain                             set a real server's weight to 0 (its
                                      other settings kept), wait until its
                                      connections end (TCP, SCTP: the active
                                      ones; UDP, fwmark: every entry)
  --drain-timeout DURATION            with --drain: wait at most this long
                                      (90s, 10m, 1h; default 10m)
  --remove                            with --drain: delete the real server
                                      once it is drained
  --undrain                           give a drained real server the weight
                                      of -w back (--drain prints the line)
  --help-extensions                   display this help message

Every problem of a checked restore (--test, --atomic, --replace, --dry-run)
is reported as "line N: ...". Its exit status: 0 done (or would apply),
1 refused (nothing changed), 3 the kernel refused a change and every applied
change was undone, 4 the kernel refused a change and some could not be undone
(listed), 5 another --atomic/--replace held this network namespace (nothing
changed).

--drain exits 0 when drained (and removed), 3 when the deadline passed with
connections left, 130 when interrupted, 1 when someone else deleted the real
server meanwhile; in all these cases the weight stays 0. It warns when the
IPVS sysctls keep clients on the server (expire_quiescent_template,
conn_reuse_mode) or drop them after --remove (expire_nodest_conn).

When standard error is a terminal, an error is followed by a line starting
with "hint:" that says what is wrong; when standard output is a terminal,
-h lists these extensions after ipvsadm's help. The JSON schema is
docs/ipvsadm.schema.json (installed as /usr/share/ipvsadm/ipvsadm.schema.json).
`

func writeHelpExtensions(w io.Writer, argv0 string) {
	io.WriteString(w, versionText()+"\n")
	fmt.Fprintf(w, extensionsText, argv0)
}
