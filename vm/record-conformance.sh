#!/usr/bin/env bash
# vm/record-conformance.sh - record what ipvsadm 1.31 does in every
# conformance case, for the host replay of the suite.
#
# Runs TestKernelConformance in the VM with IPVSADM_CONFORMANCE_RECORD set,
# brings the recordings back and merges them into
# testdata/conformance/reference.json (one entry per case, "file/name":
# every command's stdout, stderr and exit status, and the final table).
# TestConformanceReplay in cmd/ipvsadm runs the cases on the host against
# it. Run it after adding or changing cases (make conformance-record).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
GO=${GO:-go}

work=$(mktemp -d "${TMPDIR:-/tmp}/ipvsadm-record.XXXXXX")
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 "$GO" test -c -o "$work/ipvsadm.test" ./cmd/ipvsadm
mkdir -p "$work/rec"
vm/vm.sh run --timeout "${IPVSADM_VM_TIMEOUT:-2400}" \
	--file "$work/ipvsadm.test:/work/kt/ipvsadm.test" \
	--file testdata:/work/testdata --file COMPATIBILITY.md:/work/COMPATIBILITY.md \
	--env IPVSADM_CONFORMANCE_RECORD=/work/rec \
	--env IPVSADM_CONFORMANCE_DIR=/work/testdata/conformance \
	--out "/work/rec:$work/rec" \
	-- sh -c 'mkdir -p /work/rec && cd /work/kt && ./ipvsadm.test -test.run "^TestKernelConformance$" -test.count=1'
IPVSADM_RECORDINGS="$work/rec" "$GO" test ./cmd/ipvsadm -run '^TestMergeRecordings$' -count=1 -v
