# vm/console.awk: the host's view of the VM's serial console (vm/vm.sh run).
# Reads the console (qemu's stdout) and:
#   - shows only what comes between the start and the exit sentinel (not the
#     firmware and kernel boot noise), with \r removed;
#   - writes the command's exit status (from the exit sentinel) to statusf;
#   - diverts the --out payload (base64 lines between the begin and end
#     sentinels) to payf, its checksum to paysumf, a guest-side --out error
#     to payerrf;
#   - logs every line to logf, for the report when the VM fails.
# Sentinels count only with this run's nonce. Variables (awk -v): nonce,
# logf, statusf, payf, paysumf, payerrf.
BEGIN {
	startm = "@@IPVSADM-VM-START " nonce "@@"
	exitre = "@@IPVSADM-VM-EXIT " nonce " [0-9]+@@"
	beginm = "@@IPVSADM-VM-OUT-BEGIN " nonce "@@"
	endp = "@@IPVSADM-VM-OUT-END " nonce " "
	errp = "@@IPVSADM-VM-OUT-ERROR " nonce " "
	started = 0; done = 0; inpay = 0
}

function show(s) {
	if (started && !done) print s
	print s >> logf
}

{
	gsub(/\r/, "")
	if (!started && index($0, startm)) { started = 1; next }
	if (inpay) {
		if (index($0, endp) == 1) {
			s = substr($0, length(endp) + 1); sub(/@@.*/, "", s)
			print s > paysumf; close(paysumf); inpay = 0
		} else if ($0 ~ /^[A-Za-z0-9+\/=]+$/) {
			print > payf
		} else {
			show($0)
		}
		next
	}
	if (index($0, beginm)) { inpay = 1; printf "" > payf; next }
	if (i = index($0, errp)) {
		s = substr($0, i + length(errp)); sub(/@@$/, "", s)
		print s > payerrf; close(payerrf); next
	}
	if (match($0, exitre)) {
		pre = substr($0, 1, RSTART - 1)
		s = substr($0, RSTART, RLENGTH); sub(/@@$/, "", s); sub(/.* /, "", s)
		print s > statusf; close(statusf)
		if (pre != "") show(pre)
		done = 1
		next
	}
	show($0)
}
