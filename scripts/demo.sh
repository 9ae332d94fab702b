#!/usr/bin/env bash
# Show the collector working (make up): run a short container, wait until
# its events are committed on the ledger, print them, and say how to watch.
#
# Settings (environment): NET_DIR (.e2l/network), HOST (hostname),
# COLLECTOR_DIR (.e2l/collector), COLLECTOR_LISTEN (127.0.0.1:9464),
# E2L_CLI (.bin/e2l), DEMO_IMAGE (e2l-busybox:test).
set -euo pipefail

net_dir=${NET_DIR:-.e2l/network}
host=${HOST:-$(hostname)}
dir=${COLLECTOR_DIR:-.e2l/collector}
listen=${COLLECTOR_LISTEN:-127.0.0.1:9464}
cli=${E2L_CLI:-.bin/e2l}
image=${DEMO_IMAGE:-e2l-busybox:test}
env_file=$net_dir/hosts/$host/collector.env

# No registry is needed: the image is Debian's static busybox, imported.
if ! docker image inspect "$image" >/dev/null 2>&1; then
	[[ -x /bin/busybox ]] || { echo "demo: $image is missing and /bin/busybox is not installed (apt-get install busybox-static)" >&2; exit 1; }
	root=$(mktemp -d)
	trap 'rm -rf "$root"' EXIT
	mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/proc" "$root/sys" "$root/dev"
	cp /bin/busybox "$root/bin/busybox"
	for a in sh sleep true false echo cat ls kill; do ln -s busybox "$root/bin/$a"; done
	tar -C "$root" -c . | docker import --change 'CMD ["/bin/sh"]' - "$image" >/dev/null
	echo "demo: imported $image from /bin/busybox"
fi

name=e2l-demo-$(date +%s)
echo "demo: docker run $name ($image): create, start, die, destroy"
cid=$(docker run -d --network none --name "$name" "$image" sh -c 'echo hello from e2l')
docker wait "$cid" >/dev/null
docker rm "$cid" >/dev/null

echo "demo: waiting for the container's events to commit on the ledger"
events() { "$cli" --env-file "$env_file" events --actor "$cid" "$@"; }
for ((i = 0; i < 120; i++)); do
	if events -o csv 2>/dev/null | grep -q ',destroy,'; then
		break
	fi
	sleep 0.5
done
if ! events -o csv 2>/dev/null | grep -q ',destroy,'; then
	echo "demo: the container's destroy event is not on the ledger after 60 s; see $dir/collector.log" >&2
	exit 1
fi
echo
events
cat <<EOT

The collector records this machine's Docker events on the e2l ledger. Watch it:
  log      tail -f $dir/collector.log
  metrics  curl -s http://$listen/metrics | grep ^e2l_   (spool backlog, commits, gaps)
  ready    curl -s http://$listen/readyz
  chain    $cli --env-file $env_file events --host $host
  live     $cli --env-file $env_file events --watch
  verify   $cli --env-file $env_file verify --host $host
  control  scripts/collector.sh status|stop|start   (make down stops it)
EOT
