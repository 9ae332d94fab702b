#!/usr/bin/env bash
# org.sh — what one organisation's admin runs to stand up and operate its
# part of the e2l consortium on Docker Swarm (docs/consortium.md). Each
# command is a few Fabric, Docker or e2l commands; the guide quotes them.
#
#   org.sh DIR init ORG [--san NAME]...        crypto material, node configuration, share (e2lnet org-init)
#   org.sh DIR channel [--genesis] [--batch-timeout D] SHARE SHARE SHARE
#                                              channel definition and TLS bundles from the three shares
#                                              (--genesis: also the genesis block: the channel's creator)
#   org.sh DIR check-block BLOCK SHARE SHARE SHARE
#                                              check a received genesis block, then keep it
#   org.sh DIR package-cc SEQ IMAGE            the chaincode package of an image; prints its package ID
#   org.sh DIR deploy PACKAGE_ID               the organisation's stack (CA, peer, orderer, chaincode)
#   org.sh DIR join-orderer                    its orderer joins the channel (osnadmin, admin endpoint)
#   org.sh DIR await-channel                   until its orderer reports the channel active
#   org.sh DIR join-peer                       its peer joins the channel (peer channel join)
#   org.sh DIR install-cc SEQ                  install the package on its peer
#   org.sh DIR approve-cc SEQ PACKAGE_ID       approve the chaincode definition for the organisation
#   org.sh DIR commit-cc SEQ PEER_ADDRESS...   commit the definition (its peer and the others given)
#   org.sh DIR stop-cc | start-cc PACKAGE_ID   stop its chaincode server / run it as PACKAGE_ID
#   org.sh DIR enroll-host HOST                enroll a host's collector identity with its CA
#   org.sh DIR register-host HOST manager|worker   register the host as the organisation's
#
# DIR is the organisation's directory (init makes it; org.env inside holds
# its settings). The admin reaches its own nodes at their DNS names and
# container ports unless told otherwise:
#   E2L_PEER_ADDRESS (peer0.<org>...:7051), E2L_ORDERER_ADDRESS (:7050),
#   E2L_ORDERER_ADMIN_ADDRESS (:7053), E2L_CA_ADDRESS (:7054)
# Tools: FABRIC_BIN (.bin/fabric: peer, osnadmin, configtxgen, cryptogen,
# fabric-ca-client), E2LNET (.bin/e2lnet), E2L_CLI (.bin/e2l), docker (its
# DOCKER_HOST: a manager of the organisation's Swarm). E2L_STACK names the
# stack (default the organisation, e.g. provider); E2L_CONSORTIUM_NETWORK
# the overlay network (e2l-consortium). E2L_TIMEOUT bounds each wait (120 s).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
FABRIC_BIN=${FABRIC_BIN:-$root/.bin/fabric}
E2LNET=${E2LNET:-$root/.bin/e2lnet}
E2L_CLI=${E2L_CLI:-$root/.bin/e2l}
timeout=${E2L_TIMEOUT:-120}

die() { echo "org.sh: $*" >&2; exit 1; }
usage() { sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[[ $# -ge 2 ]] || usage
dir=$1 cmd=$2
shift 2

if [[ $cmd == init ]]; then
	[[ $# -ge 1 ]] || usage
	org=$1
	shift
	exec "$E2LNET" org-init --bin-dir "$FABRIC_BIN" --org "$org" --dir "$dir" "$@"
fi
[[ -f $dir/org.env ]] || die "$dir/org.env: not an organisation directory (org.sh DIR init ORG)"
dir=$(cd "$dir" && pwd)
# shellcheck source=/dev/null
. "$dir/org.env"
stack=${E2L_STACK:-$E2L_ORG}
peer_address=${E2L_PEER_ADDRESS:-$E2L_PEER_HOST:7051}
orderer_address=${E2L_ORDERER_ADDRESS:-$E2L_ORDERER_HOST:7050}
orderer_admin=${E2L_ORDERER_ADMIN_ADDRESS:-$E2L_ORDERER_HOST:7053}
ca_address=${E2L_CA_ADDRESS:-$E2L_CA_HOST:7054}
block=$dir/consortium/e2l.block
peers_ca=$dir/consortium/peers-tlsca.pem
orderers_ca=$dir/consortium/orderers-tlsca.pem

# retry DESCRIPTION COMMAND...: runs COMMAND every second until it succeeds,
# for at most $timeout seconds; then shows its last output and fails.
retry() {
	local what=$1 out
	shift
	for ((i = 0; i < timeout; i++)); do
		if out=$("$@" 2>&1); then
			[[ -z $out ]] || echo "$out"
			return 0
		fi
		sleep 1
	done
	die "$what: not done after ${timeout}s: $out"
}

# transient COMMAND...: runs COMMAND, again every second (for at most
# $timeout seconds) while it fails for what passes by itself: ordering not
# available yet (a Raft cluster electing its leader, an orderer
# restarting), a Gateway that has not yet learnt (gossip) which peers of
# the other organisations run a chaincode just committed; fails at once on
# any other error.
transient() {
	local out
	for ((i = 0; i < timeout; i++)); do
		if out=$("$@" 2>&1); then
			[[ -z $out ]] || echo "$out"
			return 0
		fi
		grep -Eq 'SERVICE_UNAVAILABLE|no Raft leader|connection refused|no combination of peers can be derived' <<<"$out" || break
		sleep 1
	done
	die "$*: $out"
}

# The peer CLI as the organisation's admin, against its own peer.
peer_cli() {
	FABRIC_CFG_PATH=$dir/nodes/peer FABRIC_LOGGING_SPEC=warning \
		CORE_PEER_LOCALMSPID=$E2L_ORG_MSP CORE_PEER_MSPCONFIGPATH=$E2L_ADMIN_MSP \
		CORE_PEER_ADDRESS=$peer_address CORE_PEER_TLS_ENABLED=true \
		CORE_PEER_TLS_ROOTCERT_FILE=$E2L_PEER_TLSCA \
		"$FABRIC_BIN/peer" "$@"
}

# osnadmin as the orderer organisation's admin (its TLS client pair).
osnadmin_cli() {
	"$FABRIC_BIN/osnadmin" channel "$@" -o "$orderer_admin" --ca-file "$E2L_ORDERER_TLSCA" \
		--client-cert "$E2L_ORDERER_ADMIN_TLS_CERT" --client-key "$E2L_ORDERER_ADMIN_TLS_KEY"
}

# done_before COMMAND...: COMMAND succeeded, or said it had been done before.
done_before() {
	local out
	out=$("$@" 2>&1) && { echo "$out"; return 0; }
	echo "$out"
	grep -Eq 'already exists|already successfully installed' <<<"$out"
}

# The orderer answers the join with an HTTP status: 201 joined, 405 done before.
orderer_join() {
	local out
	out=$(osnadmin_cli join --channelID e2l --config-block "$block" 2>&1) || { echo "$out"; return 1; }
	echo "$out"
	grep -Eq '^Status: (201|405)' <<<"$out"
}

channel_active() {
	osnadmin_cli list --channelID e2l | grep -q '"status": "active"'
}

definition() { # definition SEQ: the chaincode definition's flags
	echo --channelID e2l --name e2l --version "$1" --sequence "$1"
}

shares_flags() {
	[[ $# -eq 3 ]] || die "give the share directories of the three organisations, this one's included"
	for s in "$@"; do printf -- '--share\n%s\n' "$s"; done
}

case $cmd in
channel)
	flags=()
	while [[ $# -gt 0 && $1 == --* ]]; do
		case $1 in
		--genesis) flags+=(--genesis); shift ;;
		--batch-timeout) flags+=(--batch-timeout "$2"); shift 2 ;;
		*) die "channel: unknown flag $1" ;;
		esac
	done
	mapfile -t s < <(shares_flags "$@")
	"$E2LNET" org-channel --bin-dir "$FABRIC_BIN" --dir "$dir" "${flags[@]}" "${s[@]}"
	;;
check-block)
	[[ $# -eq 4 ]] || usage
	from=$1
	shift
	mapfile -t s < <(shares_flags "$@")
	"$E2LNET" org-check-block --bin-dir "$FABRIC_BIN" --dir "$dir" --block "$from" "${s[@]}"
	;;
package-cc)
	[[ $# -eq 2 ]] || usage
	image_id=$(docker image inspect --format '{{.Id}}' "$2")
	"$E2LNET" cc-package --label "e2l_$1" --image "$2@$image_id" --out "$dir/consortium/e2l_$1.tar.gz"
	;;
deploy)
	[[ $# -eq 1 ]] || usage
	network=${E2L_CONSORTIUM_NETWORK:-e2l-consortium}
	# One network for the organisations of a cluster: whoever deploys first
	# creates it (another organisation may be creating it at this moment).
	docker network inspect "$network" >/dev/null 2>&1 ||
		docker network create --driver overlay "$network" >/dev/null 2>&1 ||
		docker network inspect "$network" >/dev/null || die "cannot create the network $network"
	(
		set -a
		. "$dir/org.env"
		CHAINCODE_ID=$1
		set +a
		docker stack deploy --resolve-image never -c "$here/org.yml" "$stack"
	)
	;;
join-orderer)
	retry "join $E2L_ORDERER_HOST to channel e2l" orderer_join
	;;
await-channel)
	retry "channel e2l active on $E2L_ORDERER_HOST" channel_active
	echo "channel e2l active on $E2L_ORDERER_HOST"
	;;
join-peer)
	retry "join $E2L_PEER_HOST to channel e2l" done_before peer_cli channel join -b "$block"
	;;
install-cc)
	[[ $# -eq 1 ]] || usage
	pkg=$dir/consortium/e2l_$1.tar.gz
	done_before peer_cli lifecycle chaincode install "$pkg" >/dev/null || die "install $pkg failed"
	peer_cli lifecycle chaincode calculatepackageid "$pkg"
	;;
approve-cc)
	[[ $# -eq 2 ]] || usage
	# shellcheck disable=SC2046
	transient peer_cli lifecycle chaincode approveformyorg $(definition "$1") --package-id "$2" \
		-o "$orderer_address" --tls --cafile "$orderers_ca" --waitForEventTimeout 60s
	;;
commit-cc)
	[[ $# -ge 2 ]] || usage
	seq=$1
	shift
	peers=(--peerAddresses "$peer_address" --tlsRootCertFiles "$peers_ca")
	for p in "$@"; do peers+=(--peerAddresses "$p" --tlsRootCertFiles "$peers_ca"); done
	# shellcheck disable=SC2046
	peer_cli lifecycle chaincode checkcommitreadiness $(definition "$seq")
	# shellcheck disable=SC2046
	transient peer_cli lifecycle chaincode commit $(definition "$seq") "${peers[@]}" \
		-o "$orderer_address" --tls --cafile "$orderers_ca" --waitForEventTimeout 60s
	;;
stop-cc)
	docker service scale --detach=false "${stack}_chaincode=0"
	;;
start-cc)
	[[ $# -eq 1 ]] || usage
	docker service update --detach=false --env-add "CHAINCODE_ID=$1" --replicas 1 "${stack}_chaincode"
	;;
enroll-host)
	[[ $# -eq 1 ]] || usage
	host=$1
	registrar=$dir/ca-client/registrar
	ca() { "$FABRIC_BIN/fabric-ca-client" "$@" --caname "$E2L_CA_NAME" --tls.certfiles "$E2L_PEER_TLSCA"; }
	if [[ ! -f $registrar/msp/signcerts/cert.pem ]]; then
		retry "enroll the CA's registrar" ca enroll -u "https://admin:$(cat "$dir/nodes/ca/admin.secret")@$ca_address" -H "$registrar"
	fi
	secret=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	attrs="e2l.role=collector:ecert,e2l.host=$host:ecert"
	if ! out=$(ca register -u "https://$ca_address" -H "$registrar" --id.name "$host" --id.secret "$secret" \
		--id.type client --id.attrs "$attrs" 2>&1); then
		grep -q 'already registered' <<<"$out" || die "register $host: $out"
		# A known host (re-enrollment): a new secret, the same attributes.
		ca identity modify "$host" -u "https://$ca_address" -H "$registrar" --secret "$secret" --attrs "$attrs" >/dev/null
	fi
	hd=$dir/hosts/$host
	rm -rf "$hd/ca-client/msp"
	ca enroll -u "https://$host:$secret@$ca_address" -H "$hd/ca-client" --mspdir msp \
		--enrollment.attrs e2l.role,e2l.host --csr.cn "$host" --csr.names "O=$E2L_ORG_NAME" >/dev/null 2>&1 ||
		die "enroll $host failed"
	install -m 0644 "$hd/ca-client/msp/signcerts/cert.pem" "$hd/cert.pem"
	install -m 0600 "$hd"/ca-client/msp/keystore/*_sk "$hd/key.pem"
	cat >"$hd/collector.env" <<-EOF
		E2L_HOST=$host
		E2L_MSP_ID=$E2L_ORG_MSP
		E2L_PEER_ENDPOINTS=$(cat "$dir/consortium/peer-endpoints")
		E2L_PEER_TLS_CA=$peers_ca
		E2L_ORG_CA=$dir/nodes/ca/ca-cert.pem
		E2L_CHANNEL=e2l
		E2L_CHAINCODE=e2l
	EOF
	echo "enrolled $host in $E2L_ORG_MSP: $hd (cert.pem, key.pem, collector.env for provision-node.sh)"
	;;
register-host)
	[[ $# -eq 2 ]] || usage
	transient "$E2L_CLI" --msp-id "$E2L_ORG_MSP" --cert "$E2L_ADMIN_CERT" --key "$E2L_ADMIN_KEY" \
		--peer-endpoints "$peer_address" --peer-tls-ca "$peers_ca" host register --host "$1" --role "$2"
	;;
*)
	usage
	;;
esac
