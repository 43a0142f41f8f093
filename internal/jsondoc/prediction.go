package jsondoc

import (
	"net/netip"

	"github.com/ipvsadm-go/ipvsadm/internal/sched"
)

// Prediction is -L SERVICE --predict: which real server the clients would
// get, and with --with/--without where they would go instead.
type Prediction struct {
	Scheduler string `json:"scheduler"`
	// Determinism is "hashing", "positional" or "counting": what the
	// scheduler's choice depends on.
	Determinism string `json:"determinism"`
	// Certain is false when the answer depends on state the kernel does
	// not export (see the notes that are uncertain).
	Certain     bool                  `json:"certain"`
	Clients     uint64                `json:"clients"`
	WhatIf      *WhatIf               `json:"what_if"` // null without --with/--without
	RealServers []PredictedServer     `json:"real_servers"`
	NoServer    PredictedCount        `json:"no_server"` // clients no real server takes
	Moved       *uint64               `json:"moved"`     // null without a what-if
	Moves       []PredictedMove       `json:"moves"`     // null without a what-if
	Assignments []PredictedAssignment `json:"assignments"`
	Notes       []PredictionNote      `json:"notes"`
}

// WhatIf is the hypothetical change of --with and --without.
type WhatIf struct {
	Without []Endpoint       `json:"without"` // port 0: every real server of the address
	With    []WeightedServer `json:"with"`
}

// An Endpoint is an address and port.
type Endpoint struct {
	Address string `json:"address"`
	Port    uint16 `json:"port"`
}

// A WeightedServer is one --with.
type WeightedServer struct {
	Address string `json:"address"`
	Port    uint16 `json:"port"`
	Weight  int32  `json:"weight"`
}

// PredictedCount counts clients now and with the what-if.
type PredictedCount struct {
	Clients       uint64  `json:"clients"`
	WhatIfClients *uint64 `json:"what_if_clients"`
}

// A PredictedServer is a real server with the clients it would get.
type PredictedServer struct {
	Address       string  `json:"address"`
	Port          uint16  `json:"port"`
	Weight        *int32  `json:"weight"` // null for a server the what-if adds
	WhatIfWeight  *int32  `json:"what_if_weight"`
	Removed       bool    `json:"removed"`
	Added         bool    `json:"added"`
	Clients       uint64  `json:"clients"`
	WhatIfClients *uint64 `json:"what_if_clients"`
}

// A PredictedMove counts clients that change real server with the
// what-if; a null end is "no real server".
type PredictedMove struct {
	From    *Endpoint `json:"from"`
	To      *Endpoint `json:"to"`
	Clients uint64    `json:"clients"`
}

// A PredictedAssignment is one client's answer.
type PredictedAssignment struct {
	ClientAddress    string    `json:"client_address"`
	ClientPort       uint16    `json:"client_port"`
	RealServer       *Endpoint `json:"real_server"`
	WhatIfRealServer *Endpoint `json:"what_if_real_server"`
}

// A PredictionNote says what the answer rests on.
type PredictionNote struct {
	Code      string `json:"code"`
	Text      string `json:"text"`
	Uncertain bool   `json:"uncertain"`
}

func endpointOf(ap netip.AddrPort) *Endpoint {
	if !ap.IsValid() {
		return nil
	}
	return &Endpoint{Address: ap.Addr().String(), Port: ap.Port()}
}

// PredictionOf converts a prediction made with w.
func PredictionOf(pr *sched.Prediction, w sched.WhatIf) *Prediction {
	out := &Prediction{Scheduler: pr.Scheduler, Determinism: pr.Determinism.String(), Certain: pr.Certain,
		Clients: pr.Clients, NoServer: PredictedCount{Clients: pr.NoneNow}, RealServers: []PredictedServer{},
		Notes: []PredictionNote{}}
	if pr.HasWhatIf {
		wi := &WhatIf{Without: []Endpoint{}, With: []WeightedServer{}}
		for _, ap := range w.Without {
			wi.Without = append(wi.Without, Endpoint{ap.Addr().String(), ap.Port()})
		}
		for _, r := range w.With {
			wi.With = append(wi.With, WeightedServer{r.Server.Addr().String(), r.Server.Port(), r.Weight})
		}
		out.WhatIf = wi
		out.NoServer.WhatIfClients = ptr(pr.NoneThen)
		out.Moved = ptr(pr.Moved)
		out.Moves = []PredictedMove{}
		for _, m := range pr.Moves {
			out.Moves = append(out.Moves, PredictedMove{From: endpointOf(m.From), To: endpointOf(m.To), Clients: m.Clients})
		}
	}
	for _, s := range pr.Servers {
		ps := PredictedServer{Address: s.Server.Addr().String(), Port: s.Server.Port(), Removed: s.Removed, Added: s.Added, Clients: s.Now}
		if !s.Added {
			ps.Weight = ptr(s.Weight)
		}
		if pr.HasWhatIf {
			ps.WhatIfClients = ptr(s.Then)
			if !s.Removed {
				ps.WhatIfWeight = ptr(s.ThenWeight)
			}
		}
		out.RealServers = append(out.RealServers, ps)
	}
	if pr.Assigned != nil {
		out.Assignments = []PredictedAssignment{}
		for _, a := range pr.Assigned {
			pa := PredictedAssignment{ClientAddress: a.Client.Addr().String(), ClientPort: a.Client.Port(), RealServer: endpointOf(a.Now)}
			if pr.HasWhatIf {
				pa.WhatIfRealServer = endpointOf(a.Then)
			}
			out.Assignments = append(out.Assignments, pa)
		}
	}
	for _, n := range pr.Notes {
		out.Notes = append(out.Notes, PredictionNote{Code: n.Code, Text: n.Text, Uncertain: n.Uncertain})
	}
	return out
}
