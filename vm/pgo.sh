#!/usr/bin/env bash
# vm/pgo.sh - `make pgo`: record the CPU profile that Go's profile-guided
# optimization uses for ours, cmd/ipvsadm/default.pgo, on a real IPVS
# kernel (the VM of vm/vm.sh).
#
# `go build` of a main package uses the default.pgo beside it: the hot
# paths of restore, listing and saving are inlined and laid out from where
# the time goes. The profile is recorded where the benchmark runs, in the
# VM, so it weighs our code against the kernel's work as `make bench`
# sees it. Builds the profiling variant (go build -tags pprof, see
# cmd/ipvsadm/profile.go), writes the benchmark's rule files (the layout of
# testkit.BenchRules: 2,000 and 10,000 TCP services of 5 NAT real servers),
# boots the VM once, and there, in a new network namespace per table:
# restores it (three times for the smaller one), then -Ln, -Sn,
# -Ln --stats, -Ln --json and -Sn --full of it, each profiled at 1000 Hz.
# The profiles are merged (go tool pprof -proto) into
# cmd/ipvsadm/default.pgo. Rerun it after changing a hot path; a stale
# profile only makes the build less optimized, never wrong.
#
# ENVIRONMENT
#   GO             the go command (default: go)
#   PGO_OUT        where to write the merged profile
#                  (default cmd/ipvsadm/default.pgo)
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
out=${PGO_OUT:-cmd/ipvsadm/default.pgo}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "pgo: building the profiling variant of ours"
CGO_ENABLED=0 "$GO" build -tags pprof -o "$work/ipvsadm" ./cmd/ipvsadm

# rules SERVICES REALS: testkit.BenchRules' table, as ipvsadm -Sn prints it.
rules() {
	awk -v services="$1" -v reals="$2" '
	function addr(base, n,   a) {
		a = base + int(n / 254) * 256 + n % 254 + 1
		return sprintf("%d.%d.%d.%d", int(a / 16777216) % 256, int(a / 65536) % 256, int(a / 256) % 256, a % 256)
	}
	BEGIN {
		for (i = 0; i < services; i++) {
			vip = addr(10 * 16777216, i)
			printf "-A -t %s:80 -s %s\n", vip, (i % 3 == 2) ? "rr" : "wlc"
			for (j = 0; j < reals; j++)
				printf "-a -t %s:80 -r %s:8080 -m -w %d\n", vip, addr(172 * 16777216 + 16 * 65536, i * reals + j), 1 + (i + j) % 5
		}
	}'
}
rules 2000 5 >"$work/rules-12k"
rules 10000 5 >"$work/rules-60k"

cat >"$work/workload.sh" <<'EOF'
#!/bin/sh
# Runs inside the VM: every profiled workload, one new namespace per table.
set -e
mkdir -p /tmp/pgo
export IPVSADM_PROFILE_HZ=1000
for size in 12k 60k; do
	IPVSADM_SIZE=$size unshare -n sh -ec '
		ip link set lo up
		p=/tmp/pgo/$IPVSADM_SIZE
		rounds=1
		[ "$IPVSADM_SIZE" = 12k ] && rounds=3
		i=0
		while [ $i -lt $rounds ]; do
			/work/ipvsadm -C
			IPVSADM_CPUPROFILE=$p-restore-$i /work/ipvsadm -R </work/rules-$IPVSADM_SIZE
			i=$((i + 1))
		done
		IPVSADM_CPUPROFILE=$p-list /work/ipvsadm -Ln >/dev/null
		IPVSADM_CPUPROFILE=$p-save /work/ipvsadm -Sn >/dev/null
		IPVSADM_CPUPROFILE=$p-stats /work/ipvsadm -Ln --stats >/dev/null
		IPVSADM_CPUPROFILE=$p-json /work/ipvsadm -Ln --json >/dev/null
		IPVSADM_CPUPROFILE=$p-full /work/ipvsadm -Sn --full >/dev/null
	' 2>&1 | grep -v "cannot set cpu profile rate" || true
done
ls /tmp/pgo
EOF
chmod +x "$work/workload.sh"

mkdir -p "$work/profiles"
echo "pgo: profiling in the VM"
vm/vm.sh run --timeout 900 \
	--file "$work/ipvsadm:/work/ipvsadm" \
	--file "$work/rules-12k:/work/rules-12k" --file "$work/rules-60k:/work/rules-60k" \
	--file "$work/workload.sh:/work/workload.sh" \
	--out "/tmp/pgo:$work/profiles" -- /work/workload.sh
mapfile -t profiles < <(find "$work/profiles" -type f | sort)
if [ "${#profiles[@]}" -lt 14 ]; then
	echo "pgo: expected 14 profiles from the VM, got ${#profiles[@]}" >&2
	exit 1
fi
"$GO" tool pprof -proto "${profiles[@]}" >"$work/merged.pgo" 2>/dev/null
mv "$work/merged.pgo" "$out"
echo "pgo: wrote $out from ${#profiles[@]} profiles ($(wc -c <"$out") bytes)"
