#!/usr/bin/env bash
# demo.sh — the whole consortium on this machine's Docker Engine, for a demo
# (make consortium-up, make consortium-down): the three organisations'
# stacks (deploy/consortium/org.yml) and the collector as a global service,
# on a one-node Swarm, each organisation's admin steps run with org.sh as
# docs/consortium.md describes them.
#
#   demo.sh up     make the Engine a Swarm manager if it is in no Swarm
#                  (docker swarm init --advertise-addr 127.0.0.1), label the
#                  node for the three organisations, create the three
#                  organisations in $CONSORTIUM_DIR, deploy their stacks,
#                  create and join the channel, deploy the chaincode, enroll
#                  and register this node (Provider, manager), deploy the
#                  collector; then print how to look at it
#   demo.sh down   remove all of it: stacks (waiting until their containers
#                  are gone), their configs, secrets and volumes, the
#                  network, the node labels, $CONSORTIUM_DIR; leave the
#                  Swarm if up created it; with CONSORTIUM_RMI=1 also the
#                  images
#
# The node runs all three organisations, so their ports are published at
# 1000 (Provider), 2000 (Developer) and 3000 (User) above the containers'
# (peers 8051, 9051, 10051; orderers 8050...; operations 10443...); the
# collector's metrics at $CONSORTIUM_METRICS_PORT (9474), clear of make up's
# collector (9464). Images: $FABRIC_*_IMAGE, $CHAINCODE_IMAGE,
# $COLLECTOR_IMAGE (make image image-fabric builds them).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=$(realpath -m "${CONSORTIUM_DIR:-$root/.e2l/consortium}") # absolute: the stacks' files and mounts
metrics_port=${CONSORTIUM_METRICS_PORT:-9474}
orgs=(Provider Developer User)
stacks=(collector provider developer user)
export E2L_FABRIC_PEER_IMAGE=${FABRIC_PEER_IMAGE:-e2l-fabric-peer}:latest
export E2L_FABRIC_ORDERER_IMAGE=${FABRIC_ORDERER_IMAGE:-e2l-fabric-orderer}:latest
export E2L_FABRIC_CA_IMAGE=${FABRIC_CA_IMAGE:-e2l-fabric-ca}:latest
export E2L_CHAINCODE_IMAGE=${CHAINCODE_IMAGE:-e2l-chaincode}:latest
collector_image=${COLLECTOR_IMAGE:-e2l-collector} # the stack takes the repository, and the tag as E2L_VERSION
e2l=${E2L_CLI:-$root/.bin/e2l}

say() { printf '[consortium] %s\n' "$*"; }
die() { echo "demo.sh: $*" >&2; exit 1; }

# org_ports I: the published ports of organisation I (0, 1, 2) and the
# addresses its admin reaches them at.
org_ports() {
	local off=$((1000 * ($1 + 1)))
	export E2L_PEER_PORT=$((7051 + off)) E2L_ORDERER_PORT=$((7050 + off)) E2L_ORDERER_ADMIN_PORT=$((7053 + off))
	export E2L_CA_PORT=$((7054 + off)) E2L_PEER_OPS_PORT=$((9443 + off)) E2L_ORDERER_OPS_PORT=$((9444 + off))
	export E2L_CA_OPS_PORT=$((9445 + off))
	export E2L_PEER_ADDRESS=127.0.0.1:$E2L_PEER_PORT E2L_ORDERER_ADDRESS=127.0.0.1:$E2L_ORDERER_PORT
	export E2L_ORDERER_ADMIN_ADDRESS=127.0.0.1:$E2L_ORDERER_ADMIN_PORT E2L_CA_ADDRESS=127.0.0.1:$E2L_CA_PORT
}

org() { # org I ARGS...: org.sh for organisation I
	local i=$1
	shift
	(org_ports "$i" && "$here/org.sh" "$dir/${orgs[$i]}" "$@")
}

# await_services STACK...: until every service of the stacks has its task running.
await_services() {
	for ((k = 0; k < 180; k++)); do
		local pending
		pending=$(for st in "$@"; do docker stack services "$st" --format '{{.Name}} {{.Replicas}}'; done |
			awk '{split($2, r, "/"); if (r[1] != r[2] || r[2] == 0) print $1}')
		[[ -z $pending ]] && return 0
		sleep 1
	done
	die "services not running after 180s: $pending (docker service ps --no-trunc <service>)"
}

up() {
	[[ ! -f $dir/ready ]] || die "$dir holds a consortium already: make consortium-down first"
	state=$(docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}')
	mkdir -p "$dir"
	case $state in
	"active true") say "this Engine is a Swarm manager already: using its Swarm" ;;
	"inactive false")
		docker network inspect docker_gwbridge >/dev/null 2>&1 || touch "$dir/.created-gwbridge"
		say "docker swarm init --advertise-addr 127.0.0.1 (a one-node Swarm; make consortium-down leaves it)"
		docker swarm init --advertise-addr 127.0.0.1 >/dev/null
		touch "$dir/.created-swarm"
		;;
	*) die "the Engine's Swarm state is '$state': need a manager, or no Swarm" ;;
	esac
	node=$(docker info --format '{{.Name}}')
	for o in provider developer user; do
		docker node update --label-add "e2l.org.$o=true" "$(docker info --format "{{.Swarm.NodeID}}")" >/dev/null
	done
	say "node $node labelled e2l.org.provider, e2l.org.developer, e2l.org.user = true"

	local shares=()
	for i in 0 1 2; do
		rm -rf "${dir:?}/${orgs[$i]}"
		org "$i" init "${orgs[$i]}" --san localhost --san 127.0.0.1 >/dev/null
		shares+=("$dir/${orgs[$i]}/share")
	done
	org 0 channel --genesis --batch-timeout 500ms "${shares[@]}" >/dev/null
	for i in 1 2; do
		org "$i" channel "${shares[@]}" >/dev/null
		org "$i" check-block "$dir/Provider/consortium/e2l.block" "${shares[@]}" >/dev/null
	done
	say "3 organisations in $dir (each keeps its crypto/; shared: share/, the genesis block)"
	# Each organisation makes the package from the image it runs: one ID.
	pkg=$(org 0 package-cc 1 "$E2L_CHAINCODE_IMAGE")
	for i in 1 2; do
		[[ $(org "$i" package-cc 1 "$E2L_CHAINCODE_IMAGE") == "$pkg" ]] || die "${orgs[$i]}'s package ID differs from $pkg"
	done
	for i in 0 1 2; do org "$i" deploy "$pkg" >/dev/null 2>&1; done
	await_services provider developer user
	say "stacks provider, developer, user running (CA, orderer, peer, chaincode each)"
	for i in 0 1 2; do org "$i" join-orderer >/dev/null; done
	org 0 await-channel >/dev/null
	for i in 0 1 2; do
		org "$i" join-peer >/dev/null
		org "$i" install-cc 1 >/dev/null
		org "$i" approve-cc 1 "$pkg" >/dev/null
	done
	(org_ports 1 && org 0 commit-cc 1 "$E2L_PEER_ADDRESS" >/dev/null)
	say "channel e2l joined by the 3 orderers and peers, chaincode $pkg committed"

	org 0 enroll-host "$node" >/dev/null
	org 0 register-host "$node" manager >/dev/null
	# The collector's uid must reach its identity: provision-node.sh makes
	# missing parents private.
	mkdir -p "$dir/node" && chmod 0755 "$dir" "$dir/node"
	"$root/deploy/swarm/provision-node.sh" --from "$dir/Provider/hosts/$node" --to "$dir/node/identity" --host "$node" >/dev/null
	E2L_DOCKER_GID=$(stat -c %g /var/run/docker.sock) E2L_COLLECTOR_IMAGE=$collector_image E2L_VERSION=latest \
		E2L_IDENTITY_DIR=$dir/node/identity E2L_METRICS_PORT=$metrics_port \
		docker stack deploy --resolve-image never -c "$root/deploy/swarm/stack.yml" -c "$here/collector.yml" collector >/dev/null 2>&1
	await_services collector
	touch "$dir/ready"
	say "this node ($node) enrolled and registered by Provider; the collector runs as a global service"
	admin_env
	cat <<-EOF

		Look at it:
		  docker service ls                                  # 4 services per organisation, the collector
		  docker service logs -f collector_collector         # what the collector does
		  curl -s 127.0.0.1:$metrics_port/metrics | grep ^e2l_collector_ledger
		  curl -s 127.0.0.1:10443/metrics | grep ledger_blockchain_height  # Provider's peer (Developer 11443, User 12443)
		  docker run -d --name demo --network none e2l-testbox:test sleep 60 2>/dev/null || true  # any container: an event
		  $e2l --env-file $dir/auditor.env trust      # once: pin this consortium's genesis
		  $e2l --env-file $dir/auditor.env hosts
		  $e2l --env-file $dir/auditor.env verify --host $node
		  prometheus --config.file=$root/deploy/prometheus/prometheus.yml   # Swarm discovery: peers, orderers, CAs, collector
		Remove it: make consortium-down
	EOF
}

# admin_env writes auditor.env: the e2l CLI as Developer's admin through its peer.
admin_env() {
	# shellcheck source=/dev/null
	(. "$dir/Developer/org.env" && org_ports 1 && cat >"$dir/auditor.env" <<-EOF
		E2L_MSP_ID=$E2L_ORG_MSP
		E2L_CERT=$E2L_ADMIN_CERT
		E2L_KEY=$E2L_ADMIN_KEY
		E2L_PEER_ENDPOINTS=$E2L_PEER_ADDRESS
		E2L_PEER_TLS_CA=$dir/Developer/consortium/peers-tlsca.pem
	EOF
	)
}

down() {
	for st in "${stacks[@]}"; do
		docker stack rm "$st" >/dev/null 2>&1 || true
	done
	say "stacks ${stacks[*]} removed; waiting for their containers to stop"
	for ((k = 0; k < 120; k++)); do
		left=$(for st in "${stacks[@]}"; do docker ps -aq --filter "label=com.docker.stack.namespace=$st"; done)
		[[ -z $left ]] && break
		sleep 1
	done
	[[ -z $left ]] || die "containers of the stacks still there after 120s: $left"
	for v in collector_spool provider_ca-data provider_orderer-data provider_peer-data developer_ca-data developer_orderer-data \
		developer_peer-data user_ca-data user_orderer-data user_peer-data; do
		docker volume rm "$v" >/dev/null 2>&1 || true
	done
	if [[ $(docker info --format '{{.Swarm.ControlAvailable}}') == true ]]; then
		for ((k = 0; k < 30; k++)); do
			docker network rm e2l-consortium >/dev/null 2>&1 || ! docker network inspect e2l-consortium >/dev/null 2>&1 && break
			sleep 1
		done
		for o in provider developer user; do
			docker node update --label-rm "e2l.org.$o" "$(docker info --format "{{.Swarm.NodeID}}")" >/dev/null 2>&1 || true
		done
	fi
	say "volumes, network e2l-consortium and node labels removed"
	if [[ -f $dir/.created-swarm ]]; then
		docker swarm leave --force >/dev/null
		say "left the Swarm that consortium-up created"
		if [[ -f $dir/.created-gwbridge ]]; then docker network rm docker_gwbridge >/dev/null 2>&1 || true; fi
	fi
	if [[ ${CONSORTIUM_RMI:-} == 1 ]]; then
		# Every tag make image-fabric gave them (the version and latest).
		mapfile -t refs < <(for img in "$E2L_FABRIC_PEER_IMAGE" "$E2L_FABRIC_ORDERER_IMAGE" "$E2L_FABRIC_CA_IMAGE"; do
			docker image ls --format '{{.Repository}}:{{.Tag}}' "${img%:*}"
		done)
		[[ ${#refs[@]} -eq 0 ]] || docker image rm "${refs[@]}" >/dev/null
		say "images removed: ${refs[*]:-none}"
	fi
	rm -rf "$dir"
	say "$dir removed (every key of the three organisations)"
}

case ${1:-} in
up) up ;;
down) down ;;
*) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
