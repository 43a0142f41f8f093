package sched

// This file holds the positional schedulers rr and wrr (ip_vs_rr.c,
// ip_vs_wrr.c). Both walk the list from a remembered server; the position
// lives in Model.cursor.

// available is rr's and wrr's test, with wrr's weight floor.
func (s *Server) available(minWeight int32) bool { return !s.Overloaded && s.Weight >= minWeight }

// rr returns the first available server after the cursor, going round
// the list once; the cursor itself is tried last.
func (m *Model) rr() int {
	n := len(m.servers)
	start := m.cursor + 1 // 0 from the head
	for k := range n {
		i := (start + k) % n
		if m.servers[i].available(1) {
			m.cursor = i
			return i
		}
	}
	return -1
}

// A wrrMark is wrr's state besides the current server: the gcd of the
// weights (di), the maximum weight less di-1 (mw) and the current weight
// floor (cw).
type wrrMark struct{ di, mw, cw int32 }

func gcd(a, b int32) int32 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// wrrWeights returns the gcd (1 when no weight is positive) and the
// maximum of the weights.
func (m *Model) wrrWeights() (g, maxW int32) {
	for _, s := range m.servers {
		if s.Weight > 0 {
			if g > 0 {
				g = gcd(s.Weight, g)
			} else {
				g = s.Weight
			}
		}
		maxW = max(maxW, s.Weight)
	}
	if g == 0 {
		g = 1
	}
	return g, maxW
}

// wrrInit is wrr's init_service: the head, and cw at the maximum.
func (m *Model) wrrInit() {
	m.cursor = -1
	g, maxW := m.wrrWeights()
	m.wrr = wrrMark{di: g, mw: maxW - (g - 1)}
	m.wrr.cw = m.wrr.mw
}

// wrrChanged is wrr's hook on every add, edit and delete: back to the
// head, cw kept but realigned to the new gcd.
func (m *Model) wrrChanged() {
	m.cursor = -1
	g, maxW := m.wrrWeights()
	w := &m.wrr
	w.di, w.mw = g, maxW-(g-1)
	switch {
	case w.cw > w.mw || w.cw == 0:
		w.cw = w.mw
	case w.di > 1:
		w.cw = w.cw/w.di*w.di + 1
	}
}

// wrrSchedule walks the list from the current server for one whose weight
// reaches cw, lowering cw by the gcd at each end of the list, and gives up
// once every server was tried at the lowest cw.
func (m *Model) wrrSchedule() int {
	w := &m.wrr
	if w.mw == 0 {
		return -1
	}
	last := m.cursor
	stop := -2 // no server
	lastPass, restarted := false, false
	i := m.cursor
	for {
		for i++; i < len(m.servers); i++ {
			if m.servers[i].available(w.cw) {
				m.cursor = i
				return i
			}
			if i == stop {
				m.cursor = i
				return -1
			}
		}
		i = -1 // the head
		w.cw -= w.di
		if w.cw <= 0 {
			w.cw = w.mw
			if lastPass || last == -1 {
				m.cursor = -1
				return -1
			}
			restarted = true
		}
		lastPass = w.cw <= w.di
		if lastPass && restarted && last != -1 {
			stop = last
		}
	}
}
