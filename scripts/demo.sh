#!/usr/bin/env bash
# Show the collector working (make up): run the paper's container scenario,
# wait until its events are committed on the ledger, show its timeline, its
# running time next to what docker inspect says, verify this host's chain,
# and say how to watch.
#
# Settings (environment): NET_DIR (.e2l/network), HOST (hostname),
# COLLECTOR_DIR (.e2l/collector), COLLECTOR_LISTEN (127.0.0.1:9464),
# E2L_CLI (.bin/e2l), DEMO_IMAGE (e2l-testbox:test), E2L_TRUST_FILE
# ($NET_DIR/auditor-trust: the dev network's genesis hash, pinned by the
# first e2l verify; a network re-created by make down-purge starts afresh).
set -euo pipefail

net_dir=${NET_DIR:-.e2l/network}
host=${HOST:-$(hostname)}
dir=${COLLECTOR_DIR:-.e2l/collector}
listen=${COLLECTOR_LISTEN:-127.0.0.1:9464}
cli=${E2L_CLI:-.bin/e2l}
image=${DEMO_IMAGE:-e2l-testbox:test}
env_file=$net_dir/hosts/$host/collector.env
trust_file=${E2L_TRUST_FILE:-$net_dir/auditor-trust}

# No registry and no OS package is needed: the image holds the project's
# own static test program (internal/testimage), built and imported FROM scratch.
if ! docker image inspect "$image" >/dev/null 2>&1; then
	echo "demo: building the test image $image (internal/testimage)"
	${GO:-go} run ./internal/testimage/cmd/e2l-testimage >/dev/null
fi

# The paper's scenario 2 with the Docker CLI: create, start, pause,
# unpause, stop, rm, a couple of seconds in each state.
name=e2l-demo-$(date +%s)
since=$(date +%s%N)
echo "demo: the paper's scenario 2 on $name ($image): create, start, pause, unpause, stop, rm"
cid=$(docker create --network none --name "$name" "$image" sleep 1000)
docker start "$cid" >/dev/null
sleep 2
docker pause "$cid" >/dev/null
sleep 1
docker unpause "$cid" >/dev/null
sleep 2
docker stop -t 1 "$cid" >/dev/null
state=$(docker inspect --format '{{.State.StartedAt}} … {{.State.FinishedAt}}' "$cid")
docker rm "$cid" >/dev/null

echo "demo: waiting for the container's events to commit on the ledger"
e2l() { "$cli" --env-file "$env_file" --trust-file "$trust_file" "$@"; }
for ((i = 0; i < 120; i++)); do
	if e2l events --actor "$cid" -o csv 2>/dev/null | grep -q ',destroy,'; then
		break
	fi
	sleep 0.5
done
if ! e2l events --actor "$cid" -o csv 2>/dev/null | grep -q ',destroy,'; then
	echo "demo: the container's destroy event is not on the ledger after 60 s; see $dir/collector.log" >&2
	exit 1
fi
echo
echo "\$ e2l timeline $name"
e2l timeline "$cid"
echo
echo "\$ e2l usage --from $since --to now    (docker inspect: $state)"
e2l usage --from "$since" --to now
echo
echo "\$ e2l verify --host $host"
e2l verify --host "$host"
# The paper's scenario 1 needs a Swarm manager; the demo does not turn the
# engine into one by itself.
if [[ $(docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}' 2>/dev/null) == "active true" ]]; then
	svc=e2l-demo-svc-$(date +%s)
	svc_since=$(date +%s%N)
	echo
	echo "demo: the paper's scenario 1: service $svc created with 1 replica, scaled to 3, removed"
	sid=$(docker service create --quiet --detach=false --no-resolve-image --name "$svc" --replicas 1 --stop-grace-period 1s "$image" sleep 1000)
	docker service scale --detach=false "$svc=3" >/dev/null
	docker service rm "$sid" >/dev/null
	# The tasks' containers are stopped after the service is removed; wait
	# for them to go, then for the service's remove and their destroys on
	# the ledger (else usage rightly calls them uncertain: still running at
	# the host's last record).
	for ((i = 0; i < 120; i++)); do
		[[ -z $(docker ps -aq --filter "label=com.docker.swarm.service.id=$sid") ]] && break
		sleep 0.5
	done
	for ((i = 0; i < 120; i++)); do
		if e2l events --actor "$sid" -o csv 2>/dev/null | grep -q ',remove,' &&
			[[ $(e2l events --type container --action destroy --since "$svc_since" -o csv 2>/dev/null | grep -c ",$svc\\.") -ge 3 ]]; then
			break
		fi
		sleep 0.5
	done
	echo "\$ e2l timeline $svc"
	e2l timeline "$svc"
	echo
	echo "\$ e2l usage --from $svc_since --to now --by service    (the tasks' containers, per service)"
	e2l usage --from "$svc_since" --to now --by service
else
	echo
	echo "demo: this engine is not a Swarm manager, so the paper's scenario 1 (a service scaled 1→3) was skipped;"
	echo "      'docker swarm init' then 'make demo' runs both scenarios against the running system"
fi

cat <<EOT

The collector records this machine's Docker events on the e2l ledger. Watch it:
  log      tail -f $dir/collector.log
  metrics  curl -s http://$listen/metrics | grep ^e2l_   (spool backlog, commits, gaps)
  ready    curl -s http://$listen/readyz
  chain    $cli --env-file $env_file events --host $host
  live     $cli --env-file $env_file events --watch
  verify   $cli --env-file $env_file verify --host $host
  usage    $cli --env-file $env_file usage --from 24h --by service
  control  scripts/collector.sh status|stop|start   (make down stops it)
EOT
