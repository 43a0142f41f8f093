// Package render writes IPVS tables as ipvsadm 1.31 prints them, byte for
// byte: the -L views (plain, --stats, --rate, --thresholds,
// --persistent-conn, --tun-info, -c, --timeout, --daemon), the -S save
// format, ipvsadm's sort order, and the printf-style helpers they share
// (field widths, K/M/G numbers, address text). Lines are appended to byte
// slices and written in large chunks, without per-line allocations.
package render
