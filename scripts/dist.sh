#!/usr/bin/env bash
# dist.sh: release artifacts (make dist). For each platform (linux/amd64,
# linux/arm64 by default) it builds static binaries (CGO_ENABLED=0, -trimpath)
# stamped with the version (internal/buildinfo), packs them with LICENSE,
# README.md and CHANGELOG.md into e2l_<version>_linux_<arch>.tar.gz, builds
# the collector's .deb (scripts/deb.sh), and writes SHA256SUMS (tarballs,
# .debs and the binaries, which stay unpacked in e2l_<version>_linux_<arch>/).
#
# Usage: scripts/dist.sh OUT_DIR
# Environment: VERSION (required), REVISION, DATE (default: the commit's
# date, so that building a commit again gives the same bytes), GO,
# PLATFORMS ("linux/amd64 linux/arm64").
#
# e2lnet is not shipped: it runs the local development network from Fabric
# binaries built from source (make fabric-bin) and is no operator's tool.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: dist.sh OUT_DIR}
: "${VERSION:?VERSION is required}"
go=${GO:-go}
platforms=${PLATFORMS:-linux/amd64 linux/arm64}
revision=${REVISION:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
date=${DATE:-$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)}
# Tarball member times: the commit's time too.
epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)
pkg=github.com/e2l-project/e2l/internal/buildinfo
ldflags="-s -w -X $pkg.Version=$VERSION -X $pkg.Revision=$revision -X $pkg.Date=$date"
cmds=(e2l e2l-collector e2l-chaincode)
start=$SECONDS

step() { printf 'dist: %-44s (%ds)\n' "$*" $((SECONDS - start)); }

rm -rf "$out"
mkdir -p "$out"
step "version $VERSION, revision ${revision:0:12}, into $out"
for p in $platforms; do
	os=${p%/*} arch=${p#*/}
	name=e2l_${VERSION}_${os}_${arch}
	dir=$out/$name
	mkdir -p "$dir"
	for c in "${cmds[@]}"; do
		step "build $c $os/$arch"
		CGO_ENABLED=0 GOOS=$os GOARCH=$arch "$go" build -trimpath -ldflags "$ldflags" -o "$dir/$c" "./cmd/$c"
	done
	cp LICENSE README.md CHANGELOG.md "$dir/"
	step "pack $name.tar.gz"
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -C "$out" -cf - "$name" |
		gzip -n -9 >"$out/$name.tar.gz"
	step "deb e2l-collector $arch"
	scripts/deb.sh "$VERSION" "$arch" "$dir/e2l-collector" "$out" >/dev/null
done
step "SHA256SUMS"
(cd "$out" && sha256sum -- *.tar.gz *.deb */e2l* >SHA256SUMS)
step "done"
(cd "$out" && find . -type f ! -name '*.md' ! -name LICENSE -printf '  %10s  %P\n' | sort -k2)
