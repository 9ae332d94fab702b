#!/usr/bin/env bash
# The one install step of e2l's make targets (and of .ci/run, through them):
# checks what a target needs and installs what is missing from Debian's
# packages when it can (root with apt-get), else says, one line per
# prerequisite, what to install.
#
#   scripts/deps.sh up     what make up needs: Go, a running Docker Engine
#   scripts/deps.sh test   what make test needs besides: promtool, iptables,
#                          ip, unshare, nsenter (Swarm, fault and receipt tests),
#                          PostgreSQL's server (the audit index's tests),
#                          setpriv, adduser, dpkg-deb, systemd-analyze (the .deb test)
set -euo pipefail

profile=${1:-up}
missing=()
apt_updated=""

# need <command> <debian package> <why>
need() {
	need_check "command -v $1" "$1" "$2" "$3"
}

# need_check <check> <what> <debian package> <why>: like need, for
# something that is not a command on PATH; <check> is run by the shell.
need_check() {
	eval "$1" >/dev/null 2>&1 && return 0
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
		if [[ -z $apt_updated ]]; then
			echo "deps: apt-get update"
			apt-get update -qq
			apt_updated=1
		fi
		echo "deps: installing $3 ($2: $4)"
		if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$3" >/dev/null &&
			eval "$1" >/dev/null 2>&1; then
			return 0
		fi
	fi
	missing+=("$2 (Debian package $3): $4")
}

command -v go >/dev/null 2>&1 || missing+=("go: Go >= 1.26 from go.dev (the only prerequisite besides Docker)")
if ! command -v docker >/dev/null 2>&1; then
	missing+=("docker: a Docker Engine and its CLI")
elif ! docker info >/dev/null 2>&1; then
	missing+=("docker: the Docker Engine is not reachable (is dockerd running, may this user use its socket?)")
fi

if [[ $profile == test ]]; then
	need promtool prometheus "checks the shipped Prometheus rules; the Swarm test runs a real Prometheus"
	need prometheus prometheus "the Swarm test scrapes the collector with a real Prometheus"
	need iptables iptables "private dockerds and the multi-node Swarm"
	need ip iproute2 "network namespaces of the multi-node Swarm"
	need unshare util-linux "verify-receipt is run with networking disabled"
	need nsenter util-linux "private dockerds in their own network namespaces"
	# Debian keeps the server binaries off PATH. The package may start a
	# cluster of its own on port 5432: harmless, the tests start theirs
	# (internal/testkit/pgtest).
	need_check "compgen -G '/usr/lib/postgresql/*/bin/initdb'" initdb postgresql \
		"the audit index's tests run a real PostgreSQL server"
	need setpriv util-linux "the .deb test runs the unit's commands as its user"
	need adduser adduser "the collector's .deb creates its system user with it"
	need dpkg-deb dpkg "builds and installs the collector's .deb"
	need systemd-analyze systemd "the .deb test verifies the installed unit offline"
fi

if ((${#missing[@]})); then
	echo "deps: missing prerequisites for make $profile:" >&2
	for m in "${missing[@]}"; do echo "  - $m" >&2; done
	exit 1
fi
echo "deps: everything make $profile needs is here"
