package sched

import (
	"fmt"
	"strings"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// flagTextMax is how much of the -b argument ipvsadm looks at: it copies
// it into a 128-byte buffer before splitting.
const flagTextMax = 127

// A FlagErrorKind tells why a scheduler flag was refused.
type FlagErrorKind int

// Kinds of FlagError.
const (
	// InvalidFlag is a name ipvsadm does not know at all.
	InvalidFlag FlagErrorKind = iota + 1
	// IncompatibleFlag is a known name that the scheduler does not take,
	// such as sh-port without -s sh.
	IncompatibleFlag
)

// A FlagError is a refused -b item. Its Error text is ipvsadm's message,
// ready for the caller to print as is.
type FlagError struct {
	Flag string // the offending item, as given
	Kind FlagErrorKind
}

// Error returns "invalid scheduler flag `X'" or
// "incompatible scheduler flag `X'".
func (e *FlagError) Error() string {
	if e.Kind == IncompatibleFlag {
		return fmt.Sprintf("incompatible scheduler flag `%s'", e.Flag)
	}
	return fmt.Sprintf("invalid scheduler flag `%s'", e.Flag)
}

// A flagName is one -b name: the service flag bit it stands for and the
// scheduler it needs ("" for any).
type flagName struct {
	name  string
	bit   rules.ServiceFlags
	sched string
}

// flagNames is the one table of -b names, used both to parse -b and to
// print the flags back. The generic names come first, in bit order.
var flagNames = [...]flagName{
	{"flag-1", rules.FlagSched1, ""},
	{"flag-2", rules.FlagSched2, ""},
	{"flag-3", rules.FlagSched3, ""},
	{"sh-fallback", rules.FlagSched1, "sh"},
	{"sh-port", rules.FlagSched2, "sh"},
	{"mh-fallback", rules.FlagSched1, "mh"},
	{"mh-port", rules.FlagSched2, "mh"},
}

func lookupFlag(name string) (flagName, bool) {
	for _, f := range flagNames {
		if f.name == name {
			return f, true
		}
	}
	return flagName{}, false
}

// AppendFlags appends the scheduler bits (0x38) of f the way ipvsadm prints
// them in listings and after -b in saves, joined with ",": the names of
// flagNames that belong to scheduler, or the generic "flag-N" names for a
// scheduler that has none. Bits without a name for the scheduler (0x20 for
// sh and mh) are left out, so the text can be empty even though a bit is
// set.
func AppendFlags(b []byte, scheduler string, f rules.ServiceFlags) []byte {
	named := false
	for _, n := range flagNames {
		named = named || n.sched == scheduler
	}
	first := true
	for _, n := range flagNames {
		if f&n.bit == 0 || n.sched != "" && n.sched != scheduler || named && n.sched == "" {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, n.name...)
	}
	return b
}

// ParseFlags parses the argument of -b for a service using scheduler, which
// must be the -s value as given or Default when -s is absent (ipvsadm checks
// against wlc then, so "-E ... -b sh-port" without "-s sh" fails).
//
// Like ipvsadm it looks at the first 127 bytes only and splits them on ","
// skipping empty items, so "a,,b" is two items and "" gives no flags. The
// result holds only bits of rules.FlagsSched and is meant to replace those
// bits of the service flags. The first bad item gives a *FlagError.
//
// ipvsadm 1.31 crashes on "," and ",,"; ParseFlags deliberately treats them
// as empty.
func ParseFlags(scheduler, text string) (rules.ServiceFlags, error) {
	if len(text) > flagTextMax {
		text = text[:flagTextMax]
	}
	var flags rules.ServiceFlags
	for _, item := range strings.Split(text, ",") {
		if item == "" {
			continue
		}
		f, ok := lookupFlag(item)
		if !ok {
			return 0, &FlagError{Flag: item, Kind: InvalidFlag}
		}
		if f.sched != "" && f.sched != scheduler {
			return 0, &FlagError{Flag: item, Kind: IncompatibleFlag}
		}
		flags |= f.bit
	}
	return flags, nil
}
