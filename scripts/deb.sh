#!/usr/bin/env bash
# deb.sh: the collector's Debian package, from the files in deploy/deb.
#
# Usage: scripts/deb.sh VERSION ARCH BINARY OUT_DIR
#   VERSION  e2l's version (scripts/version.sh); '-' becomes '~' so that a
#            development build sorts before its release (0.1.0~dev.<rev> < 0.1.0)
#   ARCH     Debian architecture: amd64 or arm64 (Go's names are the same)
#   BINARY   the static e2l-collector binary built for ARCH
# Prints the path of the .deb. Built with dpkg-deb (no debhelper): files owned
# by root, timestamps clamped to the commit's time (SOURCE_DATE_EPOCH).
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?usage: deb.sh VERSION ARCH BINARY OUT_DIR} arch=${2:?} bin=${3:?} out=${4:?}
debversion=${version//-/\~}
case $arch in amd64 | arm64) ;; *) echo "deb.sh: unsupported architecture $arch" >&2; exit 1 ;; esac
[[ -x $bin ]] || { echo "deb.sh: $bin is not an executable" >&2; exit 1; }
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/e2l-collector
install -D -m 0755 "$bin" "$root/usr/bin/e2l-collector"
install -D -m 0644 deploy/deb/e2l-collector.service "$root/lib/systemd/system/e2l-collector.service"
install -D -m 0644 deploy/deb/collector.env "$root/etc/e2l/collector.env"
install -D -m 0755 deploy/swarm/provision-node.sh "$root/usr/share/e2l-collector/provision-node.sh"
install -D -m 0644 deploy/deb/copyright "$root/usr/share/doc/e2l-collector/copyright"
gzip -n -9 <CHANGELOG.md >"$root/usr/share/doc/e2l-collector/changelog.gz"
chmod 0644 "$root/usr/share/doc/e2l-collector/changelog.gz"

install -d -m 0755 "$root/DEBIAN"
size=$(du -k -s --apparent-size "$root" | cut -f1)
sed -e "s/@VERSION@/$debversion/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" deploy/deb/control >"$root/DEBIAN/control"
install -m 0644 deploy/deb/conffiles "$root/DEBIAN/conffiles"
install -m 0755 deploy/deb/postinst deploy/deb/prerm deploy/deb/postrm "$root/DEBIAN/"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
deb=$out/e2l-collector_${debversion}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
