package render

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/ipvsadm-go/ipvsadm/internal/names"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/sched"
)

// WritePrediction writes -L SERVICE --predict: the service line as -L
// prints it; then for one client its real server, for several the count
// and share of each real server; with a what-if the same beside it and the
// clients that move; then the notes, "Uncertain:" for those that rest on
// state the kernel does not export.
func WritePrediction(w io.Writer, s *rules.Service, pr *sched.Prediction, what sched.WhatIf, o ListOptions, r names.Resolver) error {
	proto := s.Protocol
	if s.FWMark != 0 {
		proto = 0
	}
	server := func(ap netip.AddrPort) string {
		if !ap.IsValid() {
			return "no real server"
		}
		return AddrPortText(ap.Addr(), ap.Port(), proto, o.Numeric, r)
	}
	b := appendServiceLine(nil, s, formatDefault, o, r)
	if pr.Clients == 1 && len(pr.Assigned) == 1 {
		a := pr.Assigned[0]
		client := AddrText(a.Client.Addr())
		if pr.WithPorts {
			client = AddrPortText(a.Client.Addr(), a.Client.Port(), proto, true, r)
		}
		b = fmt.Appendf(b, "  %s -> %s", client, server(a.Now))
		if pr.HasWhatIf {
			b = fmt.Appendf(b, "; what if %s -> %s", whatIfText(what), server(a.Then))
			if a.Then != a.Now {
				b = append(b, " (moves)"...)
			}
		}
		b = append(b, '\n')
	} else {
		b = fmt.Appendf(b, "  %d clients", pr.Clients)
		if pr.HasWhatIf {
			b = fmt.Appendf(b, "; what if %s", whatIfText(what))
		}
		b = append(b, "\n  -> RemoteAddress:Port           Weight    Clients   Share"...)
		if pr.HasWhatIf {
			b = append(b, "  What-if: Weight    Clients   Share"...)
		}
		b = append(b, '\n')
		row := func(name string, weight string, now uint64, thenWeight string, then uint64, removed bool) {
			b = fmt.Appendf(b, "  -> %-28s %-6s %10d %6s", name, weight, now, share(now, pr.Clients))
			switch {
			case removed:
				b = append(b, "           removed"...)
			case pr.HasWhatIf:
				b = fmt.Appendf(b, "           %-6s %10d %6s", thenWeight, then, share(then, pr.Clients))
			}
			b = append(b, '\n')
		}
		for _, sc := range pr.Servers {
			weight := fmt.Sprint(sc.Weight)
			if sc.Added {
				weight = "added"
			}
			row(server(sc.Server), weight, sc.Now, fmt.Sprint(sc.ThenWeight), sc.Then, sc.Removed)
		}
		if pr.NoneNow != 0 || pr.NoneThen != 0 {
			row("no real server", "", pr.NoneNow, "", pr.NoneThen, false)
		}
		if pr.HasWhatIf {
			b = fmt.Appendf(b, "  %d of %d clients move (%s)", pr.Moved, pr.Clients, strings.TrimSpace(share(pr.Moved, pr.Clients)))
			if len(pr.Moves) > 0 {
				b = append(b, ':')
			}
			b = append(b, '\n')
			for _, m := range pr.Moves {
				b = fmt.Appendf(b, "    %s -> %s: %d\n", server(m.From), server(m.To), m.Clients)
			}
		}
	}
	for _, n := range pr.Notes {
		label := "Note"
		if n.Uncertain {
			label = "Uncertain"
		}
		b = fmt.Appendf(b, "%s: %s.\n", label, n.Text)
	}
	_, err := w.Write(b)
	return err
}

// share is n of total as a percentage with one decimal.
func share(n, total uint64) string {
	if total == 0 {
		return "0.0%"
	}
	return fmt.Sprintf("%.1f%%", float64(n)*100/float64(total))
}

// whatIfText renders --without and --with as given.
func whatIfText(w sched.WhatIf) string {
	var parts []string
	for _, ap := range w.Without {
		parts = append(parts, "without "+endpointText(ap))
	}
	for _, r := range w.With {
		parts = append(parts, fmt.Sprintf("with %s=%d", endpointText(r.Server), r.Weight))
	}
	return strings.Join(parts, ", ")
}

func endpointText(ap netip.AddrPort) string {
	if ap.Port() == 0 {
		return AddrText(ap.Addr())
	}
	if ap.Addr().Is6() {
		return "[" + AddrText(ap.Addr()) + "]:" + fmt.Sprint(ap.Port())
	}
	return AddrText(ap.Addr()) + ":" + fmt.Sprint(ap.Port())
}
