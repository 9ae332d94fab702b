#!/usr/bin/env bash
# fuzz.sh PACKAGE TARGET FUZZTIME: runs one fuzz target (make test-fuzz).
#
# Go 1.26's fuzz coordinator can report "context deadline exceeded" as a
# failure when -fuzztime ends while a worker is mid-call, under CPU load
# (golang/go#75804, fixed in Go 1.27), with no failing input. A real
# finding always writes its input to testdata/fuzz/TARGET ("Failing input
# written to"), so that is what fails here; the deadline race alone, with
# nothing written, is reported and passes. Any other failure fails.
set -uo pipefail
pkg=$1 target=$2 fuzztime=$3
log=$(mktemp)
trap 'rm -f "$log"' EXIT
${GO:-go} test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if ((rc != 0)) && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written to' "$log"; then
	echo "fuzz: $target: only the fuzz coordinator's deadline race at the end of -fuzztime (golang/go#75804), no failing input: passed"
	exit 0
fi
exit "$rc"
