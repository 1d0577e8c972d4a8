#!/usr/bin/env bash
# The release tarball of Roost, as the OpenWrt feed downloads it:
#
#   scripts/release.sh [--ref REF] [--update-hash]
#
# Tag pattern: v<version>, e.g. v0.1.0 (Cargo.toml's version, which must
# equal PKG_VERSION of openwrt-feed/net/roost/Makefile). Makes
# target/dist/roost-<version>.tar.gz from `git archive REF` (default: the
# tag v<version>) plus the vendored crates (`cargo vendor`: vendor/ and
# .cargo/config.toml), so that SDK builds need no network. The tarball is
# reproducible (sorted, owner 0, mtime of the commit, gzip -n). Prints its
# sha256; --update-hash writes it into PKG_HASH of the feed Makefile.
#
# Publish it as a release asset of the tag: PKG_SOURCE_URL is
# .../releases/download/v$(PKG_VERSION)/ and PKG_SOURCE
# roost-$(PKG_VERSION).tar.gz. For a local SDK build, copy it into the
# SDK's dl/ directory instead (docs/OPENWRT.md).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
MK=openwrt-feed/net/roost/Makefile
ref=
update=0
while [ $# -gt 0 ]; do
    case "$1" in
        --ref)
            ref=$2
            shift
            ;;
        --update-hash) update=1 ;;
        *)
            sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
            exit 2
            ;;
    esac
    shift
done

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
pkg_version=$(sed -n 's/^PKG_VERSION:=//p' "$MK")
if [ "$version" != "$pkg_version" ]; then
    echo "release.sh: Cargo.toml $version != PKG_VERSION $pkg_version of $MK" >&2
    exit 1
fi
ref=${ref:-v$version}
git rev-parse --verify -q "$ref^{commit}" >/dev/null || {
    echo "release.sh: no such ref '$ref' (tag the release: git tag v$version)" >&2
    exit 1
}
epoch=$(git log -1 --format=%ct "$ref")
name=roost-$version
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git archive --format=tar --prefix="$name/" "$ref" | tar -x -C "$work"
(
    cd "$work/$name"
    mkdir -p .cargo
    # --offline when every crate is in the local cargo cache already.
    cargo vendor --locked --offline vendor >.cargo/config.toml 2>/dev/null ||
        cargo vendor --locked vendor >.cargo/config.toml
)
mkdir -p target/dist
out=target/dist/$name.tar.gz
tar -C "$work" --format=gnu --sort=name --owner=0 --group=0 --numeric-owner \
    --mtime="@$epoch" -cf - "$name" | gzip -9n >"$out"
hash=$(sha256sum "$out" | cut -d' ' -f1)
echo "$out: $(wc -c <"$out") bytes, sha256 $hash"
if [ "$update" = 1 ]; then
    sed -i "s/^PKG_HASH:=.*/PKG_HASH:=$hash/" "$MK"
    echo "PKG_HASH of $MK set"
fi
