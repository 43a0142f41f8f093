#!/usr/bin/env bash
# vm/vm.sh - run commands and kernel tests against a real IPVS kernel.
#
# The development and CI hosts run a kernel without IPVS. This script boots
# Debian's own kernel (IPVS built as modules) under qemu, with software
# emulation (TCG) by default, from an initramfs made of busybox, the kernel
# modules, the reference ipvsadm 1.31 and the files you ask for. Nothing is
# installed system-wide except ordinary Debian packages; the kernel is only
# downloaded and unpacked into a cache directory. vm/README.md describes the
# pieces (guest files, console protocol, kernel-test judge).
#
# USAGE
#   vm/vm.sh setup
#       Idempotent; needs root. Installs missing Debian packages (apt-get
#       update only when something is missing), downloads the kernel package
#       that linux-image-amd64 depends on into the cache, unpacks it there
#       (dpkg-deb -x), runs depmod -b on it, and prebuilds the static part of
#       the initramfs. Takes seconds when everything is in place.
#
#   vm/vm.sh run [OPTIONS] -- COMMAND [ARGS...]
#       Boots the VM, runs COMMAND in /work with stdout+stderr on the console,
#       streams the console to stdout, powers off, and exits with COMMAND's
#       status. Exits 125 when the VM never reported a status (boot failure,
#       kernel panic, module load failure, timeout). Options:
#         --file HOST[:VMPATH]  copy a file or directory (recursively) into the
#                               VM; VMPATH defaults to /work/<basename>. Split
#                               at the first ':'. Modes are kept. Repeatable.
#         --env K=V             environment variable for COMMAND. Repeatable.
#         --out VMDIR:HOSTDIR   after COMMAND, bring VMDIR back (tar.gz over the
#                               console, checksummed) and extract it into HOSTDIR.
#         --timeout SECONDS     limit for the whole qemu run (default 600, or
#                               $IPVSADM_VM_TIMEOUT); qemu is killed on expiry.
#                               45 s before (when SECONDS > 90) the guest dumps
#                               blocked kernel tasks and sends SIGQUIT to every
#                               process (Go prints goroutine stacks).
#         --mem MB              guest memory (default 1024)
#         --smp N               virtual CPUs (default 1: on the 2-core host, TCG
#                               with 2 vCPUs was no faster for Go test binaries)
#         --kvm                 use KVM instead of TCG (opt-in; hangs on some hosts)
#       Inside the VM: PATH=/work:/ref/bin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin,
#       HOME=/root, IPVSADM_VM=1; busybox applets (sh, ip, nsenter, unshare,
#       timeout, nc, httpd, wget, ...); all IPVS modules and EXTRA_MODULES
#       (veth, dummy, ipip, and for internal/testbed bridge, ip_gre, fou,
#       sch_ingress, cls_flower, act_skbedit) loaded; lo up; the reference
#       ipvsadm at /ref/bin/ipvsadm (and /usr/sbin/ipvsadm); /etc/services,
#       /etc/protocols, /etc/hosts with the test names of vm/guest/etc/hosts,
#       nsswitch.conf with "files" only.
#
#   vm/vm.sh kernel-test [--env K=V]... [GO-TEST-ARGS...]
#       For every entry of $KERNEL_TEST_PKGS (space-separated, default
#       "./internal/ipvs ./cmd/ipvsadm ./internal/testbed ./internal/sched"; a directory, relative to the repository
#       root or absolute, is built from inside that directory, so it may belong
#       to another module; anything else is a package path built from the
#       repository root) builds a static test binary (CGO_ENABLED=0 go test -c)
#       and runs them all in one VM boot (vm/guest/run-kernel-tests) with
#       -test.v=test2json -test.run '^TestKernel' -test.count=1 GO-TEST-ARGS, in
#       a directory holding a copy of the package's testdata/, if any (the
#       repository's testdata/, COMPATIBILITY.md and vm/demo.sh go to /work),
#       with the --env variables set. Each binary's output and status come back checksummed
#       (--out), are converted with go tool test2json and judged by vm/judge:
#       the run fails unless the VM reported, every binary ran and exited 0, no
#       test failed, was skipped or was left unfinished, and every package
#       passed at least one TestKernel* test. Prints a summary per package.
#       Timeout: $IPVSADM_VM_TIMEOUT, default 1800 s (the suite takes about 9 min).
#
# EXAMPLES
#   vm/vm.sh run -- ipvsadm -Ln
#   vm/vm.sh run --file bin/ipvsadm:/work/ipvsadm -- sh -c 'ipvsadm -A -t 10.0.0.1:80 && ipvsadm -Ln'
#   vm/vm.sh run --file bench.sh --out /tmp/res:./results -- ./bench.sh /tmp/res
#   KERNEL_TEST_PKGS="./internal/ipvs ./internal/sched" vm/vm.sh kernel-test -test.run '^TestKernelAdd'
#
# ENVIRONMENT
#   IPVSADM_VM_CACHE    cache directory (default /var/cache/ipvsadm-vm)
#   IPVSADM_VM_KERNEL   boot this kernel image instead of the cached one
#                       (modules still come from the cache)
#   IPVSADM_VM_TIMEOUT  default for --timeout (run: 600, kernel-test: 1800)
#   IPVSADM_VM_MEM, IPVSADM_VM_SMP   defaults for --mem and --smp
#   KERNEL_TEST_PKGS    packages for kernel-test (see above)
#   GO                  the go command for kernel-test (default go)
set -euo pipefail
shopt -s inherit_errexit

PROG=vm.sh
VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$VM_DIR/.." && pwd)
CACHE=${IPVSADM_VM_CACHE:-/var/cache/ipvsadm-vm}
GO=${GO:-go}

# Debian packages the host needs (installed by setup when missing).
REQUIRED_PKGS=(qemu-system-x86 busybox-static kmod cpio ipvsadm netbase
	gzip xz-utils zstd mawk coreutils util-linux libc-bin)
REF_IPVSADM=/usr/sbin/ipvsadm
REF_IPVSADM_VERSION=1.31
# Kernel modules loaded at boot, with their dependencies: every IPVS
# scheduler the kernel ships (these must be among them), and the extras.
IPVS_SCHEDULERS_REQUIRED=(rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh)
EXTRA_MODULES=(ip_vs_pe_sip veth dummy ipip
	bridge ip_gre fou sch_ingress cls_flower act_skbedit)
# Module options (the host's modprobe.d is ignored). numdummies=0: no dummy0
# appears by itself, as on a systemd Debian host.
MODULE_OPTIONS=(dummy:numdummies=0)
# loglevel=3: only critical kernel messages (oops, panic) on the console, so
# expected IPVS errors (pr_err) do not mix into command output; the guest
# deadline raises it to dump blocked tasks. fb_tunnels=initns: the tunnel
# modules' fallback devices (tunl0, gre0, gretap0, erspan0) only in the
# initial namespace, since each one costs every new namespace time (ip_gre
# alone made creating one 75% slower).
KERNEL_CMDLINE='console=ttyS0 quiet loglevel=3 panic=-1 8250.nr_uarts=1 fb_tunnels=initns'

die() {
	echo "$PROG: error: $*" >&2
	exit 1
}
info() { echo "$PROG: $*" >&2; }
# POSIX-shell single quoting, safe for busybox ash.
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
usage() { sed -n '2,/^set -euo pipefail/p' "$VM_DIR/vm.sh" | sed -e '$d' -e 's/^# \{0,1\}//'; }
positive() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive number, not '$2'"; }

# shellcheck source=vm/lib/setup.sh
. "$VM_DIR/lib/setup.sh"
# shellcheck source=vm/lib/initramfs.sh
. "$VM_DIR/lib/initramfs.sh"

cmd_run() {
	local files=() envs=() out_spec="" timeout=${IPVSADM_VM_TIMEOUT:-600}
	local mem=${IPVSADM_VM_MEM:-1024} smp=${IPVSADM_VM_SMP:-1} kvm=0 opt
	while (($#)); do
		opt=$1 && shift
		if [[ $opt == --*=* ]]; then set -- "${opt#*=}" "$@" && opt=${opt%%=*}; fi
		case $opt in
		--file | --env | --out | --timeout | --mem | --smp) (($#)) || die "$opt needs a value (see vm/vm.sh --help)" ;;&
		--file) files+=("$1") && shift ;;
		--env) envs+=("$1") && shift ;;
		--out) out_spec=$1 && shift ;;
		--timeout) timeout=$1 && shift ;;
		--mem) mem=$1 && shift ;;
		--smp) smp=$1 && shift ;;
		--kvm) kvm=1 ;;
		--) break ;;
		-h | --help) usage && exit 0 ;;
		-*) die "run: unknown option $opt (see vm/vm.sh --help)" ;;
		*) set -- "$opt" "$@" && break ;;
		esac
	done
	(($#)) || die "run: no command given (vm/vm.sh run [OPTIONS] -- COMMAND [ARGS...])"
	positive --timeout "$timeout" && positive --mem "$mem" && positive --smp "$smp"
	local out_vm="" out_host=""
	if [[ -n $out_spec ]]; then
		[[ $out_spec == *:* ]] || die "--out must be VMDIR:HOSTDIR, not '$out_spec'"
		out_vm=${out_spec%%:*} out_host=${out_spec#*:}
		[[ $out_vm == /* ]] || die "--out: VMDIR must be absolute, not '$out_vm'"
		[[ -n $out_host ]] || die "--out: HOSTDIR is empty"
	fi

	local kver kernel tmp base nonce
	kver=$(current_kver)
	kernel=${IPVSADM_VM_KERNEL:-$CACHE/kernel/$kver/boot/vmlinuz-$kver}
	[[ -r $kernel ]] || die "kernel image $kernel not readable"
	command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found: run 'vm/vm.sh setup'"
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/ipvsadm-vm.XXXXXX")
	# shellcheck disable=SC2064 # expand now
	trap "rm -rf '$tmp'" EXIT
	base=$(ensure_base_initramfs "$kver" "$tmp")
	nonce=$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
	# Guest deadline: --timeout minus a margin for boot, dumps and --out.
	write_payload "$tmp/payload" "$nonce" "$out_vm" $((timeout > 90 ? timeout - 45 : 0)) \
		${#envs[@]} ${envs[@]+"${envs[@]}"} ${files[@]+"${files[@]}"} -- "$@"
	cp "$base" "$tmp/initrd.img"
	cpio_gz "$tmp/payload" 1 >>"$tmp/initrd.img" || die "cpio/gzip of the run payload failed"

	local accel=(-accel tcg -cpu max)
	((kvm)) && accel=(-accel kvm -cpu host)
	local qemu=(qemu-system-x86_64 "${accel[@]}" -smp "$smp" -m "$mem"
		-nographic -no-reboot -monitor none -serial stdio -nic none
		-kernel "$kernel" -initrd "$tmp/initrd.img" -append "$KERNEL_CMDLINE")
	local log="$tmp/console.log" statusf="$tmp/status"
	local payf="$tmp/out.b64" paysumf="$tmp/out.sum" payerrf="$tmp/out.err"
	mkfifo "$tmp/console"
	mawk -W interactive -v nonce="$nonce" -v logf="$log" -v statusf="$statusf" \
		-v payf="$payf" -v paysumf="$paysumf" -v payerrf="$payerrf" \
		-f "$VM_DIR/console.awk" <"$tmp/console" &
	local filter_pid=$! start=$SECONDS
	timeout -k 10 "$timeout" "${qemu[@]}" </dev/null >"$tmp/console" &
	local qemu_pid=$! interrupted=0 qrc=0
	trap 'interrupted=1; kill -TERM $qemu_pid 2>/dev/null || true' INT TERM
	while :; do
		wait "$qemu_pid" && qrc=0 || qrc=$?
		# wait returns >128 when interrupted by a trapped signal; qemu may still run.
		kill -0 "$qemu_pid" 2>/dev/null || break
	done
	wait "$filter_pid" || true
	trap - INT TERM

	if [[ ! -s $statusf ]]; then
		{
			echo
			if ((interrupted)); then
				echo "$PROG: interrupted; qemu killed"
			elif ((qrc == 124 || qrc == 137)); then
				echo "$PROG: FAILED: the VM run exceeded --timeout $timeout s; qemu was killed"
			else
				echo "$PROG: FAILED: the VM never reported an exit status (boot failure, kernel panic, module load failure?); qemu exited with status $qrc after $((SECONDS - start))s"
			fi
			echo "$PROG: last console lines (kernel $kernel):"
			if [[ -s $log ]]; then tail -n 40 "$log" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b.\{0,1\}//g' -e 's/^/  | /'; else echo "  | (no console output)"; fi
		} >&2
		((interrupted)) && exit 130
		exit 125
	fi
	local status outerr=""
	status=$(cat "$statusf")
	if ((qrc == 124 || qrc == 137)); then
		info "warning: the command finished but the VM did not power off within --timeout $timeout s"
	fi
	[[ -n $out_vm ]] || exit "$status"
	if [[ -s $payerrf ]]; then
		outerr=$(cat "$payerrf")
	elif [[ ! -s $paysumf ]]; then
		outerr="no complete --out payload on the console"
	elif ! base64 -d "$payf" >"$tmp/out.tgz" 2>/dev/null; then
		outerr="--out payload is not valid base64"
	elif [[ "$(sha256sum <"$tmp/out.tgz" | cut -d' ' -f1)" != "$(cat "$paysumf")" ]]; then
		outerr="--out payload checksum mismatch (console corruption?)"
	elif ! mkdir -p "$out_host" || ! tar -xzf "$tmp/out.tgz" -C "$out_host"; then
		outerr="extracting the --out payload into $out_host failed"
	fi
	if [[ -n $outerr ]]; then
		echo "$PROG: --out $out_vm: $outerr" >&2
		((status != 0)) || status=1
	fi
	exit "$status"
}

cmd_kernel_test() {
	local envs=()
	while (($#)); do
		case $1 in
		--env) (($# >= 2)) || die "--env needs K=V"; envs+=(--env "$2") && shift 2 ;;
		--env=*) envs+=(--env "${1#*=}") && shift ;;
		*) break ;;
		esac
	done
	local kver tmp
	kver=$(current_kver)
	command -v "$GO" >/dev/null || die "$GO not found in PATH"
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/ipvsadm-vm-kt.XXXXXX")
	# shellcheck disable=SC2064 # expand now
	trap "rm -rf '$tmp'" EXIT
	(cd "$REPO_ROOT" && CGO_ENABLED=0 "$GO" build -o "$tmp/judge" ./vm/judge) ||
		die "kernel tests: FAILED: building vm/judge failed"

	# Build one static test binary per package, in /work/kt/NAME/ of the VM.
	local names=() imports=() runargs=() p name dir n=0
	for p in ${KERNEL_TEST_PKGS:-./internal/ipvs ./cmd/ipvsadm ./internal/testbed ./internal/sched}; do
		n=$((n + 1)) dir=$REPO_ROOT p=${p%/}
		if [[ $p == /* && -d $p ]]; then dir=$p p=.; elif [[ -d $REPO_ROOT/$p ]]; then dir=$REPO_ROOT/$p p=.; fi
		[[ $p != . ]] || dir=$(cd "$dir" && pwd)
		name=$(basename "$([[ $p == . ]] && echo "$dir" || echo "$p")" | tr -c 'A-Za-z0-9_.\n-' '_')
		[[ " ${names[*]-} " != *" $name "* ]] || name="${name}_$n"
		info "building the test binary of ${p/#./$dir}"
		mkdir -p "$tmp/kt/$name"
		(cd "$dir" && CGO_ENABLED=0 "$GO" test -c -o "$tmp/kt/$name/$name.test" "$p") ||
			die "kernel tests: FAILED: building the test binary of ${p/#./$dir} failed"
		[[ -x $tmp/kt/$name/$name.test ]] || die "kernel tests: FAILED: no test binary for ${p/#./$dir} (no test files?)"
		imports+=("$(cd "$dir" && "$GO" list "$p")")
		[[ $p != . || ! -d $dir/testdata ]] || runargs+=(--file "$dir/testdata:/work/kt/$name/testdata")
		names+=("$name")
	done
	((${#names[@]})) || die "kernel tests: FAILED: KERNEL_TEST_PKGS is empty"
	# The repository's testdata/ (conformance cases) and COMPATIBILITY.md,
	# at ../../ from each test binary's directory.
	[[ ! -d $REPO_ROOT/testdata ]] || runargs+=(--file "$REPO_ROOT/testdata:/work/testdata")
	[[ ! -f $REPO_ROOT/COMPATIBILITY.md ]] || runargs+=(--file "$REPO_ROOT/COMPATIBILITY.md:/work/COMPATIBILITY.md")
	# make demo's script, for the test that runs it (TestKernelDemo).
	[[ ! -f $REPO_ROOT/vm/demo.sh ]] || runargs+=(--file "$REPO_ROOT/vm/demo.sh:/work/vm/demo.sh")

	local results="$tmp/results" vmrc=0 i
	IPVSADM_VM_TIMEOUT=${IPVSADM_VM_TIMEOUT:-1800} "$VM_DIR/vm.sh" run ${envs[@]+"${envs[@]}"} \
		--file "$tmp/kt:/work/kt" "${runargs[@]}" --out "/run/kt-results:$results" \
		-- run-kernel-tests "${names[@]}" -- "$@" || vmrc=$?
	echo
	for i in "${!names[@]}"; do
		[[ ! -f $results/${names[i]}.out ]] ||
			"$GO" tool test2json -t -p "${imports[i]}" <"$results/${names[i]}.out" >"$results/${names[i]}.json" ||
			die "kernel tests: FAILED: go tool test2json failed on the output of ${names[i]}"
	done
	"$tmp/judge" -vm-status "$vmrc" -kernel "$kver" "$results" "${names[@]}"
}

main() {
	local cmd=${1:-}
	(($#)) && shift
	case $cmd in
	setup) cmd_setup "$@" ;;
	run) cmd_run "$@" ;;
	kernel-test) cmd_kernel_test "$@" ;;
	-h | --help | help) usage ;;
	"") usage >&2 && exit 2 ;;
	*) echo "$PROG: unknown command '$cmd'" >&2 && usage >&2 && exit 2 ;;
	esac
}

# One line: bash has read all of it before running, so editing this file
# while it runs cannot make it execute text after main.
main "$@"; exit $?
