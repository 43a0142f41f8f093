# shellcheck shell=bash
# vm/lib/setup.sh: `vm/vm.sh setup` (sourced by vm/vm.sh). Installs the
# Debian packages the VM needs and fetches Debian's kernel into the cache:
#   $CACHE/kernel/KVER/      the unpacked kernel package (dpkg-deb -x,
#                            depmod -b), with .complete = "PACKAGE VERSION"
#   $CACHE/current           KVER of the kernel in use
#   $CACHE/initramfs/        base initramfs images (vm/lib/initramfs.sh)

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
	[[ -z $dl ]] || unpack_kernel "$dl" "$kpkg" "$kpkgver" "$kver"
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

# unpack_kernel DLDIR PACKAGE VERSION KVER: unpacks the .deb downloaded into
# DLDIR and moves it into place as $CACHE/kernel/KVER.
unpack_kernel() {
	local dl=$1 kpkg=$2 kpkgver=$3 kver=$4 deb
	# shellcheck disable=SC2064 # expand now: $dl is local
	trap "rm -rf '$dl'" RETURN
	deb=$(find "$dl" -maxdepth 1 -name '*.deb')
	[[ -n $deb && $deb != *$'\n'* ]] || die "apt-get download did not produce exactly one .deb"
	dpkg-deb -x "$deb" "$dl/root" || die "dpkg-deb -x $deb failed"
	[[ -f $dl/root/boot/vmlinuz-$kver ]] || die "$deb has no boot/vmlinuz-$kver"
	[[ -d $dl/root/lib/modules/$kver ]] || die "$deb has no lib/modules/$kver"
	depmod -b "$dl/root" "$kver" || die "depmod -b $dl/root $kver failed"
	echo "$kpkg $kpkgver" >"$dl/root/.complete"
	mkdir -p "$CACHE/kernel"
	rm -rf "$CACHE/kernel/$kver"
	mv "$dl/root" "$CACHE/kernel/$kver"
}
