#!/usr/bin/env bash
# Installable packages from the binaries of cross/build.sh.
#
#   cross/package.sh [OUTDIR]        (default OUTDIR: target/cross/pkg)
#
# For every binary found in target/cross/out/TRIPLE/roost:
#   roost_VERSION_ARCH.ipk   OpenWrt <= 24.10 (opkg): a gzip'd tar (not ar)
#                            of ./debian-binary, ./data.tar.gz, ./control.tar.gz
#       mips-unknown-linux-musl         -> mips_24kc
#       mipsel-unknown-linux-musl       -> mipsel_24kc
#       armv7-unknown-linux-musleabihf  -> arm_cortex-a7_neon-vfpv4
#       aarch64-unknown-linux-musl      -> aarch64_cortex-a53, aarch64_generic
#       x86_64-unknown-linux-musl       -> x86_64
#     payload: /usr/sbin/roost, /etc/init.d/roost, /etc/config/roost
#     (conffile), /usr/libexec/rpcd/roost (ubus object roost): the same
#     files as the feed (openwrt-feed/net/roost/files);
#   luci-app-roost_VERSION_all.ipk   the LuCI app (openwrt-feed/luci/
#     luci-app-roost: htdocs/ -> /www/, root/ -> /), architecture-independent;
#   roost_VERSION_ARCH.deb   Debian / Raspberry Pi OS, with a systemd unit:
#       x86_64 -> amd64, aarch64 -> arm64
#     payload: /usr/sbin/roost, /lib/systemd/system/roost.service,
#     /etc/roost/roost.conf (conffile), /usr/share/doc/roost/.
#
# Name, version, runtime dependencies, conffiles and description of the
# .ipk come from the feed's Makefiles (cross/feed-meta.sh); the .deb uses
# the same version, title and description.
#
# Reproducible: every mtime is SOURCE_DATE_EPOCH (default: the time of the
# last git commit), entries are sorted, owners are 0:0, gzip -n, xz for the
# .deb. The same binaries and sources give the same bytes; check with
# cross/check-packages.sh (which builds twice and compares sha256).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUTDIR=${1:-$ROOT/target/cross/pkg}
BINDIR=${ROOST_CROSS_TARGET_DIR:-$ROOT/target/cross}/out
FILES=$ROOT/openwrt-feed/net/roost/files
PKG=$ROOT/cross/pkg

META=$(mktemp -d)
trap 'rm -rf "$META"' EXIT
bash cross/feed-meta.sh openwrt-feed/net/roost/Makefile "$META"
bash cross/feed-meta.sh openwrt-feed/luci/luci-app-roost/Makefile "$META"
meta() { cat "$META/$1/$2"; }
PKGVER=$(meta roost version)
VERSION=${PKGVER%-*}
CARGO_VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
if [ "$VERSION" != "$CARGO_VERSION" ]; then
    echo "package.sh: PKG_VERSION $VERSION of openwrt-feed/net/roost/Makefile != Cargo.toml's $CARGO_VERSION" >&2
    exit 1
fi
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
export SOURCE_DATE_EPOCH
export TZ=UTC LC_ALL=C
umask 022

DESCRIPTION=$(meta roost title)
LONG_DESCRIPTION=$(meta roost description)

need=()
command -v dpkg-deb >/dev/null || need+=(dpkg)
command -v xz >/dev/null || need+=(xz-utils)
if [ ${#need[@]} -gt 0 ]; then
    echo "package.sh: missing ${need[*]} (apt-get install ${need[*]})" >&2
    exit 1
fi

ipk_arches() {
    case "$1" in
        mips-unknown-linux-musl) echo mips_24kc ;;
        mipsel-unknown-linux-musl) echo mipsel_24kc ;;
        armv7-unknown-linux-musleabihf) echo arm_cortex-a7_neon-vfpv4 ;;
        aarch64-unknown-linux-musl) echo aarch64_cortex-a53 aarch64_generic ;;
        x86_64-unknown-linux-musl) echo x86_64 ;;
    esac
}
deb_arch() {
    case "$1" in
        aarch64-unknown-linux-musl) echo arm64 ;;
        x86_64-unknown-linux-musl) echo amd64 ;;
    esac
}

# Normalise a staging tree: modes, then every mtime.
normalise() {
    find "$1" -type d -exec chmod 0755 {} +
    find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

# targz DIR OUT: a reproducible ustar/gnu tar.gz of DIR's contents as ./...
targz() {
    normalise "$1"
    tar -C "$1" --format=gnu --sort=name --owner=0 --group=0 --numeric-owner \
        --mtime="@$SOURCE_DATE_EPOCH" -cf - . | gzip -9n >"$2"
}

build_ipk() {
    local bin=$1 arch=$2 work out size
    work=$(mktemp -d)
    mkdir -p "$work/data/usr/sbin" "$work/data/etc/init.d" "$work/data/etc/config" "$work/control" "$work/pkg"
    install -m 0755 "$bin" "$work/data/usr/sbin/roost"
    install -m 0755 "$FILES/roost.init" "$work/data/etc/init.d/roost"
    install -m 0644 "$FILES/roost.config" "$work/data/etc/config/roost"
    mkdir -p "$work/data/usr/libexec/rpcd"
    install -m 0755 "$FILES/roost.rpcd" "$work/data/usr/libexec/rpcd/roost"
    size=$(installed_size "$work/data")
    ipk_control roost "$arch" "$size" >"$work/control/control"
    meta roost conffiles >"$work/control/conffiles"
    install -m 0755 "$PKG/ipk/postinst" "$work/control/postinst"
    install -m 0755 "$PKG/ipk/prerm" "$work/control/prerm"
    ipk_assemble "$work" "$OUTDIR/roost_${PKGVER}_$arch.ipk"
}

# ipk_control PKG ARCH SIZE: the control file, from the feed's metadata.
# Description as OpenWrt writes it: the description, continuation lines
# indented by one space.
ipk_control() {
    cat <<EOF
Package: $(meta "$1" name)
Version: $(meta "$1" version)
Depends: $(meta "$1" depends)
Source: $(meta "$1" source)
SourceDateEpoch: $SOURCE_DATE_EPOCH
License: $(meta "$1" license)
Section: $(meta "$1" section)
Architecture: $2
Installed-Size: $3
Description: $(meta "$1" description | sed '1!s/^/ /')
EOF
}

# ipk_assemble WORK OUT: WORK/data and WORK/control -> the .ipk OUT.
ipk_assemble() {
    local work=$1 out=$2
    mkdir -p "$work/pkg"
    chmod 0644 "$work/control/"*
    [ ! -e "$work/control/postinst" ] || chmod 0755 "$work/control/postinst" "$work/control/prerm"
    targz "$work/data" "$work/pkg/data.tar.gz"
    targz "$work/control" "$work/pkg/control.tar.gz"
    printf '2.0\n' >"$work/pkg/debian-binary"
    chmod 0644 "$work/pkg/"*
    normalise "$work/pkg"
    tar -C "$work/pkg" --format=gnu --owner=0 --group=0 --numeric-owner \
        --mtime="@$SOURCE_DATE_EPOCH" \
        -cf - ./debian-binary ./data.tar.gz ./control.tar.gz | gzip -9n >"$out"
    rm -rf "$work"
    echo "$out"
}

# installed_size DIR: in bytes, as OpenWrt's ipkg-build computes it.
installed_size() {
    find "$1" -type f -exec stat -c %s {} + | awk '{s += $1} END {print s + 0}'
}

# The LuCI app: architecture-independent, built once.
build_luci_ipk() {
    local app=$ROOT/openwrt-feed/luci/luci-app-roost work
    work=$(mktemp -d)
    mkdir -p "$work/data/www" "$work/control"
    cp -R "$app/htdocs/." "$work/data/www/"
    cp -R "$app/root/." "$work/data/"
    find "$work/data" -type f -exec chmod 0644 {} +
    ipk_control luci-app-roost all "$(installed_size "$work/data")" >"$work/control/control"
    # As luci.mk's: drop LuCI's caches, make rpcd re-read the ACLs.
    install -m 0755 "$PKG/ipk/luci-postinst" "$work/control/postinst"
    install -m 0755 "$PKG/ipk/luci-postinst" "$work/control/prerm"
    ipk_assemble "$work" "$OUTDIR/luci-app-roost_$(meta luci-app-roost version)_all.ipk"
}

build_deb() {
    local bin=$1 arch=$2 work out size
    work=$(mktemp -d)
    local r=$work/root
    mkdir -p "$r/DEBIAN" "$r/usr/sbin" "$r/lib/systemd/system" "$r/etc/roost" "$r/usr/share/doc/roost"
    install -m 0755 "$bin" "$r/usr/sbin/roost"
    install -m 0644 "$PKG/deb/roost.service" "$r/lib/systemd/system/roost.service"
    install -m 0644 "$PKG/deb/roost.conf" "$r/etc/roost/roost.conf"
    install -m 0644 README.md docs/CONFIG.md "$r/usr/share/doc/roost/"
    cat >"$r/usr/share/doc/roost/copyright" <<EOF
Roost $VERSION: BATMAN-style mesh routing daemon.
License: GPL-2.0-only (see /usr/share/common-licenses/GPL-2).
The binary is statically linked with musl libc (MIT) and Rust crates under
MIT or Apache-2.0 licences (see Cargo.lock of the source).
EOF
    chmod 0644 "$r/usr/share/doc/roost/copyright"
    size=$(du -sk --apparent-size --exclude=DEBIAN "$r" | cut -f1)
    cat >"$r/DEBIAN/control" <<EOF
Package: roost
Version: $PKGVER
Architecture: $arch
Maintainer: Roost developers <roost@localhost>
Installed-Size: $size
Section: net
Priority: optional
Description: $DESCRIPTION
$(printf '%s\n' "$LONG_DESCRIPTION" | sed 's/^/ /')
EOF
    printf '/etc/roost/roost.conf\n' >"$r/DEBIAN/conffiles"
    install -m 0755 "$PKG/deb/postinst" "$PKG/deb/prerm" "$PKG/deb/postrm" "$r/DEBIAN/"
    chmod 0644 "$r/DEBIAN/control" "$r/DEBIAN/conffiles"
    normalise "$r"
    out=$OUTDIR/roost_${PKGVER}_$arch.deb
    dpkg-deb --root-owner-group -Zxz -z9 --build "$r" "$out" >/dev/null
    rm -rf "$work"
    echo "$out"
}

mkdir -p "$OUTDIR"
found=0
for dir in "$BINDIR"/*/; do
    triple=$(basename "$dir")
    bin=$dir/roost
    [ -f "$bin" ] || continue
    found=1
    for a in $(ipk_arches "$triple"); do
        build_ipk "$bin" "$a"
    done
    a=$(deb_arch "$triple")
    [ -z "$a" ] || build_deb "$bin" "$a"
done
build_luci_ipk
if [ "$found" = 0 ]; then
    echo "package.sh: no binaries in $BINDIR; run cross/build.sh first" >&2
    exit 1
fi
