#!/usr/bin/env bash
# Run the auditors' web view (e2l serve) in the background against the local
# network (make up / make down), following the channel into an audit index
# of its own.
#
#   scripts/webview.sh start   start it unless it runs; wait until it answers, print its URL
#   scripts/webview.sh stop    SIGTERM, wait for its exit
#   scripts/webview.sh status
#
# Settings (environment): NET_DIR (.e2l/network), HOST (hostname: whose
# identity it reads with), WEB_DIR (.e2l/web: cache/ with the index,
# webview.log, webview.pid), WEB_LISTEN (127.0.0.1:9480), E2L_CLI (.bin/e2l),
# E2L_TRUST_FILE ($NET_DIR/auditor-trust, as the demo's).
set -euo pipefail

net_dir=${NET_DIR:-.e2l/network}
host=${HOST:-$(hostname)}
dir=${WEB_DIR:-.e2l/web}
listen=${WEB_LISTEN:-127.0.0.1:9480}
cli=${E2L_CLI:-.bin/e2l}
trust_file=${E2L_TRUST_FILE:-$net_dir/auditor-trust}
env_file=$net_dir/hosts/$host/collector.env
pid_file=$dir/webview.pid
log=$dir/webview.log

# shellcheck source=scripts/daemon.sh
. "$(dirname "$0")/daemon.sh"

pid() { daemon_pid "$pid_file" ' serve '; }

answers() { curl -fsS --max-time 2 "http://$listen/healthz" >/dev/null 2>&1; }

start() {
	if p=$(pid); then
		echo "web view: running (pid $p): http://$listen/  (log $log)"
		return 0
	fi
	[[ -f $env_file ]] || { echo "web view: no $env_file: enroll this host first (make up)" >&2; return 1; }
	[[ -x $cli ]] || { echo "web view: no $cli: go build -o $cli ./cmd/e2l" >&2; return 1; }
	mkdir -p "$dir/cache"
	# Its own session: it outlives make and the terminal. Its own cache
	# directory: the index is one file per channel and trust anchor there,
	# so a re-created network gets a new one.
	XDG_CACHE_HOME="$dir/cache" setsid "$cli" --env-file "$env_file" --trust-file "$trust_file" serve --listen "$listen" \
		</dev/null >>"$log" 2>&1 &
	echo $! >"$pid_file"
	local p=$!
	daemon_wait "web view" "$p" "$pid_file" "$log" 60 answers || return 1
	echo "web view: http://$listen/  (pid $p, read-only, the index following the channel; log $log)"
}

stop() { daemon_stop "web view" "$pid_file" ' serve ' 30; }

status() {
	if p=$(pid); then
		echo "web view: running (pid $p): http://$listen/"
	else
		echo "web view: not running"
		return 3
	fi
}

daemon_main "$@"
