#!/bin/sh
# provision-node.sh — install one node's enrolled e2l identity where the
# collector service of deploy/swarm/stack.yml reads it. Run it ON the node,
# as root, once per node and again after every re-enrollment.
#
#   provision-node.sh --from DIR [--to /etc/e2l/identity] [--uid 65532] [--host NAME] [--ca FILE] [--org-ca FILE]
#
# --from  an enrolled host directory: cert.pem, key.pem and collector.env as
#         `e2lnet enroll --host NAME` writes them (.e2l/network/hosts/NAME),
#         or the same three files from your organisation's Fabric CA
#         enrollment (collector.env lines: E2L_MSP_ID, E2L_PEER_ENDPOINTS,
#         E2L_PEER_TLS_CA, optionally E2L_PEER_TLS_SERVER_NAME).
# --to    the node-local identity directory the stack mounts read-only
#         (E2L_IDENTITY_DIR, default /etc/e2l/identity).
# --uid   the collector's uid in the container (the stack's user:, 65532),
#         or the package's user (--uid e2l-collector): it owns key.pem, mode
#         0400; nobody else on the node can read it.
# --host  the node's name in the swarm; default: `docker info`'s Name, which
#         is what {{.Node.Hostname}} gives the collector as E2L_HOST.
#
# Writes, atomically (a new directory renamed into place):
#   cert.pem  the host's certificate        0444
#   key.pem   its private key               0400, owner --uid
#   ca.pem    TLS root CAs of the peers     0444
#   org-ca.pem  the org's root CA           0444, when collector.env names one
#               (E2L_ORG_CA) or --org-ca is given: e2l-collector check
#               verifies the certificate's chain against it
#   collector.yml  mspId and peerEndpoints  0444 (E2L_CONFIG of the stack)
#
# Copy an enrolled directory to a remote node and run this there, e.g.:
#   tar -C .e2l/network/hosts -c node2 | ssh node2 'mkdir -p /tmp/e2l && tar -C /tmp/e2l -x'
#   scp deploy/swarm/provision-node.sh node2:/tmp/e2l/
#   ssh node2 'sudo /tmp/e2l/provision-node.sh --from /tmp/e2l/node2 && rm -rf /tmp/e2l'
# (collector.env names the peers' CA file by its path on the enrolling
# machine: copy it along and pass --ca FILE.)
# Then restart the node's collector: docker service update --force e2l_collector
#
# The chaincode accepts the node's records only once an admin of its
# organisation has registered the node in the host registry, with its Swarm
# role (only managers may report swarm events). That is not done here (the
# node holds no admin key): before the collector starts, the org admin runs
#   e2l host register --host NAME --role manager|worker   (admin's identity)
# (local network: `make enroll ... SWARM_ROLE=` enrolls and registers;
# `make register HOST= ORG= SWARM_ROLE=` registers). docs/operations.md.
set -eu

from="" to="/etc/e2l/identity" uid="65532" host="" ca="" org_ca=""
usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
die() { echo "provision-node: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --from) from="$2"; shift 2 ;;
    --to) to="$2"; shift 2 ;;
    --uid) uid="$2"; shift 2 ;;
    --host) host="$2"; shift 2 ;;
    --ca) ca="$2"; shift 2 ;;
    --org-ca) org_ca="$2"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "provision-node: unknown argument $1" >&2; usage ;;
  esac
done
[ -n "$from" ] || usage
for f in cert.pem key.pem collector.env; do
  [ -r "$from/$f" ] || die "$from/$f: not readable (enroll the host first: e2lnet enroll --host NAME)"
done

# collector.env: KEY=value lines; read the keys we need without sourcing it.
env_value() { sed -n "s/^$1=//p" "$from/collector.env" | tail -n 1; }
msp=$(env_value E2L_MSP_ID)
endpoints=$(env_value E2L_PEER_ENDPOINTS)
server_name=$(env_value E2L_PEER_TLS_SERVER_NAME)
enrolled_host=$(env_value E2L_HOST)
[ -n "$ca" ] || ca=$(env_value E2L_PEER_TLS_CA)
[ -n "$org_ca" ] || org_ca=$(env_value E2L_ORG_CA)
[ -n "$msp" ] || die "$from/collector.env has no E2L_MSP_ID"
[ -n "$endpoints" ] || die "$from/collector.env has no E2L_PEER_ENDPOINTS"
[ -r "$ca" ] || die "peers' TLS CA file '$ca' not readable (pass --ca FILE)"

# The collector refuses to start when its certificate's e2l.host differs from
# E2L_HOST = the node's name: catch a mix-up here rather than in a restart loop.
if [ -z "$host" ] && command -v docker >/dev/null 2>&1; then
  host=$(docker info --format '{{.Name}}' 2>/dev/null || true)
fi
if [ -n "$host" ] && [ -n "$enrolled_host" ] && [ "$host" != "$enrolled_host" ]; then
  die "the identity in $from is for host '$enrolled_host', this node is '$host'"
fi
if command -v openssl >/dev/null 2>&1; then
  openssl x509 -in "$from/cert.pem" -noout -checkend 0 >/dev/null ||
    die "$from/cert.pem has expired"
fi

umask 077
parent=$(dirname "$to")
mkdir -p "$parent"
tmp=$(mktemp -d "$parent/.identity.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp "$from/cert.pem" "$tmp/cert.pem"
cp "$from/key.pem" "$tmp/key.pem"
cp "$ca" "$tmp/ca.pem"
if [ -n "$org_ca" ]; then
  [ -r "$org_ca" ] || die "the org's root CA file '$org_ca' is not readable (pass --org-ca FILE)"
  cp "$org_ca" "$tmp/org-ca.pem"
  chmod 0444 "$tmp/org-ca.pem"
fi
{
  echo "# written by provision-node.sh from $from on $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "mspId: \"$msp\""
  echo "peerEndpoints:"
  echo "$endpoints" | tr ',' '\n' | sed 's/^ *//; s/ *$//; /^$/d; s/.*/  - "&"/'
  [ -z "$server_name" ] || echo "peerTlsServerName: \"$server_name\""
} > "$tmp/collector.yml"
chmod 0444 "$tmp/cert.pem" "$tmp/ca.pem" "$tmp/collector.yml"
chown "$uid:0" "$tmp/key.pem"
chmod 0400 "$tmp/key.pem"
chmod 0755 "$tmp"

# Swap directories: the old identity stays whole until the new one is in place.
if [ -d "$to" ]; then
  rm -rf "$to.old"
  mv "$to" "$to.old"
fi
mv "$tmp" "$to"
trap - EXIT
rm -rf "$to.old"
echo "provision-node: identity of '${enrolled_host:-?}' ($msp) installed in $to"
echo "provision-node: its org admin must have registered '${enrolled_host:-?}' in the host registry (e2l host register --host ${enrolled_host:-NAME} --role manager|worker)"
echo "provision-node: restart the node's collector to use it: docker service update --force e2l_collector"
