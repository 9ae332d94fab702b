# Start, stop and find a background process of the local development
# setup (scripts/collector.sh, scripts/webview.sh) by its pid file.
# Sourced, not run:
#
#   . "$(dirname "$0")/daemon.sh"
#   daemon_pid PID_FILE MATCH              print the pid if it runs (its command line contains MATCH)
#   daemon_wait NAME PID PID_FILE LOG SECONDS READY...
#                                          wait until READY (a command) succeeds; fail if the
#                                          process exits first (the log's last lines) or after SECONDS
#   daemon_stop NAME PID_FILE MATCH SECONDS
#                                          SIGTERM, wait up to SECONDS for the exit, then SIGKILL
#   daemon_main "$@"                       run the sourcing script's start, stop or status

daemon_pid() {
	local pid_file=$1 match=$2 p
	[[ -f $pid_file ]] || return 1
	p=$(<"$pid_file")
	[[ $p =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null || return 1
	# Not another program that got the pid since.
	tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "$match" || return 1
	echo "$p"
}

daemon_wait() {
	local name=$1 p=$2 pid_file=$3 log=$4 seconds=$5 i
	shift 5
	for ((i = 0; i < seconds * 10; i++)); do
		if ! kill -0 "$p" 2>/dev/null; then
			echo "$name: exited at start; last lines of $log:" >&2
			tail -n 20 "$log" >&2
			rm -f "$pid_file"
			return 1
		fi
		"$@" && return 0
		sleep 0.1
	done
	"$@" && return 0
	echo "$name: started (pid $p) but not ready after $seconds s; see $log" >&2
	return 1
}

daemon_stop() {
	local name=$1 pid_file=$2 match=$3 seconds=$4 p i
	if ! p=$(daemon_pid "$pid_file" "$match"); then
		rm -f "$pid_file"
		echo "$name: not running"
		return 0
	fi
	kill -TERM "$p"
	for ((i = 0; i < seconds * 10; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$p" 2>/dev/null; then
		echo "$name: still running $seconds s after SIGTERM: SIGKILL" >&2
		kill -KILL "$p"
	fi
	rm -f "$pid_file"
	echo "$name: stopped (pid $p)"
}

daemon_main() {
	case ${1:-} in
	start | stop | status) "$1" ;;
	*)
		echo "usage: $0 start|stop|status" >&2
		exit 2
		;;
	esac
}
