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

# shellcheck source=scripts/daemon.sh
. "$(dirname "$0")/daemon.sh"

# pid prints the collector's pid if it runs.
pid() { daemon_pid "$pid_file" e2l-collector; }

metric() { # metric NAME: its value on /metrics, empty if unreachable
	curl -fsS --max-time 2 "http://$listen/metrics" 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }'
}

stream_open() { [[ $(metric e2l_collector_docker_stream_up) == 1 ]]; }

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
	local p=$! ready=stream_open
	# While another process serves $listen this one is never ready: wait
	# for it to exit (its log's last lines say why).
	[[ -n $busy ]] && ready=false
	if ! daemon_wait collector "$p" "$pid_file" "$log" 30 "$ready"; then
		[[ -z $busy ]] || echo "collector: another process serves http://$listen (another collector of this host, the Swarm stack's?)" >&2
		return 1
	fi
	echo "collector: running (pid $p) as host $host, http://$listen, spool $dir/spool, log $log"
}

# It drains its spool for up to twice its drain timeout (10 s by default).
stop() { daemon_stop collector "$pid_file" e2l-collector 60; }

status() {
	if p=$(pid); then
		echo "collector: running (pid $p), spool pending $(metric e2l_collector_spool_pending_records), committed records $(metric e2l_collector_spool_committed_records_total)"
	else
		echo "collector: not running"
		return 3
	fi
}

daemon_main "$@"
