package render

import "strconv"

// AppendLargeNum appends a counter or rate the way ipvsadm's
// print_largenum prints it, including the leading space that separates the columns of --stats
// and --rate listings.
//
// With exact the number is printed in full, right-aligned in at least nine
// columns and always preceded by a space. Otherwise values of 10^8 and more
// are divided (truncating) by 10^3, 10^6, 10^9 or 10^12 and get a K, M, G or
// T suffix in a nine-column field. Values too wide for their field are not
// cut, so adjacent columns can run together ("100G18446744T"), exactly as in
// ipvsadm.
func AppendLargeNum(b []byte, v uint64, exact bool) []byte {
	if exact {
		// At least nine columns, and always a separating space.
		if v >= 100_000_000 {
			return strconv.AppendUint(append(b, ' '), v, 10)
		}
		return AppendUintWidth(b, v, 9)
	}
	var unit byte
	switch {
	case v < 100_000_000:
		return AppendUintWidth(b, v, 9)
	case v < 1_000_000_000:
		v, unit = v/1_000, 'K'
	case v < 100_000_000_000:
		v, unit = v/1_000_000, 'M'
	case v < 100_000_000_000_000:
		v, unit = v/1_000_000_000, 'G'
	default:
		v, unit = v/1_000_000_000_000, 'T'
	}
	return append(AppendUintWidth(b, v, 8), unit)
}
