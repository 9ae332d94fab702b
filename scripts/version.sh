#!/usr/bin/env bash
# version.sh: the one place e2l's version comes from (the Makefile's VERSION,
# make dist, make image, the .deb).
#
#   VERSION file (e.g. 0.1.0), at a commit tagged v<VERSION>: 0.1.0
#   any other commit:                                          0.1.0-dev.<short revision>
#   a modified work tree:                                      … .dirty appended
#   no git at all (a source tarball):                          0.1.0-dev
#
# The result is a semantic version, a valid image tag (no '+') and, with '-'
# read as '~' (scripts/deb.sh), a Debian version that sorts before the release.
set -euo pipefail
cd "$(dirname "$0")/.."
base=$(tr -d ' \n' <VERSION)
if [[ ! $base =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
	echo "version.sh: VERSION holds '$base', want MAJOR.MINOR.PATCH" >&2
	exit 1
fi
if ! rev=$(git rev-parse --short=12 HEAD 2>/dev/null); then
	echo "$base-dev"
	exit 0
fi
dirty=
if [[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]]; then
	dirty=.dirty
fi
if [[ -z $dirty ]] && git describe --tags --exact-match --match "v$base" HEAD >/dev/null 2>&1; then
	echo "$base"
else
	echo "$base-dev.$rev$dirty"
fi
