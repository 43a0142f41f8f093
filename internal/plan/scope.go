package plan

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// A Scope is the part of the table a replace may touch: services whose
// virtual address lies in one of its prefixes, or whose firewall mark lies
// in one of its ranges. A nil Scope is the whole table.
type Scope []ScopeItem

// A ScopeItem is one prefix or one fwmark range (FWMarkLo > 0).
type ScopeItem struct {
	Prefix             netip.Prefix
	FWMarkLo, FWMarkHi uint32
}

// ParseScope parses a comma-separated list of items: an address prefix
// ("10.1.0.0/16", "2001:db8::/64"), an address (itself alone), or
// "fwmark:N" or "fwmark:N-M" (both families).
func ParseScope(text string) (Scope, error) {
	var sc Scope
	for _, item := range strings.Split(text, ",") {
		it, err := parseScopeItem(item)
		if err != nil {
			return nil, fmt.Errorf("invalid --scope item `%s': %w", item, err)
		}
		sc = append(sc, it)
	}
	return sc, nil
}

func parseScopeItem(item string) (ScopeItem, error) {
	if marks, ok := strings.CutPrefix(item, "fwmark:"); ok {
		lo, hi, isRange := strings.Cut(marks, "-")
		if !isRange {
			hi = lo
		}
		l, err1 := strconv.ParseUint(lo, 10, 32)
		h, err2 := strconv.ParseUint(hi, 10, 32)
		if err1 != nil || err2 != nil || l == 0 || h < l {
			return ScopeItem{}, fmt.Errorf("want fwmark:N or fwmark:N-M with 0 < N <= M")
		}
		return ScopeItem{FWMarkLo: uint32(l), FWMarkHi: uint32(h)}, nil
	}
	if strings.Contains(item, "/") {
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return ScopeItem{}, fmt.Errorf("want an address prefix")
		}
		return ScopeItem{Prefix: p.Masked()}, nil
	}
	a, err := netip.ParseAddr(item)
	if err != nil {
		return ScopeItem{}, fmt.Errorf("want an address, a prefix or fwmark:N[-M]")
	}
	return ScopeItem{Prefix: netip.PrefixFrom(a, a.BitLen())}, nil
}

// Contains reports whether a service with key k is within the scope.
func (sc Scope) Contains(k rules.ServiceKey) bool {
	if sc == nil {
		return true
	}
	for _, it := range sc {
		if k.IsFWMark() {
			if it.FWMarkLo > 0 && k.FWMark >= it.FWMarkLo && k.FWMark <= it.FWMarkHi {
				return true
			}
			continue
		}
		if it.Prefix.IsValid() && it.Prefix.Contains(k.Addr) {
			return true
		}
	}
	return false
}

// String renders the scope as ParseScope reads it.
func (sc Scope) String() string {
	parts := make([]string, len(sc))
	for i, it := range sc {
		switch {
		case it.FWMarkLo == 0:
			parts[i] = it.Prefix.String()
		case it.FWMarkLo == it.FWMarkHi:
			parts[i] = fmt.Sprintf("fwmark:%d", it.FWMarkLo)
		default:
			parts[i] = fmt.Sprintf("fwmark:%d-%d", it.FWMarkLo, it.FWMarkHi)
		}
	}
	return strings.Join(parts, ",")
}
