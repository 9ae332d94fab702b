#!/usr/bin/env bash
# Build the pinned Fabric and Fabric CA binaries (make fabric-bin).
#
# Usage: tools/fabric/build.sh OUT_DIR CMD...
#
# The binaries are rebuilt only when this module (go.mod, go.sum), the
# overlay or this script changed. The overlay (tools/fabric/overlay/) holds
# Fabric source files patched by e2l (see overlay/README.md), put in place of
# the module's own in a build copy; ORIGINALS.sha256 pins the module files
# they replace, so a new Fabric pin fails here instead of silently building
# old code into it.
set -euo pipefail

out=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
go=${GO:-go}
stamp=$out/.version

want=$(cd "$here" && cat go.mod go.sum build.sh overlay/ORIGINALS.sha256 $(awk '{print "overlay/" $2}' overlay/ORIGINALS.sha256) | sha256sum | cut -d' ' -f1)
missing=
for c in "$@"; do
	[[ -x $out/$(basename "$c") ]] || missing="$missing $(basename "$c")"
done
if [[ $want == "$(cat "$stamp" 2>/dev/null)" && -z $missing ]]; then
	echo "fabric-bin: up to date"
	exit 0
fi
echo "fabric-bin: building Fabric binaries (a few minutes on 2 cores)"
cd "$here"
"$go" mod download github.com/hyperledger/fabric
src=$("$go" list -m -f '{{.Dir}}' github.com/hyperledger/fabric)
if ! (cd "$src" && sha256sum --quiet -c "$here/overlay/ORIGINALS.sha256"); then
	echo "fabric-bin: the Fabric files tools/fabric/overlay replaces are not the ones it was made from (was the Fabric pin changed?)" >&2
	exit 1
fi
mkdir -p "$out"
# go build -overlay cannot replace files in the module cache: build from a
# copy of the Fabric module with the overlay files in place, through a
# temporary modfile that points the module there.
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$src" "$work/fabric"
chmod -R u+w "$work/fabric"
while read -r _ f; do
	cp "overlay/$f" "$work/fabric/$f"
done <overlay/ORIGINALS.sha256
cp go.mod "$work/go.mod"
cp go.sum "$work/go.sum"
"$go" mod edit -modfile="$work/go.mod" -replace "github.com/hyperledger/fabric=$work/fabric"
"$go" build -modfile="$work/go.mod" -o "$out/" "$@"
echo "$want" >"$stamp"
