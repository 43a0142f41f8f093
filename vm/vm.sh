#!/usr/bin/env bash
# vm/vm.sh - run commands and kernel tests against a real IPVS kernel.
#
# The development and CI hosts run a kernel without IPVS. This script boots
# Debian's own kernel (IPVS built as modules) under qemu, with software
# emulation (TCG) by default, from an initramfs made of busybox, the kernel
# modules, the reference ipvsadm 1.31 and the files you ask for. Nothing is
# installed system-wide except ordinary Debian packages; the kernel is only
# downloaded and unpacked into a cache directory.
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
#         --smp N               virtual CPUs (default 1: measured on the 2-core
#                               host, TCG with 2 vCPUs was no faster for Go
#                               test binaries, and much slower under load)
#         --kvm                 use KVM instead of TCG (opt-in; hangs on some hosts)
#       Inside the VM: PATH=/work:/ref/bin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin,
#       HOME=/root, IPVSADM_VM=1; busybox applets (sh, ip, nsenter, unshare,
#       timeout, nc, httpd, wget, ...); all IPVS modules, veth, dummy, ipip
#       loaded; lo up; the reference ipvsadm at /ref/bin/ipvsadm (and
#       /usr/sbin/ipvsadm); /etc/services, /etc/protocols, /etc/hosts with
#       the test names in VM_HOSTS below, nsswitch.conf with "files" only.
#
#   vm/vm.sh kernel-test [--env K=V]... [GO-TEST-ARGS...]
#       For every entry of $KERNEL_TEST_PKGS (space-separated, default
#       "./internal/ipvs ./cmd/ipvsadm"; a directory, relative to the repository root or
#       absolute, is built from inside that directory, so it may belong to
#       another module; anything else is a package path built from the
#       repository root) builds a static test binary (CGO_ENABLED=0 go test
#       -c), runs them all in one VM boot with -test.v -test.run '^TestKernel'
#       -test.count=1 GO-TEST-ARGS (in a directory holding a copy of the
#       package's testdata/, if any; the repository's top-level testdata/
#       and COMPATIBILITY.md go to /work), with the --env variables set,
#       and fails unless every binary ran, the
#       VM exited 0, no "--- FAIL", no "--- SKIP" and no "no tests to run"
#       appeared, and every binary passed at least one TestKernel* test.
#       Each binary's output and status are judged from files brought back
#       with --out (checksummed), not from the console.
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
set -euo pipefail
shopt -s inherit_errexit

PROG=vm.sh
VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$VM_DIR/.." && pwd)
SELF="$VM_DIR/$(basename "${BASH_SOURCE[0]}")"
CACHE=${IPVSADM_VM_CACHE:-/var/cache/ipvsadm-vm}

# Debian packages the host needs (installed by setup when missing).
REQUIRED_PKGS=(qemu-system-x86 busybox-static kmod cpio ipvsadm netbase
	gzip xz-utils zstd mawk coreutils util-linux libc-bin)
REF_IPVSADM=/usr/sbin/ipvsadm
REF_IPVSADM_VERSION=1.31

# The guest's /etc/hosts: the ONE place where test host names are defined.
# Tests may rely on these names resolving (ipvsadm without -n prints them).
VM_HOSTS='127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
10.0.0.1	web1.example
10.0.0.2	web2.example
10.0.0.3	web3.example
192.168.10.1	rs1.example
192.168.10.2	rs2.example
2001:db8::1	v6host.example
2001:db8::2	v6host2.example
10.0.0.4	an-extremely-long-virtual-service-name.example.org
10.0.0.5	vip.example vip
10.0.0.6	multi.example
10.0.0.7	multi.example
192.168.10.3	a-very-long-real-server-hostname.example.com
192.168.10.4	this-is-a-really-really-long-real-server-name-for-the-buffer.example.com
2001:db8:1::10	v6rs.example
2001:db8::3	v6only.example'

# Kernel modules loaded at boot (plus everything they depend on). All IPVS
# schedulers the kernel ships are found in its ipvs/ directory; these must
# be among them (ip_vs_twos is loaded when present).
IPVS_SCHEDULERS_REQUIRED=(rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh)
EXTRA_MODULES=(ip_vs_pe_sip veth dummy ipip)
# Module options (the host's modprobe.d is ignored). numdummies=0: no dummy0
# appears by itself, as on a systemd Debian host.
MODULE_OPTIONS=(dummy:numdummies=0)

# loglevel=3: only critical kernel messages (oops, panic) on the console, so
# expected IPVS errors (pr_err) do not mix into command output; the guest
# deadline raises it to dump blocked tasks.
KERNEL_CMDLINE='console=ttyS0 quiet loglevel=3 panic=-1 8250.nr_uarts=1'

# ----------------------------------------------------------------------------

die() {
	echo "$PROG: error: $*" >&2
	exit 1
}
info() { echo "$PROG: $*" >&2; }

# POSIX-shell single quoting, safe for busybox ash.
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

usage() {
	sed -n '2,/^set -euo pipefail/p' "$SELF" | sed -e '$d' -e 's/^# \{0,1\}//'
}

# ---------------------------------------------------------------- setup ----

pkg_installed() {
	[[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" == ii* ]]
}

APT_UPDATED=0
apt_update() {
	((APT_UPDATED)) && return 0
	info "apt-get update"
	apt-get update -q </dev/null || die "apt-get update failed"
	APT_UPDATED=1
}

# The versioned kernel package that linux-image-amd64 depends on.
resolve_kernel_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		mawk '!found && $1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; found = 1 }'
}

candidate_version() {
	apt-cache policy "$1" 2>/dev/null | mawk '!found && $1 == "Candidate:" { print $2; found = 1 }'
}

cmd_setup() {
	[[ $# -eq 0 ]] || die "setup takes no arguments"
	[[ $EUID -eq 0 ]] || die "setup must run as root (it installs Debian packages and writes $CACHE)"
	command -v apt-get >/dev/null || die "apt-get not found: setup needs Debian 12 (bookworm)"

	local missing=() p
	for p in "${REQUIRED_PKGS[@]}"; do
		pkg_installed "$p" || missing+=("$p")
	done
	if ((${#missing[@]})); then
		apt_update
		info "installing Debian packages: ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			"${missing[@]}" </dev/null || die "apt-get install ${missing[*]} failed"
	fi

	local refver
	refver=$(dpkg-query -W -f='${Version}' ipvsadm)
	[[ "$refver" =~ ^([0-9]+:)?${REF_IPVSADM_VERSION//./\\.}- ]] ||
		die "Debian's ipvsadm is version $refver, the reference must be $REF_IPVSADM_VERSION"
	[[ -x $REF_IPVSADM ]] || die "$REF_IPVSADM missing although package ipvsadm is installed"

	mkdir -p "$CACHE"
	exec 9>"$CACHE/.lock"
	flock 9

	local kpkg kpkgver kver kroot dl
	while :; do
		kpkg=$(resolve_kernel_pkg)
		if [[ -z $kpkg ]] && ((!APT_UPDATED)); then
			apt_update
			continue
		fi
		[[ -n $kpkg ]] || die "cannot resolve the kernel package that linux-image-amd64 depends on (apt-cache depends linux-image-amd64)"
		kpkgver=$(candidate_version "$kpkg")
		[[ -n $kpkgver && $kpkgver != "(none)" ]] || die "no installable version of $kpkg"
		kver=${kpkg#linux-image-}
		kroot="$CACHE/kernel/$kver"
		if [[ -f $kroot/.complete && "$(cat "$kroot/.complete")" == "$kpkg $kpkgver" ]]; then
			dl=""
			break
		fi
		info "fetching $kpkg $kpkgver into $CACHE (not installed system-wide)"
		dl=$(mktemp -d "$CACHE/.dl.XXXXXX")
		# apt downloads as user _apt; give it the directory to avoid a warning.
		chown _apt "$dl" 2>/dev/null || chmod 0777 "$dl"
		(cd "$dl" && apt-get download -q "$kpkg=$kpkgver" </dev/null) && break
		rm -rf "$dl"
		# Stale package lists name a kernel the mirror no longer has.
		((!APT_UPDATED)) || die "apt-get download $kpkg=$kpkgver failed"
		apt_update
	done

	if [[ -n $dl ]]; then
		local deb
		deb=$(find "$dl" -maxdepth 1 -name '*.deb')
		[[ -n $deb && $deb != *$'\n'* ]] || { rm -rf "$dl"; die "apt-get download did not produce exactly one .deb"; }
		dpkg-deb -x "$deb" "$dl/root" || { rm -rf "$dl"; die "dpkg-deb -x $deb failed"; }
		[[ -f $dl/root/boot/vmlinuz-$kver ]] || { rm -rf "$dl"; die "$deb has no boot/vmlinuz-$kver"; }
		[[ -d $dl/root/lib/modules/$kver ]] || { rm -rf "$dl"; die "$deb has no lib/modules/$kver"; }
		depmod -b "$dl/root" "$kver" || { rm -rf "$dl"; die "depmod -b $dl/root $kver failed"; }
		echo "$kpkg $kpkgver" >"$dl/root/.complete"
		mkdir -p "$CACHE/kernel"
		rm -rf "$kroot"
		mv "$dl/root" "$kroot"
		rm -rf "$dl"
	fi
	echo "$kver" >"$CACHE/current.tmp" && mv "$CACHE/current.tmp" "$CACHE/current"
	# Drop other kernels and stale downloads.
	local d
	for d in "$CACHE"/kernel/* "$CACHE"/.dl.*; do
		if [[ -e $d && $d != "$kroot" ]]; then rm -rf "$d"; fi
	done

	local base
	base=$(ensure_base_initramfs "$kver")
	flock -u 9
	info "setup done: kernel $kver ($kpkgver), reference ipvsadm $refver, initramfs $base"
}

# ------------------------------------------------------------ initramfs ----

current_kver() {
	[[ -f $CACHE/current ]] || die "no kernel in $CACHE: run 'vm/vm.sh setup' (as root) first"
	local kver
	kver=$(cat "$CACHE/current")
	[[ -f $CACHE/kernel/$kver/.complete ]] || die "kernel $kver in $CACHE is incomplete: run 'vm/vm.sh setup' again"
	echo "$kver"
}

# Module paths (relative to the kernel tree root, in load order) and
# options, one "PATH [OPTIONS]" a line.
module_load_order() {
	local kver=$1 kroot="$CACHE/kernel/$1"
	local ipvsdir="$kroot/lib/modules/$kver/kernel/net/netfilter/ipvs"
	[[ -d $ipvsdir ]] || die "kernel $kver has no IPVS modules ($ipvsdir)"
	local wanted=(ip_vs) s m f
	for s in "${IPVS_SCHEDULERS_REQUIRED[@]}"; do
		compgen -G "$ipvsdir/ip_vs_$s.ko*" >/dev/null ||
			die "kernel $kver lacks the IPVS scheduler module ip_vs_$s"
	done
	# Every scheduler the kernel ships (not the ftp helper nor the PEs).
	for f in "$ipvsdir"/ip_vs_*.ko*; do
		m=$(basename "$f")
		m=${m%%.ko*}
		case $m in ip_vs_ftp | ip_vs_pe_*) continue ;; esac
		wanted+=("$m")
	done
	wanted+=("${EXTRA_MODULES[@]}")
	local out
	for m in "${wanted[@]}"; do
		out=$(modprobe -C /dev/null -d "$kroot" -S "$kver" --show-depends "$m" 2>&1) ||
			die "modprobe --show-depends $m failed for kernel $kver: $out"
		printf '%s\n' "$out"
	done | mawk -v root="$kroot" -v modopts="${MODULE_OPTIONS[*]}" '
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
		END { exit bad }'
}

ldd_paths() {
	local out
	out=$(ldd "$1") || die "ldd $1 failed"
	if grep -q 'not found' <<<"$out"; then
		die "ldd $1: missing libraries: $out"
	fi
	mawk '$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }' <<<"$out"
}

# Key for the static part of the initramfs: changes when this script, the
# kernel, busybox, the reference ipvsadm, its libraries or /etc files do.
base_key() {
	local kver=$1
	{
		cat "$SELF"
		cat "$CACHE/kernel/$kver/.complete"
		sha256sum /bin/busybox "$REF_IPVSADM" /etc/services /etc/protocols
		ldd_paths "$REF_IPVSADM" | xargs -r readlink -f | xargs -r sha256sum
	} | sha256sum | cut -c1-16
}

# Prints the path of the cached base initramfs (cpio newc, gzip), building
# it when missing. $2: directory to build in when the cache is read-only.
ensure_base_initramfs() {
	local kver=$1 fallback=${2:-}
	local key dir
	key=$(base_key "$kver")
	dir="$CACHE/initramfs"
	if ! mkdir -p "$dir" 2>/dev/null || [[ ! -w $dir ]]; then
		[[ -n $fallback ]] || die "$dir is not writable"
		dir=$fallback
	fi
	local img="$dir/base-$kver-$key.cpio.gz"
	if [[ -s $img ]]; then
		echo "$img"
		return 0
	fi
	# Always runs in a subshell ($(...)), so this trap is local to it.
	local st tmpimg="$img.tmp.$BASHPID"
	st=$(mktemp -d "${TMPDIR:-/tmp}/ipvsadm-vm-base.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$st' '$tmpimg'" EXIT
	info "building the initramfs base for kernel $kver"
	build_base_tree "$kver" "$st"
	(cd "$st" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 >"$tmpimg"
	mv "$tmpimg" "$img"
	# Older images are useless now (kept an hour for runs that already chose them).
	find "$dir" -maxdepth 1 -name 'base-*.cpio.gz' ! -name "$(basename "$img")" -mmin +60 -delete 2>/dev/null || true
	echo "$img"
}

build_base_tree() {
	local kver=$1 st=$2 kroot="$CACHE/kernel/$1"
	local d
	for d in bin sbin usr/bin usr/sbin usr/local/bin proc sys dev tmp run root work \
		etc/ipvsadm-vm ref/bin lib lib64 var mnt; do
		mkdir -p "$st/$d"
	done
	ln -s ../run "$st/var/run"
	chmod 1777 "$st/tmp"

	# busybox and its applets
	[[ -x /bin/busybox ]] || die "/bin/busybox missing (package busybox-static)"
	local applets a
	applets=$(/bin/busybox --list-full) || die "/bin/busybox has no --list-full (is it busybox-static?)"
	cp /bin/busybox "$st/bin/busybox"
	for a in sh ip nsenter unshare timeout insmod poweroff mount hostname tar gzip base64 sha256sum; do
		grep -Eq "(^|/)$a\$" <<<"$applets" || die "busybox lacks the applet '$a'"
	done
	while read -r a; do
		if [[ -n $a && ! -e $st/$a && ! -L $st/$a ]]; then
			ln -s /bin/busybox "$st/$a"
		fi
	done <<<"$applets"

	# kernel modules, decompressed, in load order
	local order rel opts src dst
	order=$(module_load_order "$kver")
	: >"$st/etc/ipvsadm-vm/modules"
	while read -r rel opts; do
		src="$kroot$rel"
		dst="${rel%.xz}"
		dst="${dst%.zst}"
		dst="${dst%.gz}"
		mkdir -p "$st$(dirname "$dst")"
		case $src in
		*.ko.xz) xz -dc "$src" >"$st$dst" ;;
		*.ko.zst) zstd -q -dc "$src" >"$st$dst" ;;
		*.ko.gz) gzip -dc "$src" >"$st$dst" ;;
		*.ko) cp "$src" "$st$dst" ;;
		*) die "unexpected module file $src" ;;
		esac
		echo "$dst${opts:+ $opts}" >>"$st/etc/ipvsadm-vm/modules"
	done <<<"$order"

	# the reference ipvsadm 1.31 with its libraries and the dynamic loader
	cp "$REF_IPVSADM" "$st/ref/bin/ipvsadm"
	rm -f "$st/usr/sbin/ipvsadm"
	ln -s /ref/bin/ipvsadm "$st/usr/sbin/ipvsadm"
	local libs lib
	libs=$(ldd_paths "$REF_IPVSADM")
	while read -r lib; do
		mkdir -p "$st$(dirname "$lib")"
		cp -L "$lib" "$st$lib"
	done <<<"$libs"

	# /etc
	cp /etc/services /etc/protocols "$st/etc/"
	printf '%s\n' "$VM_HOSTS" >"$st/etc/hosts"
	printf 'hosts: files\nservices: files\nprotocols: files\nnetworks: files\npasswd: files\ngroup: files\n' \
		>"$st/etc/nsswitch.conf"
	echo 'root:x:0:0:root:/root:/bin/sh' >"$st/etc/passwd"
	echo 'root:x:0:' >"$st/etc/group"
	echo ipvsadm-vm >"$st/etc/hostname"
	echo "$kver" >"$st/etc/ipvsadm-vm/kernel"

	write_guest_init >"$st/init"
	chmod 0755 "$st/init"
}

write_guest_init() {
	cat <<'EOF'
#!/bin/sh
# /init of the ipvsadm test VM (generated by vm/vm.sh; do not edit here).
export PATH=/work:/ref/bin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root IPVSADM_VM=1 TERM=dumb LANG=C

fatal() {
	echo "ipvsadm-vm init: FATAL: $*"
	# No exit sentinel: the host reports a VM failure.
	poweroff -f
	sleep 10
}

[ -r /etc/ipvsadm-vm/run.conf ] || fatal "/etc/ipvsadm-vm/run.conf missing (initramfs without a run payload)"
. /etc/ipvsadm-vm/run.conf
# The host shows the console from here on (firmware and kernel boot noise before).
echo "@@IPVSADM-VM-START $VM_NONCE@@"

mount -t proc proc /proc || fatal "mount /proc failed"
mount -t sysfs sysfs /sys || fatal "mount /sys failed"
mount -t devtmpfs devtmpfs /dev 2>/dev/null || grep -q ' /dev ' /proc/mounts || fatal "mount /dev failed"
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp || fatal "mount /tmp failed"
mount -t tmpfs -o mode=0755 tmpfs /run || fatal "mount /run failed"
mkdir -p /run/netns /work
chmod 0755 /
hostname ipvsadm-vm

while read -r mod opts; do
	[ -n "$mod" ] || continue
	# shellcheck disable=SC2086
	out=$(insmod "$mod" $opts 2>&1) || fatal "insmod $mod failed: $out"
done </etc/ipvsadm-vm/modules
[ -d /proc/net/ip_vs ] || [ -e /proc/net/ip_vs ] || fatal "IPVS not present after loading modules"

ip link set lo up || fatal "ip link set lo up failed"

# Guest deadline, shortly before the host kills qemu: show blocked kernel
# tasks, then SIGQUIT every process (Go programs print their goroutines and
# exit), so that a hang is diagnosable and the run can still report.
watchdog=
if [ "${VM_DEADLINE:-0}" -gt 0 ]; then
	(
		sleep "$VM_DEADLINE"
		: >/run/ipvsadm-vm-deadline
		echo "ipvsadm-vm: guest deadline (${VM_DEADLINE}s after boot) reached: blocked tasks, then SIGQUIT to all processes"
		echo 8 >/proc/sys/kernel/printk
		echo 1 >/proc/sys/kernel/sysrq
		echo w >/proc/sysrq-trigger
		echo 4 >/proc/sys/kernel/printk
		kill -QUIT -1
	) &
	watchdog=$!
fi

cd /work || fatal "cd /work failed"
(vm_env && exec "$@") </dev/null 2>&1
status=$?
[ -z "$watchdog" ] || kill "$watchdog" 2>/dev/null

if [ -n "$VM_OUT_DIR" ]; then
	echo 1 >/proc/sys/kernel/printk
	if [ -d "$VM_OUT_DIR" ]; then
		if tar -C "$VM_OUT_DIR" -czf /.ipvsadm-vm-out.tgz . 2>/.ipvsadm-vm-out.err; then
			sum=$(sha256sum </.ipvsadm-vm-out.tgz)
			echo "@@IPVSADM-VM-OUT-BEGIN $VM_NONCE@@"
			base64 </.ipvsadm-vm-out.tgz
			echo "@@IPVSADM-VM-OUT-END $VM_NONCE ${sum%% *}@@"
		else
			echo "@@IPVSADM-VM-OUT-ERROR $VM_NONCE tar of $VM_OUT_DIR failed: $(cat /.ipvsadm-vm-out.err)@@"
		fi
	else
		echo "@@IPVSADM-VM-OUT-ERROR $VM_NONCE $VM_OUT_DIR is not a directory@@"
	fi
fi

echo "@@IPVSADM-VM-EXIT $VM_NONCE $status@@"
poweroff -f
sleep 10
EOF
}

# ------------------------------------------------------------------ run ----

cmd_run() {
	local files=() envs=() out_spec="" timeout=${IPVSADM_VM_TIMEOUT:-600}
	local mem=${IPVSADM_VM_MEM:-1024} smp=${IPVSADM_VM_SMP:-1} kvm=0
	while (($#)); do
		case $1 in
		--file) [[ $# -ge 2 ]] || die "--file needs HOST[:VMPATH]"; files+=("$2"); shift 2 ;;
		--file=*) files+=("${1#*=}"); shift ;;
		--env) [[ $# -ge 2 ]] || die "--env needs K=V"; envs+=("$2"); shift 2 ;;
		--env=*) envs+=("${1#*=}"); shift ;;
		--out) [[ $# -ge 2 ]] || die "--out needs VMDIR:HOSTDIR"; out_spec=$2; shift 2 ;;
		--out=*) out_spec=${1#*=}; shift ;;
		--timeout) [[ $# -ge 2 ]] || die "--timeout needs SECONDS"; timeout=$2; shift 2 ;;
		--timeout=*) timeout=${1#*=}; shift ;;
		--mem) [[ $# -ge 2 ]] || die "--mem needs MB"; mem=$2; shift 2 ;;
		--mem=*) mem=${1#*=}; shift ;;
		--smp) [[ $# -ge 2 ]] || die "--smp needs N"; smp=$2; shift 2 ;;
		--smp=*) smp=${1#*=}; shift ;;
		--kvm) kvm=1; shift ;;
		--) shift; break ;;
		-h | --help) usage; exit 0 ;;
		-*) die "run: unknown option $1 (see vm/vm.sh --help)" ;;
		*) break ;;
		esac
	done
	(($#)) || die "run: no command given (vm/vm.sh run [OPTIONS] -- COMMAND [ARGS...])"
	[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive number of seconds, not '$timeout'"
	[[ $mem =~ ^[1-9][0-9]*$ ]] || die "--mem must be a number of MB, not '$mem'"
	[[ $smp =~ ^[1-9][0-9]*$ ]] || die "--smp must be a positive number, not '$smp'"

	local out_vm="" out_host=""
	if [[ -n $out_spec ]]; then
		[[ $out_spec == *:* ]] || die "--out must be VMDIR:HOSTDIR, not '$out_spec'"
		out_vm=${out_spec%%:*}
		out_host=${out_spec#*:}
		[[ $out_vm == /* ]] || die "--out: VMDIR must be absolute, not '$out_vm'"
		[[ -n $out_host ]] || die "--out: HOSTDIR is empty"
	fi

	local kver kernel
	kver=$(current_kver)
	kernel=${IPVSADM_VM_KERNEL:-$CACHE/kernel/$kver/boot/vmlinuz-$kver}
	[[ -r $kernel ]] || die "kernel image $kernel not readable"
	command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found: run 'vm/vm.sh setup'"

	local tmp
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/ipvsadm-vm.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" EXIT

	local base
	base=$(ensure_base_initramfs "$kver" "$tmp")

	# Per-run part of the initramfs: the command, its environment, the files.
	local st="$tmp/payload" nonce
	nonce=$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
	mkdir -p "$st/etc/ipvsadm-vm" "$st/work"
	{
		echo "VM_NONCE=$nonce"
		echo "VM_OUT_DIR=$(shq "$out_vm")"
		# Guest deadline: --timeout minus a margin for boot, dumps and --out.
		echo "VM_DEADLINE=$((timeout > 90 ? timeout - 45 : 0))"
		# The environment applies to the command only, not to /init.
		echo 'vm_env() {'
		local e
		for e in ${envs[@]+"${envs[@]}"}; do
			[[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--env must be K=V with a valid name, not '$e'"
			echo "	export ${e%%=*}=$(shq "${e#*=}")"
		done
		echo '	:'
		echo '}'
		printf 'set --'
		local a
		for a in "$@"; do printf ' %s' "$(shq "$a")"; done
		echo
	} >"$st/etc/ipvsadm-vm/run.conf"
	local f src dst
	for f in ${files[@]+"${files[@]}"}; do
		if [[ $f == *:* ]]; then
			src=${f%%:*}
			dst=${f#*:}
		else
			src=$f
			dst=/work/$(basename "$f")
		fi
		[[ -e $src ]] || die "--file: $src does not exist"
		[[ $dst == /* ]] || die "--file: VMPATH must be absolute, not '$dst'"
		[[ $dst != / ]] || die "--file: VMPATH must not be /"
		src=$(readlink -f "$src")
		if [[ -d $src ]]; then
			mkdir -p "$st$dst"
			cp -a "$src/." "$st$dst/"
		else
			mkdir -p "$st$(dirname "$dst")"
			cp -a "$src" "$st$dst"
		fi
	done
	local initrd="$tmp/initrd.img"
	cp "$base" "$initrd"
	(cd "$st" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
		gzip -1 >>"$initrd" || die "cpio/gzip of the run payload failed"

	local accel=(-accel tcg -cpu max)
	((kvm)) && accel=(-accel kvm -cpu host)
	local qemu=(qemu-system-x86_64 "${accel[@]}" -smp "$smp" -m "$mem"
		-nographic -no-reboot -monitor none -serial stdio -nic none
		-kernel "$kernel" -initrd "$initrd" -append "$KERNEL_CMDLINE")

	# Console filter: strip \r; show only what comes between the start and the
	# exit sentinel (not firmware/boot noise), minus the --out payload; log
	# everything for the failure report.
	local fifo="$tmp/console" log="$tmp/console.log" statusf="$tmp/status"
	local payf="$tmp/out.b64" paysumf="$tmp/out.sum" payerrf="$tmp/out.err"
	mkfifo "$fifo"
	mawk -W interactive -v nonce="$nonce" -v logf="$log" -v statusf="$statusf" \
		-v payf="$payf" -v paysumf="$paysumf" -v payerrf="$payerrf" '
		BEGIN {
			exitre = "@@IPVSADM-VM-EXIT " nonce " [0-9]+@@"
			startm = "@@IPVSADM-VM-START " nonce "@@"
			started = 0; done = 0
			beg = "@@IPVSADM-VM-OUT-BEGIN " nonce "@@"
			endp = "@@IPVSADM-VM-OUT-END " nonce " "
			errp = "@@IPVSADM-VM-OUT-ERROR " nonce " "
			inpay = 0
		}
		function show(s) { if (started && !done) print s; print s >> logf }
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
			if (index($0, beg)) { inpay = 1; printf "" > payf; next }
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
		}' <"$fifo" &
	local filter_pid=$!

	local start=$SECONDS
	timeout -k 10 "$timeout" "${qemu[@]}" </dev/null >"$fifo" &
	local qemu_pid=$!
	local interrupted=0
	trap 'interrupted=1; kill -TERM $qemu_pid 2>/dev/null || true' INT TERM
	local qrc=0
	while :; do
		wait "$qemu_pid" && qrc=0 || qrc=$?
		# wait returns >128 when interrupted by a trapped signal; qemu may still run.
		kill -0 "$qemu_pid" 2>/dev/null || break
	done
	wait "$filter_pid" || true
	trap - INT TERM
	local elapsed=$((SECONDS - start))

	if [[ ! -s $statusf ]]; then
		{
			echo
			if ((interrupted)); then
				echo "$PROG: interrupted; qemu killed"
			elif ((qrc == 124 || qrc == 137)); then
				echo "$PROG: FAILED: the VM run exceeded --timeout $timeout s; qemu was killed"
			else
				echo "$PROG: FAILED: the VM never reported an exit status (boot failure, kernel panic, module load failure?); qemu exited with status $qrc after ${elapsed}s"
			fi
			echo "$PROG: last console lines (kernel $kernel):"
			if [[ -s $log ]]; then tail -n 40 "$log" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b.\{0,1\}//g' -e 's/^/  | /'; else echo "  | (no console output)"; fi
		} >&2
		((interrupted)) && exit 130
		exit 125
	fi
	local status
	status=$(cat "$statusf")
	if ((qrc == 124 || qrc == 137)); then
		info "warning: the command finished but the VM did not power off within --timeout $timeout s"
	fi

	if [[ -n $out_vm ]]; then
		local outerr=""
		if [[ -s $payerrf ]]; then
			outerr=$(cat "$payerrf")
		elif [[ ! -s $paysumf ]]; then
			outerr="no complete --out payload on the console"
		else
			base64 -d "$payf" >"$tmp/out.tgz" 2>/dev/null || outerr="--out payload is not valid base64"
			if [[ -z $outerr && "$(sha256sum <"$tmp/out.tgz" | cut -d' ' -f1)" != "$(cat "$paysumf")" ]]; then
				outerr="--out payload checksum mismatch (console corruption?)"
			fi
			if [[ -z $outerr ]]; then
				mkdir -p "$out_host"
				tar -xzf "$tmp/out.tgz" -C "$out_host" || outerr="extracting the --out payload into $out_host failed"
			fi
		fi
		if [[ -n $outerr ]]; then
			echo "$PROG: --out $out_vm: $outerr" >&2
			((status != 0)) || status=1
		fi
	fi
	exit "$status"
}

# ---------------------------------------------------------- kernel-test ----

cmd_kernel_test() {
	local pkgs=${KERNEL_TEST_PKGS:-./internal/ipvs ./cmd/ipvsadm}
	local envs=()
	while (($#)); do
		case $1 in
		--env) [[ $# -ge 2 ]] || die "--env needs K=V"; envs+=(--env "$2"); shift 2 ;;
		--env=*) envs+=(--env "${1#*=}"); shift ;;
		*) break ;;
		esac
	done
	local kver
	kver=$(current_kver)
	command -v go >/dev/null || die "go not found in PATH"

	local tmp
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/ipvsadm-vm-kt.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" EXIT

	local names=() runargs=() p name dir n=0 bin
	for p in $pkgs; do
		n=$((n + 1))
		dir=""
		if [[ $p == /* && -d $p ]]; then
			dir=$p
		elif [[ -d $REPO_ROOT/$p ]]; then
			dir=$REPO_ROOT/$p
		fi
		if [[ -n $dir ]]; then
			dir=$(cd "$dir" && pwd)
			name=$(basename "$dir")
		else
			name=$(basename "$p")
		fi
		name=$(tr -c 'A-Za-z0-9_.\n-' '_' <<<"$name")
		[[ " ${names[*]-} " != *" $name "* ]] || name="${name}_$n"
		mkdir -p "$tmp/$name"
		bin="$tmp/$name/$name.test"
		info "building test binary for $p"
		if [[ -n $dir ]]; then
			(cd "$dir" && CGO_ENABLED=0 go test -c -o "$bin" .) ||
				die "kernel tests: FAILED: building the test binary for $p failed"
		else
			(cd "$REPO_ROOT" && CGO_ENABLED=0 go test -c -o "$bin" "$p") ||
				die "kernel tests: FAILED: building the test binary for $p failed"
		fi
		[[ -x $bin ]] || die "kernel tests: FAILED: no test binary for $p (no test files?)"
		runargs+=(--file "$tmp/$name:/work/kt/$name")
		if [[ -n $dir && -d $dir/testdata ]]; then
			runargs+=(--file "$dir/testdata:/work/kt/$name/testdata")
		fi
		names+=("$name")
	done
	((${#names[@]})) || die "kernel tests: FAILED: KERNEL_TEST_PKGS is empty"
	# The repository's top-level testdata/ (conformance cases) and
	# COMPATIBILITY.md, at ../../ from each test binary's directory.
	[[ -d $REPO_ROOT/testdata ]] && runargs+=(--file "$REPO_ROOT/testdata:/work/testdata")
	[[ -f $REPO_ROOT/COMPATIBILITY.md ]] && runargs+=(--file "$REPO_ROOT/COMPATIBILITY.md:/work/COMPATIBILITY.md")

	# Guest-side runner: runs every binary with its output on the console
	# and in /run/kt-results/NAME.log, its exit status in NAME.status. The
	# host judges those files (brought back checksummed with --out), not the
	# console, where kernel messages may split lines.
	{
		echo '#!/bin/sh'
		echo "names='${names[*]}'"
		cat <<'EOF'
# Survive the guest deadline's SIGQUIT (it is meant for the test binaries).
trap '' QUIT
res=/run/kt-results
mkdir -p "$res"
rc=0
for name in $names; do
	echo "=== ipvsadm-vm kernel-test begin $name"
	if [ -e /run/ipvsadm-vm-deadline ]; then
		echo "ipvsadm-vm: guest deadline passed; $name not run" | tee "$res/$name.log"
		echo 124 >"$res/$name.status"
	elif [ -x "/work/kt/$name/$name.test" ]; then
		{
			(cd "/work/kt/$name" && exec "./$name.test" -test.v -test.run '^TestKernel' -test.count=1 "$@" 2>&1)
			echo $? >"$res/$name.status"
		} | tee "$res/$name.log"
	else
		echo "ipvsadm-vm: test binary /work/kt/$name/$name.test missing" | tee "$res/$name.log"
		echo 127 >"$res/$name.status"
	fi
	r=$(cat "$res/$name.status" 2>/dev/null || echo none)
	echo "=== ipvsadm-vm kernel-test end $name status $r"
	[ "$r" = 0 ] || rc=1
done
exit $rc
EOF
	} >"$tmp/kt-run.sh"
	chmod 0755 "$tmp/kt-run.sh"

	local results="$tmp/results" vmrc
	set +e
	IPVSADM_VM_TIMEOUT=${IPVSADM_VM_TIMEOUT:-1800} \
		"$SELF" run ${envs[@]+"${envs[@]}"} "${runargs[@]}" --file "$tmp/kt-run.sh:/work/kt/run.sh" \
		--out "/run/kt-results:$results" -- /work/kt/run.sh "$@"
	vmrc=$?
	set -e

	local reasons=() passed=0 failed=0 skipped=0 np nf ns st lg
	((vmrc == 0)) || reasons+=("VM run exited with status $vmrc")
	for name in "${names[@]}"; do
		lg="$results/$name.log"
		if [[ ! -f $lg || ! -f $results/$name.status ]]; then
			reasons+=("$name: no output/status came back from the VM (the binary did not run to completion)")
			continue
		fi
		st=$(cat "$results/$name.status")
		[[ $st == 0 ]] || reasons+=("$name: test binary exited with status $st")
		np=$(grep -c '^--- PASS: TestKernel' "$lg" || true)
		nf=$(grep -c -- '--- FAIL' "$lg" || true)
		ns=$(grep -c -- '--- SKIP' "$lg" || true)
		passed=$((passed + np)) failed=$((failed + nf)) skipped=$((skipped + ns))
		((np > 0)) || reasons+=("$name: no TestKernel* test passed (none ran?)")
		((nf == 0)) || reasons+=("$name: $nf test(s) failed (--- FAIL)")
		((ns == 0)) || reasons+=("$name: $ns test(s) skipped (--- SKIP); in the VM a skip is a failure")
		if grep -q 'no tests to run' "$lg"; then
			reasons+=("$name: \"no tests to run\"")
		fi
	done

	if ((${#reasons[@]})); then
		echo "kernel tests: FAILED: $passed passed, $failed failed, $skipped skipped (in VM, kernel $kver):" >&2
		local r
		for r in "${reasons[@]}"; do echo "  - $r" >&2; done
		exit 1
	fi
	echo "kernel tests: $passed passed, 0 failed, 0 skipped (in VM, kernel $kver; ${#names[@]} package(s): ${names[*]})"
}

# ----------------------------------------------------------------- main ----

main() {
	local cmd=${1:-}
	(($#)) && shift
	case $cmd in
	setup) cmd_setup "$@" ;;
	run) cmd_run "$@" ;;
	kernel-test) cmd_kernel_test "$@" ;;
	-h | --help | help) usage ;;
	"") usage >&2; exit 2 ;;
	*) echo "$PROG: unknown command '$cmd'" >&2; usage >&2; exit 2 ;;
	esac
}

# One line: bash has read all of it before running, so editing this file
# while it runs cannot make it execute text after main.
main "$@"; exit $?
