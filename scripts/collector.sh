#!/usr/bin/env bash
# Run this machine's e2l collector in the background against the local
# network (make up / make down).
#
#   scripts/collector.sh start   start it unless it runs; wait until its Docker event stream is open
#   scripts/collector.sh stop    SIGTERM, wait for its clean stop (it drains its spool first)
#   scripts/collector.sh status
#
# Settings (environment): NET_DIR (.e2l/network), HOST (hostname),
# COLLECTOR_DIR (.e2l/collector: spool/, collector.log, collector.pid),
# COLLECTOR_LISTEN (127.0.0.1:9464), COLLECTOR_BIN (.bin/e2l-collector),
# E2L_DOCKER_HOST (unix:///var/run/docker.sock).
set -euo pipefail

net_dir=${NET_DIR:-.e2l/network}
host=${HOST:-$(hostname)}
dir=${COLLECTOR_DIR:-.e2l/collector}
listen=${COLLECTOR_LISTEN:-127.0.0.1:9464}
bin=${COLLECTOR_BIN:-.bin/e2l-collector}
env_file=$net_dir/hosts/$host/collector.env
pid_file=$dir/collector.pid
log=$dir/collector.log

# pid prints the collector's pid if it runs.
pid() {
	local p
	[[ -f $pid_file ]] || return 1
	p=$(<"$pid_file")
	[[ $p =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null || return 1
	# Not another program that got the pid since.
	tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q 'e2l-collector' || return 1
	echo "$p"
}

metric() { # metric NAME: its value on /metrics, empty if unreachable
	curl -fsS --max-time 2 "http://$listen/metrics" 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }'
}

start() {
	if p=$(pid); then
		echo "collector: already running (pid $p, http://$listen, log $log)"
		return 0
	fi
	[[ -f $env_file ]] || { echo "collector: no $env_file: enroll this host first (make up)" >&2; return 1; }
	[[ -x $bin ]] || { echo "collector: no $bin: go build -o $bin ./cmd/e2l-collector" >&2; return 1; }
	# Another process answering on $listen (the Swarm stack's collector
	# publishes 9464 on every node) would pass for this one below. This one
	# then cannot serve there: it refuses to start (another collector
	# writes this host's chain) or fails to listen. Wait for it to exit and
	# show why, instead of reading the other's metrics.
	local busy=""
	curl -s -o /dev/null --max-time 2 "http://$listen/" && busy=1
	mkdir -p "$dir/spool"
	(
		set -a
		# shellcheck disable=SC1090
		. "$env_file"
		set +a
		export E2L_SPOOL_DIR="$dir/spool" E2L_LISTEN="$listen" E2L_DOCKER_HOST="${E2L_DOCKER_HOST:-unix:///var/run/docker.sock}"
		# Its own session: it outlives make and the terminal.
		exec setsid "$bin" </dev/null >>"$log" 2>&1
	) &
	echo $! >"$pid_file"
	local p=$! i
	for ((i = 0; i < 300; i++)); do
		if ! kill -0 "$p" 2>/dev/null; then
			echo "collector: exited at start; last lines of $log:" >&2
			tail -n 20 "$log" >&2
			rm -f "$pid_file"
			return 1
		fi
		[[ -z $busy && $(metric e2l_collector_docker_stream_up) == 1 ]] && break
		sleep 0.1
	done
	if [[ -n $busy ]]; then
		echo "collector: started (pid $p), but another process serves http://$listen (another collector of this host, the Swarm stack's?); see $log" >&2
		return 1
	fi
	if [[ $(metric e2l_collector_docker_stream_up) != 1 ]]; then
		echo "collector: started (pid $p) but its Docker event stream is not open after 30 s; see $log" >&2
		return 1
	fi
	echo "collector: running (pid $p) as host $host, http://$listen, spool $dir/spool, log $log"
}

stop() {
	local p i
	if ! p=$(pid); then
		rm -f "$pid_file"
		echo "collector: not running"
		return 0
	fi
	kill -TERM "$p"
	# It drains its spool for up to twice its drain timeout (10 s by default).
	for ((i = 0; i < 600; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$p" 2>/dev/null; then
		echo "collector: still running 60 s after SIGTERM: SIGKILL" >&2
		kill -KILL "$p"
	fi
	rm -f "$pid_file"
	echo "collector: stopped (pid $p)"
}

status() {
	if p=$(pid); then
		echo "collector: running (pid $p), spool pending $(metric e2l_collector_spool_pending_records), committed records $(metric e2l_collector_spool_committed_records_total)"
	else
		echo "collector: not running"
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
