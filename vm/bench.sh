#!/usr/bin/env bash
# vm/bench.sh - `make bench`: the reference ipvsadm 1.31 against ours on a
# real IPVS kernel (the VM of vm/vm.sh, booted once).
#
# Builds ours for real (CGO_ENABLED=0 go build ./cmd/ipvsadm) and the
# driver, ipvsadm-bench (./vm/bench, whose package comment details the
# method), and boots the VM once. For each table size the driver
# generates a rule file in `ipvsadm -Sn` form (TCP services on distinct
# VIPs, wlc/rr, NAT real servers with weights), checks correctness
# (restores by either tool give the same `ipvsadm -Sn`, equal to the file;
# -Ln, -Sn, -Ln --stats byte-identical), then times both tools,
# alternating: -R into an empty table (a new network namespace each time),
# -Ln, -Sn, -Ln --stats, a single -A and a single -a on the loaded table,
# -C of it; wall time, user/system CPU (rusage) and peak RSS (ru_maxrss,
# through busybox time). The third contender, in the same boot and rounds,
# is the Go library github.com/moby/ipvs v1.1.0 (kube-proxy's IPVS mode,
# Docker, telegraf) through ipvsadm-moby (./vm/bench/moby, its own module):
# its restore of the same files (one request per line, as kube-proxy), its
# listing with counters (against ours -Ln --stats --exact and -Ln --json)
# and its flush, in a table of their own. Then, on the largest table,
# converging to a table with 1% of its lines changed: ours `-R --replace`
# against ipvsadm 1.31's `-C` then `-R`, with the flush window (how long
# services both tables hold were missing), and `-R --replace` of no change
# against ours' -Sn.
#
# Prints the table of medians, ratios (ipvsadm/ours) and targets (PASS/MISS,
# informational) and writes it to bin/bench-results.txt, every run to
# bin/bench-samples.tsv. Exits 0 when everything ran (targets missed or
# not), non-zero on a correctness failure (1), a driver error (2) or a VM
# failure (125: no boot, timeout). Needs `vm/vm.sh setup` done (make bench
# does it). Run as root (like vm-test). The default run takes about ten
# minutes on two cores; BENCH_QUICK=1 about two.
#
# ENVIRONMENT
#   BENCH_QUICK=1        quick run: tables 200x5 and 1000x5, 3 rounds,
#                        5 rounds of the single commands
#   BENCH_SIZES          table sizes SERVICESxREALS, comma-separated
#                        (default 2000x5,10000x5: 12,000 and 60,000 lines)
#   BENCH_WIDE           real servers of one service, every view measured
#                        (default 20000; quick 5000; 0 leaves it out)
#   BENCH_CONVERGE       table of the converge workloads, SERVICESxREALS
#                        (default the largest of BENCH_SIZES; 0 leaves them
#                        out; at 60,000 lines ipvsadm 1.31's -C then -R
#                        takes minutes per round in the VM)
#   BENCH_CONVERGE_ROUNDS  rounds of the converge workloads (default 2)
#   BENCH_ROUNDS         rounds per size, comma-separated, the last repeating
#                        (default 7,5)
#   BENCH_SINGLE_ROUNDS  rounds of the single -A / -a (default 15)
#   BENCH_SETTLE_MS      pause before each timed restore and -C (default 500)
#   BENCH_MOBY=0         leave the moby/ipvs contender out
#   BENCH_MEM            guest memory in MiB (default 1024)
#   BENCH_SMP            virtual CPUs (default 1; the issue's targets are at 1,
#                        --stats is also reported at 2, where ours dumps real
#                        servers on several sockets)
#   BENCH_TIMEOUT        limit for the VM run in seconds (default 3600)
#   GO                   the go command (default go)
set -euo pipefail
shopt -s inherit_errexit

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$VM_DIR/.." && pwd)
GO=${GO:-go}
mem=${BENCH_MEM:-1024}
smp=${BENCH_SMP:-1}
timeout=${BENCH_TIMEOUT:-3600}

cd "$REPO_ROOT"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ipvsadm-bench.XXXXXX")
# shellcheck disable=SC2064
trap "rm -rf '$tmp'" EXIT

echo "bench: building ours and the driver (CGO_ENABLED=0 go build)" >&2
mkdir -p "$tmp/ours" "$tmp/out"
CGO_ENABLED=0 "$GO" build -o "$tmp/ours/ipvsadm" ./cmd/ipvsadm
CGO_ENABLED=0 "$GO" build -o "$tmp/ipvsadm-bench" ./vm/bench
# The moby/ipvs contender: its own module (vm/bench/moby/go.mod), built
# from its directory.
moby_file=() moby_arg=()
if [[ ${BENCH_MOBY:-1} != 0 ]]; then
	echo "bench: building the moby/ipvs driver (vm/bench/moby, its own module)" >&2
	(cd vm/bench/moby && CGO_ENABLED=0 "$GO" build -o "$tmp/ipvsadm-moby" .)
	moby_file=(--file "$tmp/ipvsadm-moby:/work/bench/ipvsadm-moby")
	moby_arg=(-moby /work/bench/ipvsadm-moby)
fi

envs=()
for v in BENCH_QUICK BENCH_SIZES BENCH_ROUNDS BENCH_SINGLE_ROUNDS BENCH_SETTLE_MS BENCH_WIDE BENCH_CONVERGE BENCH_CONVERGE_ROUNDS; do
	if [[ -n ${!v:-} ]]; then envs+=(--env "$v=${!v}"); fi
done

start=$SECONDS
rc=0
"$VM_DIR/vm.sh" run --smp "$smp" --mem "$mem" --timeout "$timeout" ${envs[@]+"${envs[@]}"} \
	--file "$tmp/ours/ipvsadm:/work/bench/ours/ipvsadm" \
	--file "$tmp/ipvsadm-bench:/work/bench/ipvsadm-bench" \
	${moby_file[@]+"${moby_file[@]}"} \
	--out "/tmp/bench-out:$tmp/out" \
	-- /work/bench/ipvsadm-bench -ours /work/bench/ours/ipvsadm -ref /ref/bin/ipvsadm \
	${moby_arg[@]+"${moby_arg[@]}"} \
	-out /tmp/bench-out -work /tmp/bench-work || rc=$?
elapsed=$((SECONDS - start))

mkdir -p bin
[[ ! -f $tmp/out/samples.tsv ]] || cp "$tmp/out/samples.tsv" bin/bench-samples.tsv
if ((rc != 0)); then
	echo >&2
	echo "bench: FAILED (status $rc after ${elapsed}s):" >&2
	if [[ -f $tmp/out/FAILED ]]; then
		sed 's/^/bench:   /' "$tmp/out/FAILED" >&2
	else
		echo "bench:   the VM or the driver failed; see the output above" >&2
	fi
	exit "$rc"
fi
[[ -s $tmp/out/results.txt ]] || { echo "bench: FAILED: no results came back from the VM" >&2; exit 1; }
{
	cat "$tmp/out/results.txt"
	echo "note: VM run ${elapsed}s including boot (qemu TCG, ${smp} vCPU, ${mem} MiB)"
} >bin/bench-results.txt
echo
echo "=================================== bench results ==================================="
cat bin/bench-results.txt
echo "(written to bin/bench-results.txt; every run in bin/bench-samples.tsv)"
