#!/usr/bin/env bash
# Build the pinned Fabric binaries that go into e2l's Fabric images (make
# fabric-image-bin): static, so that the images can start FROM scratch (no
# libc, no shell). Same module, overlay and pins as tools/fabric/build.sh,
# which does the building; this script only chooses how they are linked.
#
# Usage: tools/fabric/build-static.sh OUT_DIR
#
#   peer, orderer      CGO_ENABLED=0: nothing in them needs cgo.
#   fabric-ca-server   needs cgo: its database is SQLite through
#                      github.com/mattn/go-sqlite3, which without cgo builds
#                      a stub that fails when the server opens its database.
#                      It is linked statically against glibc's static
#                      libraries (libc6-dev), with the netgo and osusergo
#                      tags so that nothing asks glibc's NSS at run time.
set -euo pipefail

out=$1
here=$(cd "$(dirname "$0")" && pwd)
pure="-buildvcs=false -trimpath '-ldflags=-s -w'"
cgo="-buildvcs=false -trimpath -tags=netgo,osusergo,sqlite_omit_load_extension '-ldflags=-s -w -linkmode=external -extldflags=-static'"

# build.sh rebuilds when its inputs change; a change of the flags here must
# too: they are stamped beside its stamp.
want=$(printf '%s\n%s\n' "$pure" "$cgo" | sha256sum | cut -d' ' -f1)
if [[ $want != "$(cat "$out/.static" 2>/dev/null)" ]]; then
	rm -rf "$out"
fi
mkdir -p "$out"
CGO_ENABLED=0 GOFLAGS=$pure "$here/build.sh" "$out" \
	github.com/hyperledger/fabric/cmd/peer github.com/hyperledger/fabric/cmd/orderer
CGO_ENABLED=1 GOFLAGS=$cgo "$here/build.sh" "$out" \
	github.com/hyperledger/fabric-ca/cmd/fabric-ca-server
# A dynamic executable names its loader (program header INTERP).
for b in peer orderer fabric-ca-server; do
	if readelf -l "$out/$b" | grep -q INTERP; then
		echo "fabric-image-bin: $out/$b is not statically linked" >&2
		exit 1
	fi
done
echo "$want" >"$out/.static"
