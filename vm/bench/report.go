package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

func median(ss []sample, f func(sample) time.Duration) float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s).Seconds()
	}
	sort.Float64s(v)
	n := len(v)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

const memTargetMiB = 64

func (b *runner) report() string {
	var w strings.Builder
	hdr := []string{"workload", "ipvsadm median s", "ours median s", "ratio", "ipvsadm sys s", "ours sys s",
		"ipvsadm maxRSS MiB", "ours maxRSS MiB", "target (ratio; ours mem < 64 MiB)"}
	rows := [][]string{hdr}
	detail := [][]string{{"workload", "ipvsadm user s", "ipvsadm sys s", "ours user s", "ours sys s", "rounds"}}
	pass, miss := 0, 0
	var vs []string
	windows := [][]string{{"workload", "ipvsadm window s", "ipvsadm longest s", "ours window s", "ours longest s", "ours worst window s", "target"}}
	var mobyRows []*workload
	for _, r := range b.rows {
		if strings.HasPrefix(r.kind, "moby-") {
			mobyRows = append(mobyRows, r)
			continue
		}
		wall := func(s sample) time.Duration { return s.wall }
		user := func(s sample) time.Duration { return s.user }
		sys := func(s sample) time.Duration { return s.sys }
		rw, ow := median(r.samples[0], wall), median(r.samples[1], wall)
		ratio := rw / ow
		var want float64
		switch r.kind {
		case "restore":
			want = 10
		case "list":
			want = 3
		case "wide":
			want = 1 // no slower than ipvsadm 1.31
		case "converge":
			want = 50
		default:
			want = 1
		}
		verdict := func(ok bool) string {
			if ok {
				pass++
				return "PASS"
			}
			miss++
			return "MISS"
		}
		oursMem := float64(r.maxRSS[1]) / 1024
		vsText := ""
		if r.vs != "" {
			vsText = " vs " + r.vs
		}
		target := fmt.Sprintf(">=%gx%s %s, mem %s", want, vsText, verdict(ratio >= want), verdict(oursMem < memTargetMiB))
		name := r.name
		if r.vs != "" {
			name += " *"
		}
		refMem := "-" // not measured
		if r.maxRSS[0] > 0 {
			refMem = fmt.Sprintf("%.1f", float64(r.maxRSS[0])/1024)
		}
		rows = append(rows, []string{name,
			fmt.Sprintf("%.3f", rw), fmt.Sprintf("%.3f", ow), fmt.Sprintf("%.2fx", ratio),
			fmt.Sprintf("%.3f", median(r.samples[0], sys)), fmt.Sprintf("%.3f", median(r.samples[1], sys)),
			refMem, fmt.Sprintf("%.1f", oursMem), target})
		if r.vs != "" {
			vs = append(vs, fmt.Sprintf("* %s: the ipvsadm columns hold %s of the same table (the target: no slower than it).", r.name, r.vs))
		}
		if len(r.windows[0])+len(r.windows[1]) > 0 {
			ok := maxTotal(r.windows[1]) == 0
			windows = append(windows, []string{r.name,
				fmt.Sprintf("%.3f", medianWindow(r.windows[0], false)), fmt.Sprintf("%.3f", medianWindow(r.windows[0], true)),
				fmt.Sprintf("%.3f", medianWindow(r.windows[1], false)), fmt.Sprintf("%.3f", medianWindow(r.windows[1], true)),
				fmt.Sprintf("%.3f", maxTotal(r.windows[1]).Seconds()), fmt.Sprintf("ours 0 in every round %s", verdict(ok))})
		}
		detail = append(detail, []string{r.name,
			fmt.Sprintf("%.3f", median(r.samples[0], user)), fmt.Sprintf("%.3f", median(r.samples[0], sys)),
			fmt.Sprintf("%.3f", median(r.samples[1], user)), fmt.Sprintf("%.3f", median(r.samples[1], sys)),
			strconv.Itoa(len(r.samples[0]))})
	}
	fmt.Fprintln(&w, "ipvsadm 1.31 (reference) vs ours: medians of wall time (process start to exit) over alternating rounds;")
	fmt.Fprintln(&w, "ratio = ipvsadm/ours (higher is better for ours); sys = median system CPU (rusage);")
	fmt.Fprintln(&w, "maxRSS = ru_maxrss of one extra (warm-up) run of each tool under busybox time, not polluted by the driver.")
	fmt.Fprintln(&w, "restore = into an empty table in a new network namespace (no IPVS dest trash: see vm/bench).")
	fmt.Fprintln(&w)
	writeTable(&w, rows)
	for _, v := range vs {
		fmt.Fprintln(&w, v)
	}
	if len(windows) > 1 {
		fmt.Fprintln(&w)
		fmt.Fprintln(&w, "Flush window while converging (ipvsadm: -C then -R; ours: -R --replace): medians over the rounds of the time during")
		fmt.Fprintf(&w, "which some of %d probed services that both tables hold was missing, and of the longest gap of one service\n", probeServices)
		fmt.Fprintf(&w, "(a prober in the driver looks them up by key over netlink, one lookup per %v):\n", probePace)
		writeTable(&w, windows)
	}
	if len(mobyRows) > 0 {
		fmt.Fprintln(&w)
		p, m := b.mobyTable(&w, mobyRows)
		pass, miss = pass+p, miss+m
	}
	fmt.Fprintln(&w)
	fmt.Fprintf(&w, "targets: %d PASS, %d MISS (restore >=10x, -Ln/-Sn/--stats >=3x, converge 1%% >=50x with a flush window of 0, -R --replace of no change no slower than ours -Sn, -Ln --json no slower than ours -Ln, single commands, -C and one service of many real servers >=1x, ours peak memory < %d MiB; restore and listing with counters >=3x moby/ipvs; informational)\n", pass, miss, memTargetMiB)
	fmt.Fprintln(&w)
	fmt.Fprintln(&w, "CPU time split (medians, seconds):")
	writeTable(&w, detail)
	fmt.Fprintln(&w)
	for _, n := range b.notes {
		fmt.Fprintln(&w, "note: "+n)
	}
	return w.String()
}

func writeTable(w io.Writer, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	for k, r := range rows {
		var line []string
		for i, c := range r {
			if i == 0 || i == len(r)-1 {
				line = append(line, fmt.Sprintf("%-*s", width[i], c))
			} else {
				line = append(line, fmt.Sprintf("%*s", width[i], c))
			}
		}
		fmt.Fprintln(w, strings.TrimRight("| "+strings.Join(line, " | ")+" |", " "))
		if k == 0 {
			var sep []string
			for i := range r {
				sep = append(sep, strings.Repeat("-", width[i]))
			}
			fmt.Fprintln(w, "|-"+strings.Join(sep, "-|-")+"-|")
		}
	}
}

// medianWindow is the median over rounds of the flush windows' total (or,
// with longest, their longest gap), in seconds.
func medianWindow(ws []flushWindow, longest bool) float64 {
	ss := make([]sample, len(ws))
	for i, w := range ws {
		ss[i].wall = w.total
		if longest {
			ss[i].wall = w.longest
		}
	}
	return median(ss, func(s sample) time.Duration { return s.wall })
}

// maxTotal is the largest flush window of the rounds.
func maxTotal(ws []flushWindow) time.Duration {
	var m time.Duration
	for _, w := range ws {
		m = max(m, w.total)
	}
	return m
}

// mobyTable writes the table of ours against moby/ipvs (rows whose column
// 0 holds moby/ipvs) and counts its targets met and missed.
func (b *runner) mobyTable(w io.Writer, rows []*workload) (pass, miss int) {
	wall := func(s sample) time.Duration { return s.wall }
	user := func(s sample) time.Duration { return s.user }
	sys := func(s sample) time.Duration { return s.sys }
	mib := func(kib int64) string {
		if kib == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f", float64(kib)/1024)
	}
	table := [][]string{{"workload", "moby median s", "ours median s", "ours is Nx faster", "moby user s", "moby sys s",
		"ours user s", "ours sys s", "moby maxRSS MiB", "ours maxRSS MiB", "target"}}
	for _, r := range rows {
		mw, ow := median(r.samples[0], wall), median(r.samples[1], wall)
		ratio := mw / ow
		target := "- (informational)"
		if r.kind != "moby-flush" {
			target = ">=3x MISS"
			if ratio >= 3 {
				target = ">=3x PASS"
				pass++
			} else {
				miss++
			}
		}
		table = append(table, []string{r.name,
			fmt.Sprintf("%.3f", mw), fmt.Sprintf("%.3f", ow), fmt.Sprintf("%.2fx", ratio),
			fmt.Sprintf("%.3f", median(r.samples[0], user)), fmt.Sprintf("%.3f", median(r.samples[0], sys)),
			fmt.Sprintf("%.3f", median(r.samples[1], user)), fmt.Sprintf("%.3f", median(r.samples[1], sys)),
			mib(r.maxRSS[0]), mib(r.maxRSS[1]), target})
	}
	fmt.Fprintln(w, "ours vs moby/ipvs v1.1.0 (the Go library of kube-proxy's IPVS mode, Docker, telegraf; driven by vm/bench/moby),")
	fmt.Fprintln(w, "same boot, same rule files, same rounds: restore = NewService/NewDestination, one request per line;")
	fmt.Fprintln(w, "list+counters = GetServices, then GetDestinations per service, every counter printed (to /dev/null), against")
	fmt.Fprintln(w, "the ours command named; -C = Flush. Ours' restore and -C samples are those of the rows above. ratio = moby/ours.")
	writeTable(w, table)
	return pass, miss
}
