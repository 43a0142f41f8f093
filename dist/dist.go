// Package dist holds what `make install` installs beside the binary: the
// man page, bash completion and systemd unit. The unit is embedded so that
// the kernel tests run its commands in the VM, which has no source tree.
package dist

import _ "embed"

// Unit is the text of ipvsadm.service.
//
//go:embed ipvsadm.service
var Unit string
