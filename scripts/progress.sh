#!/usr/bin/env bash
# progress.sh LABEL COMMAND...: runs COMMAND and, while it runs, prints
# "LABEL: still running (Ns)" every PROGRESS_EVERY seconds (default 15), so a
# long silent step (the Fabric build) shows it is alive. Exits with
# COMMAND's status.
set -uo pipefail
label=$1
shift
every=${PROGRESS_EVERY:-15}
start=$SECONDS
"$@" &
child=$!
trap 'kill "$child" 2>/dev/null' INT TERM
while kill -0 "$child" 2>/dev/null; do
	for ((i = 0; i < every; i++)); do
		kill -0 "$child" 2>/dev/null || break
		sleep 1
	done
	kill -0 "$child" 2>/dev/null && echo "$label: still running ($((SECONDS - start))s)"
done
wait "$child"
rc=$?
((SECONDS - start >= every)) && echo "$label: done in $((SECONDS - start))s"
exit $rc
