// Package cparse reproduces the C library parsers that ipvsadm's behaviour
// rests on (strtol, atoi, inet_aton, inet_pton), so that this ipvsadm
// accepts and refuses exactly the text that ipvsadm 1.31 does: leading
// spaces, signs, octal and hex, one-to-four-part IPv4 addresses.
package cparse
