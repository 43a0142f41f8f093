package render

import (
	"encoding/binary"
	"net/netip"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// ipvsadm sorts with glibc's qsort, which for these element sizes is a
// top-down merge sort, and with comparators built on wrapping 32-bit
// subtraction. Those comparators are not a total order (200.0.0.1 sorts
// before 10.0.0.1, fwmarks of 2^31 and more before everything), so the
// output depends on the exact algorithm and on the input order. Both are
// reproduced here instead of using package sort or slices.

// SortServices sorts entries in place into ipvsadm's listing order. The
// input must be in the kernel's dump order for the result to match ipvsadm.
// Only the services are reordered; each entry's Dests are left alone (see
// SortDests).
func SortServices(entries []rules.ServiceEntry) {
	applyOrder(entries, serviceOrder(entries))
}

// serviceOrder returns the positions of entries in the order SortServices
// puts them in, without moving them. Each service's sort key is taken
// once: a comparison then reads 28 bytes instead of decoding addresses.
func serviceOrder(entries []rules.ServiceEntry) []int32 {
	n := len(entries)
	keys := make([]serviceSortKey, n)
	for i := range entries {
		keys[i] = serviceSortKeyOf(&entries[i].Service)
	}
	idx := make([]int32, 2*n)
	perm, tmp := idx[:n:n], idx[n:]
	for i := range perm {
		perm[i] = int32(i)
	}
	mergeSort(perm, tmp, func(a, b int32) int { return compareServiceKeys(&keys[a], &keys[b]) })
	return perm
}

// A serviceSortKey is what ipvsadm's service comparator reads of a
// service.
type serviceSortKey struct {
	fwmark uint32
	family rules.Family
	proto  rules.Protocol
	port   uint16
	addr   [4]uint32
}

func serviceSortKeyOf(s *rules.Service) serviceSortKey {
	p, a, port := serviceIdentity(s)
	return serviceSortKey{fwmark: s.FWMark, family: s.Family, proto: p, port: port, addr: a}
}

// compareServiceKeys is ipvsadm's service comparator, on sort keys. Fields
// are taken as the kernel reports them: a fwmark service has no protocol,
// address or port.
func compareServiceKeys(a, b *serviceSortKey) int {
	if r := int32(a.fwmark - b.fwmark); r != 0 {
		return int(r)
	}
	if r := int(a.family) - int(b.family); r != 0 {
		return r
	}
	if r := int(a.proto) - int(b.proto); r != 0 {
		return r
	}
	if r := compareAddrWords(a.family, a.addr, b.addr); r != 0 {
		return r
	}
	return int(a.port) - int(b.port)
}

// SortDests sorts dests in place into ipvsadm's listing order: by address,
// then port, with the same wrap-around quirks as SortServices. The input
// must be in the kernel's dump order (newest first) for the result to match
// ipvsadm.
func SortDests(dests []rules.Destination) {
	sortByIndex(dests, compareDestinations)
}

// A destSorter orders the real servers of one service after another as
// SortDests would, without moving them: each one's sort key is taken
// once, and the scratch space is reused from service to service.
type destSorter struct {
	keys []destSortKey
	idx  []int32
}

// A destSortKey is what compareDestinations reads of a real server.
type destSortKey struct {
	family rules.Family
	port   uint16
	addr   [4]uint32
}

// order returns the positions of e's real servers in SortDests' order,
// valid until the next call.
func (s *destSorter) order(e *rules.ServiceEntry) []int32 {
	s.keys = s.keys[:0]
	if e.Brief != nil {
		for i := range e.Brief {
			d := &e.Brief[i]
			k := destSortKey{family: d.Family, port: d.Port}
			k.addr[0] = binary.BigEndian.Uint32(d.IP[0:])
			if d.Family == rules.IPv6 {
				k.addr[1] = binary.BigEndian.Uint32(d.IP[4:])
				k.addr[2] = binary.BigEndian.Uint32(d.IP[8:])
				k.addr[3] = binary.BigEndian.Uint32(d.IP[12:])
			}
			s.keys = append(s.keys, k)
		}
	} else {
		for i := range e.Dests {
			d := &e.Dests[i]
			f := d.Family
			if f == 0 {
				f = rules.FamilyOf(d.Addr)
			}
			s.keys = append(s.keys, destSortKey{family: f, port: d.Port, addr: addrWords(d.Addr)})
		}
	}
	n := len(s.keys)
	if cap(s.idx) < 2*n {
		s.idx = make([]int32, 2*n)
	}
	perm, tmp := s.idx[:n:n], s.idx[n:2*n]
	for i := range perm {
		perm[i] = int32(i)
	}
	keys := s.keys
	if orderedIPv4(keys) {
		// The comparator is a plain order here: any stable sort gives
		// the merge sort's result, and a short list sorts faster by
		// insertion.
		for i := 1; i < n; i++ {
			p := perm[i]
			j := i
			for ; j > 0 && lessIPv4(&keys[p], &keys[perm[j-1]]); j-- {
				perm[j] = perm[j-1]
			}
			perm[j] = p
		}
		return perm
	}
	mergeSort(perm, tmp, func(a, b int32) int {
		ka, kb := &keys[a], &keys[b]
		if r := compareAddrWords(ka.family, ka.addr, kb.addr); r != 0 {
			return r
		}
		return int(ka.port) - int(kb.port)
	})
	return perm
}

// orderedIPv4 reports whether ipvsadm's real-server comparator is a plain
// order of keys (address, then port): all are IPv4 and their addresses
// lie within 2^31 of each other, so that the wrapping subtraction never
// wraps. It answers only for short lists, where insertion sort pays.
func orderedIPv4(keys []destSortKey) bool {
	if len(keys) > smallSort {
		return false
	}
	lo, hi := ^uint32(0), uint32(0)
	for i := range keys {
		if keys[i].family != rules.IPv4 {
			return false
		}
		lo, hi = min(lo, keys[i].addr[0]), max(hi, keys[i].addr[0])
	}
	return hi-lo < 1<<31
}

// lessIPv4 orders keys of orderedIPv4 lists.
func lessIPv4(a, b *destSortKey) bool {
	if a.addr[0] != b.addr[0] {
		return a.addr[0] < b.addr[0]
	}
	return a.port < b.port
}

// smallSort is the length up to which sortByIndex needs no allocation.
const smallSort = 16

// sortByIndex merge-sorts the positions of s's elements, then moves each
// element once: the elements are a few hundred bytes, which a merge sort
// would copy at every level.
func sortByIndex[T any](s []T, cmp func(a, b *T) int) {
	n := len(s)
	if n <= 1 {
		return
	}
	var small [2 * smallSort]int32
	var idx []int32
	if n <= smallSort {
		idx = small[:2*n]
	} else {
		idx = make([]int32, 2*n)
	}
	perm, tmp := idx[:n], idx[n:]
	for i := range perm {
		perm[i] = int32(i)
	}
	mergeSort(perm, tmp, func(a, b int32) int { return cmp(&s[a], &s[b]) })
	applyOrder(s, perm)
}

// applyOrder moves the elements of s into the order perm gives (perm[i]
// is the position of the element that goes to i), each element once;
// perm is left as the identity.
func applyOrder[T any](s []T, perm []int32) {
	// Element i goes where perm says: follow each cycle once.
	for i := range perm {
		if int(perm[i]) == i {
			continue
		}
		saved := s[i]
		j := i
		for {
			next := int(perm[j])
			perm[j] = int32(j)
			if next == i {
				s[j] = saved
				break
			}
			s[j] = s[next]
			j = next
		}
	}
}

// mergeSort is glibc's msort_with_tmp over positions: split at n/2, sort
// both halves, merge taking from the left half while cmp(left, right) <= 0.
func mergeSort(s, tmp []int32, cmp func(a, b int32) int) {
	n := len(s)
	if n <= 1 {
		return
	}
	n1 := n / 2
	left, right := s[:n1], s[n1:]
	mergeSort(left, tmp[:n1], cmp)
	mergeSort(right, tmp[n1:], cmp)

	i, j, k := 0, 0, 0
	for i < len(left) && j < len(right) {
		if cmp(left[i], right[j]) <= 0 {
			tmp[k] = left[i]
			i++
		} else {
			tmp[k] = right[j]
			j++
		}
		k++
	}
	k += copy(tmp[k:], left[i:])
	// Whatever is left of the right half is already in place.
	copy(s, tmp[:k])
}

// serviceIdentity returns the protocol, address words and port the kernel
// would report for s.
func serviceIdentity(s *rules.Service) (rules.Protocol, [4]uint32, uint16) {
	if s.FWMark != 0 {
		return 0, [4]uint32{}, 0
	}
	return s.Protocol, addrWords(s.Addr), s.Port
}

// compareDestinations is ipvsadm's real-server comparator: address (with
// a's family deciding between one and four words), then port.
func compareDestinations(a, b *rules.Destination) int {
	fam := a.Family
	if fam == 0 {
		fam = rules.FamilyOf(a.Addr)
	}
	if r := compareAddrWords(fam, addrWords(a.Addr), addrWords(b.Addr)); r != 0 {
		return r
	}
	return int(a.Port) - int(b.Port)
}

// compareAddrWords compares addresses in host-order 32-bit words with
// wrapping subtraction: all four words for IPv6, only the first otherwise.
func compareAddrWords(f rules.Family, a, b [4]uint32) int {
	n := 1
	if f == rules.IPv6 {
		n = 4
	}
	for i := 0; i < n; i++ {
		if r := int32(a[i] - b[i]); r != 0 {
			return int(r)
		}
	}
	return 0
}

// addrWords lays an address out like the C union nf_inet_addr, as host-order
// words: an IPv4 address fills the first word, the rest stays zero.
func addrWords(addr netip.Addr) [4]uint32 {
	var w [4]uint32
	switch {
	case !addr.IsValid():
	case addr.Is4():
		b := addr.As4()
		w[0] = binary.BigEndian.Uint32(b[:])
	default:
		b := addr.As16()
		for i := range w {
			w[i] = binary.BigEndian.Uint32(b[4*i:])
		}
	}
	return w
}
