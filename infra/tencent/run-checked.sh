#!/bin/bash
# run-checked.sh COMMAND [ARGS...]
#
# Runs a Tencent deploy tool (tcb, scf), shows its output, and fails when the
# tool exits non-zero OR prints a failure marker: both tools have been seen to
# exit 0 after a failed deployment (missing login, unreachable API, rejected
# function). Markers are matched as fixed strings on the combined output.
set -u -o pipefail

if [ "$#" -eq 0 ]; then
	echo "usage: run-checked.sh COMMAND [ARGS...]" >&2
	exit 2
fi

log=$(mktemp) || exit 1
trap 'rm -f "$log"' EXIT

"$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
	echo "run-checked: $1 exited with status $status" >&2
	exit "$status"
fi

markers=(
	'✖'                 # tcb: a failed step
	'失败'              # "failed"
	'错误'              # "error"
	'请扫码'            # Serverless Components: QR-code login prompt, i.e. no credentials
	'No valid identity' # tcb: not logged in
	'ENOTFOUND'
	'EAI_AGAIN'
	'ECONNREFUSED'
	'ETIMEDOUT'
	'Error:'
)
for m in "${markers[@]}"; do
	if grep -qF -- "$m" "$log"; then
		echo "run-checked: $1 exited 0 but printed the failure marker '$m'" >&2
		exit 1
	fi
done
