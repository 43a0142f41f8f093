// Package names resolves host and port names the way ipvsadm 1.31 does
// through glibc: /etc/hosts and /etc/services with glibc's matching rules,
// the order of nsswitch.conf, and DNS only where nsswitch allows it. The
// Resolver interface is what the grammar and the listings ask; results are
// cached per process.
package names
