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

pid() {
	local p
	[[ -f $pid_file ]] || return 1
	p=$(<"$pid_file")
	[[ $p =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q ' serve ' || return 1
	echo "$p"
}

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
	local p=$! i
	for ((i = 0; i < 600; i++)); do
		if ! kill -0 "$p" 2>/dev/null; then
			echo "web view: exited at start; last lines of $log:" >&2
			tail -n 20 "$log" >&2
			rm -f "$pid_file"
			return 1
		fi
		curl -fsS --max-time 2 "http://$listen/healthz" >/dev/null 2>&1 && break
		sleep 0.1
	done
	if ! curl -fsS --max-time 2 "http://$listen/healthz" >/dev/null 2>&1; then
		echo "web view: started (pid $p) but not answering after 60 s; see $log" >&2
		return 1
	fi
	echo "web view: http://$listen/  (pid $p, read-only, the index following the channel; log $log)"
}

stop() {
	local p i
	if ! p=$(pid); then
		rm -f "$pid_file"
		echo "web view: not running"
		return 0
	fi
	kill -TERM "$p"
	for ((i = 0; i < 300; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$p" 2>/dev/null; then
		echo "web view: still running 30 s after SIGTERM: SIGKILL" >&2
		kill -KILL "$p"
	fi
	rm -f "$pid_file"
	echo "web view: stopped (pid $p)"
}

status() {
	if p=$(pid); then
		echo "web view: running (pid $p): http://$listen/"
	else
		echo "web view: not running"
		return 3
	fi
}

case ${1:-} in
start | stop | status) "$1" ;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
