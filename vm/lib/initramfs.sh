# shellcheck shell=bash
# vm/lib/initramfs.sh: the VM's initramfs (sourced by vm/vm.sh). Two gzip'd
# cpio archives, concatenated at boot:
#   base     cached in $CACHE/initramfs/base-KVER-KEY.cpio.gz: busybox, the
#            kernel modules, the reference ipvsadm with its libraries, /etc,
#            and vm/guest/ (/init, /usr/local/bin/run-kernel-tests, etc/);
#            KEY changes with anything that goes into it.
#   payload  per run: /etc/ipvsadm-vm/run.conf (command, environment,
#            nonce, --out, deadline) and the --file copies.

current_kver() {
	[[ -f $CACHE/current ]] || die "no kernel in $CACHE: run 'vm/vm.sh setup' (as root) first"
	local kver
	kver=$(cat "$CACHE/current")
	[[ -f $CACHE/kernel/$kver/.complete ]] || die "kernel $kver in $CACHE is incomplete: run 'vm/vm.sh setup' again"
	echo "$kver"
}

# Module paths (relative to the kernel tree root, in load order) and
# options, one "PATH [OPTIONS]" a line: every IPVS scheduler the kernel
# ships, EXTRA_MODULES, and their dependencies.
module_load_order() {
	local kver=$1 kroot="$CACHE/kernel/$1"
	local ipvsdir="$kroot/lib/modules/$kver/kernel/net/netfilter/ipvs"
	[[ -d $ipvsdir ]] || die "kernel $kver has no IPVS modules ($ipvsdir)"
	local wanted=(ip_vs) s m f
	for s in "${IPVS_SCHEDULERS_REQUIRED[@]}"; do
		compgen -G "$ipvsdir/ip_vs_$s.ko*" >/dev/null ||
			die "kernel $kver lacks the IPVS scheduler module ip_vs_$s"
	done
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
	done | mawk -v root="$kroot" -v modopts="${MODULE_OPTIONS[*]}" -f "$VM_DIR/modules.awk"
}

ldd_paths() {
	local out
	out=$(ldd "$1") || die "ldd $1 failed"
	if grep -q 'not found' <<<"$out"; then
		die "ldd $1: missing libraries: $out"
	fi
	mawk '$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }' <<<"$out"
}

# Key of the base initramfs: changes with the scripts that build it, the
# guest files, the kernel, busybox, the reference ipvsadm, its libraries
# and the host's /etc files it copies.
base_key() {
	local kver=$1
	{
		cat "$VM_DIR/vm.sh" "$VM_DIR/lib/initramfs.sh" "$VM_DIR/modules.awk"
		(cd "$VM_DIR" && find guest -type f | LC_ALL=C sort | xargs sha256sum)
		cat "$CACHE/kernel/$kver/.complete"
		sha256sum /bin/busybox "$REF_IPVSADM" /etc/services /etc/protocols
		ldd_paths "$REF_IPVSADM" | xargs -r readlink -f | xargs -r sha256sum
	} | sha256sum | cut -c1-16
}

# cpio_gz DIR LEVEL: DIR as a newc cpio archive (owned by root), gzip'd.
cpio_gz() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip "-$2"
}

# Prints the path of the cached base initramfs, building it when missing.
# $2: directory to build in when the cache is read-only.
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
	# shellcheck disable=SC2064 # expand now
	trap "rm -rf '$st' '$tmpimg'" EXIT
	info "building the initramfs base for kernel $kver"
	build_base_tree "$kver" "$st"
	cpio_gz "$st" 6 >"$tmpimg"
	mv "$tmpimg" "$img"
	# Older images are useless now (kept an hour for runs that already chose them).
	find "$dir" -maxdepth 1 -name 'base-*.cpio.gz' ! -name "$(basename "$img")" -mmin +60 -delete 2>/dev/null || true
	echo "$img"
}

build_base_tree() {
	local kver=$1 st=$2 kroot="$CACHE/kernel/$1" d
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
	for a in sh ip nsenter unshare timeout insmod poweroff mount hostname tar gzip base64 sha256sum tee awk; do
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
		dst=${rel%.xz} && dst=${dst%.zst} && dst=${dst%.gz}
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
	local lib
	while read -r lib; do
		mkdir -p "$st$(dirname "$lib")"
		cp -L "$lib" "$st$lib"
	done < <(ldd_paths "$REF_IPVSADM")

	# /etc: the host's protocols, the rest from vm/guest/etc: its hosts file
	# is the one place where the tests' host names live, and its services
	# (Debian's) is the one the host's replay of the conformance suite
	# resolves with too.
	cp /etc/services /etc/protocols "$st/etc/"
	cp -r "$VM_DIR/guest/etc/." "$st/etc/"
	echo "$kver" >"$st/etc/ipvsadm-vm/kernel"
	install -m 0755 "$VM_DIR/guest/init" "$st/init"
	install -m 0755 "$VM_DIR/guest/run-kernel-tests" "$st/usr/local/bin/run-kernel-tests"
}

# write_payload DIR NONCE OUT-VMDIR DEADLINE ENVS-COUNT ENV... FILE... -- COMMAND...
# fills DIR with the per-run part of the initramfs.
write_payload() {
	local st=$1 nonce=$2 out_vm=$3 deadline=$4 nenv=$5 e f src dst
	shift 5
	mkdir -p "$st/etc/ipvsadm-vm" "$st/work"
	{
		echo "VM_NONCE=$nonce"
		echo "VM_OUT_DIR=$(shq "$out_vm")"
		echo "VM_DEADLINE=$deadline"
		# The environment applies to the command only, not to /init.
		echo 'vm_env() {'
		while ((nenv-- > 0)); do
			e=$1 && shift
			[[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--env must be K=V with a valid name, not '$e'"
			echo "	export ${e%%=*}=$(shq "${e#*=}")"
		done
		echo '	:'
		echo '}'
		printf 'set --'
		local seen=0 a
		for a in "$@"; do
			((seen)) && printf ' %s' "$(shq "$a")"
			[[ $a == -- ]] && seen=1
		done
		echo
	} >"$st/etc/ipvsadm-vm/run.conf"
	while (($#)) && [[ $1 != -- ]]; do
		f=$1 && shift
		src=${f%%:*} dst=/work/$(basename "$f")
		[[ $f == *:* ]] && dst=${f#*:}
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
}
