package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/moby/ipvs"
)

// A change is one request of a restore: a new service (dest nil) or a new
// real server of svc; line is its line in the rule file.
type change struct {
	svc  *ipvs.Service
	dest *ipvs.Destination
	line int
}

// parseRules reads the subset of `ipvsadm -Sn` that the benchmark
// generates (internal/testkit.BenchRules), exactly:
//
//	-A -t IPV4:PORT -s SCHED
//	-a -t IPV4:PORT -r IPV4:PORT -m -w WEIGHT
//
// a real server's service defined on an earlier line. Anything else (other
// options, protocols, IPv6, comments) is refused with its line number: this
// is a benchmark driver, not a second rule parser.
func parseRules(r io.Reader) ([]change, error) {
	var changes []change
	services := map[string]*ipvs.Service{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		bad := func(why string) error {
			return fmt.Errorf("rule file line %d: %s: %q (only `-A -t IPV4:PORT -s SCHED` and `-a -t IPV4:PORT -r IPV4:PORT -m -w WEIGHT` are read)", n, why, sc.Text())
		}
		switch {
		case len(f) == 5 && f[0] == "-A" && f[1] == "-t" && f[3] == "-s":
			ip, port, err := ipv4Port(f[2])
			if err != nil {
				return nil, bad(err.Error())
			}
			if !isSchedName(f[4]) {
				return nil, bad("bad scheduler name")
			}
			if services[f[2]] != nil {
				return nil, bad("service defined twice")
			}
			// The fields kube-proxy's IPVS interface fills for a TCP
			// service without session affinity.
			s := &ipvs.Service{
				AddressFamily: syscall.AF_INET,
				Protocol:      syscall.IPPROTO_TCP,
				Address:       ip,
				Port:          port,
				SchedName:     f[4],
				Netmask:       0xffffffff,
			}
			services[f[2]] = s
			changes = append(changes, change{svc: s, line: n})
		case len(f) == 8 && f[0] == "-a" && f[1] == "-t" && f[3] == "-r" && f[5] == "-m" && f[6] == "-w":
			s := services[f[2]]
			if s == nil {
				return nil, bad("real server of a service not defined before")
			}
			ip, port, err := ipv4Port(f[4])
			if err != nil {
				return nil, bad(err.Error())
			}
			w, err := strconv.ParseUint(f[7], 10, 16)
			if err != nil {
				return nil, bad("bad weight")
			}
			d := &ipvs.Destination{
				AddressFamily:   syscall.AF_INET,
				Address:         ip,
				Port:            port,
				Weight:          int(w),
				ConnectionFlags: ipvs.ConnectionFlagMasq,
			}
			changes = append(changes, change{svc: s, dest: d, line: n})
		default:
			return nil, bad("unsupported line")
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("rule file: %w", err)
	}
	return changes, nil
}

// ipv4Port reads IPV4:PORT (a port 1..65535).
func ipv4Port(s string) (net.IP, uint16, error) {
	host, ps, ok := strings.Cut(s, ":")
	ip := net.ParseIP(host).To4()
	if !ok || ip == nil || strings.Contains(host, ":") {
		return nil, 0, fmt.Errorf("not IPV4:PORT")
	}
	p, err := strconv.ParseUint(ps, 10, 16)
	if err != nil || p == 0 {
		return nil, 0, fmt.Errorf("bad port")
	}
	return ip, uint16(p), nil
}

// isSchedName accepts a kernel scheduler module's name (lower-case letters).
func isSchedName(s string) bool {
	if s == "" || len(s) > 15 {
		return false
	}
	for _, c := range s {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
