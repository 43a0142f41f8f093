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

// flagNames maps every -b name to its bit and the scheduler it needs
// ("" for any).
var flagNames = map[string]struct {
	bit   rules.ServiceFlags
	sched string
}{
	"flag-1":      {rules.FlagSched1, ""},
	"flag-2":      {rules.FlagSched2, ""},
	"flag-3":      {rules.FlagSched3, ""},
	"sh-fallback": {rules.FlagSched1, "sh"},
	"sh-port":     {rules.FlagSched2, "sh"},
	"mh-fallback": {rules.FlagSched1, "mh"},
	"mh-port":     {rules.FlagSched2, "mh"},
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
		f, ok := flagNames[item]
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
