# vm/modules.awk: the guest's module load list from `modprobe --show-depends`
# output (vm/vm.sh, building the initramfs). Prints every module once, in
# load order, as "PATH [OPTIONS]" with PATH relative to the kernel tree root.
# Variables (awk -v): root (the kernel tree), modopts (space-separated
# MODULE:OPTION words).
BEGIN {
	n = split(modopts, mo, " ")
	for (i = 1; i <= n; i++) {
		j = index(mo[i], ":")
		o = substr(mo[i], 1, j - 1)
		opt[o] = (o in opt ? opt[o] " " : "") substr(mo[i], j + 1)
	}
}
$1 == "insmod" {
	p = $2
	if (index(p, root) == 1) p = substr(p, length(root) + 1)
	if (seen[p]++) next
	b = p; sub(/.*\//, "", b); sub(/\.ko.*/, "", b); gsub(/-/, "_", b)
	print p (b in opt ? " " opt[b] : "")
	next
}
$1 == "builtin" { next }
{ print "unexpected modprobe output: " $0 > "/dev/stderr"; bad = 1 }
END { exit bad }
