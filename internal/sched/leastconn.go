package sched

// This file holds the schedulers that choose by connection counters: lc,
// wlc, sed, nq (ip_vs_lc.c, ip_vs_wlc.c, ip_vs_sed.c, ip_vs_nq.c), fo and
// ovf (ip_vs_fo.c, ip_vs_ovf.c). Each walks the list in order and keeps
// the earlier server on ties.

// An overhead is a server's load as wlc-like schedulers weigh it.
type overhead func(*Server) int64

// overheadConns is the kernel's ip_vs_dest_conn_overhead: active
// connections count 256 times an inactive one.
func overheadConns(s *Server) int64 { return int64(int32(s.ActiveConns<<8 + s.InactiveConns)) }

// overheadSED is sed's and nq's expected delay: active connections + 1.
func overheadSED(s *Server) int64 { return int64(int32(s.ActiveConns + 1)) }

// lc picks the smallest overhead among servers that are not overloaded
// and have a weight (compared unsigned, as the kernel does).
func (m *Model) lc() int {
	least, loh := -1, uint32(0)
	for i := range m.servers {
		s := &m.servers[i]
		if s.Overloaded || s.Weight == 0 {
			continue
		}
		doh := s.ActiveConns<<8 + s.InactiveConns
		if least < 0 || doh < loh {
			least, loh = i, doh
		}
	}
	return least
}

// wlc (and sed, with its overhead) starts from the first server with a
// weight that is not overloaded, then takes any later server that is not
// overloaded and has a smaller overhead per weight (cross-multiplied in
// 64 bits); a weight of 0 never wins there.
func (m *Model) wlc(oh overhead) int {
	least := -1
	for i := range m.servers {
		if s := &m.servers[i]; !s.Overloaded && s.Weight > 0 {
			least = i
			break
		}
	}
	if least < 0 {
		return -1
	}
	loh := oh(&m.servers[least])
	for i := least + 1; i < len(m.servers); i++ {
		s := &m.servers[i]
		if s.Overloaded {
			continue
		}
		doh := oh(s)
		if loh*int64(s.Weight) > doh*int64(m.servers[least].Weight) {
			least, loh = i, doh
		}
	}
	return least
}

// nq returns the first server with a weight, not overloaded and without
// active connections; failing that it is sed over those servers.
func (m *Model) nq() int {
	least, loh := -1, int64(0)
	for i := range m.servers {
		s := &m.servers[i]
		if s.Overloaded || s.Weight == 0 {
			continue
		}
		doh := overheadSED(s)
		if s.ActiveConns == 0 {
			return i
		}
		if least < 0 || loh*int64(s.Weight) > doh*int64(m.servers[least].Weight) {
			least, loh = i, doh
		}
	}
	return least
}

// fo picks the first server of the highest weight that is not overloaded.
func (m *Model) fo() int {
	best, hw := -1, int32(0)
	for i := range m.servers {
		if s := &m.servers[i]; !s.Overloaded && s.Weight > hw {
			best, hw = i, s.Weight
		}
	}
	return best
}

// ovf picks the first server of the highest weight among those with a
// weight, not overloaded and with no more active connections than their
// weight.
func (m *Model) ovf() int {
	best := -1
	for i := range m.servers {
		s := &m.servers[i]
		if s.Overloaded || s.Weight == 0 || int64(int32(s.ActiveConns)) > int64(s.Weight) {
			continue
		}
		if best < 0 || s.Weight > m.servers[best].Weight {
			best = i
		}
	}
	return best
}
