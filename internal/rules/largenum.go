package rules

import (
	"fmt"
	"strconv"
)

// FormatLargeNum renders a counter or rate the way ipvsadm's print_largenum
// does, including the leading space that separates the columns of --stats
// and --rate listings.
//
// With exact the number is printed in full, right-aligned in at least nine
// columns and always preceded by a space. Otherwise values of 10^8 and more
// are divided (truncating) by 10^3, 10^6, 10^9 or 10^12 and get a K, M, G or
// T suffix in a nine-column field. Values too wide for their field are not
// cut, so adjacent columns can run together ("100G18446744T"), exactly as in
// ipvsadm.
func FormatLargeNum(v uint64, exact bool) string {
	if exact {
		digits := len(strconv.FormatUint(v, 10))
		width := digits + 1
		if digits <= 8 {
			width = 9
		}
		return fmt.Sprintf("%*d", width, v)
	}
	switch {
	case v < 100_000_000:
		return fmt.Sprintf("%9d", v)
	case v < 1_000_000_000:
		return fmt.Sprintf("%8dK", v/1_000)
	case v < 100_000_000_000:
		return fmt.Sprintf("%8dM", v/1_000_000)
	case v < 100_000_000_000_000:
		return fmt.Sprintf("%8dG", v/1_000_000_000)
	}
	return fmt.Sprintf("%8dT", v/1_000_000_000_000)
}
