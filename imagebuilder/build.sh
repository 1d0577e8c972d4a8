#!/usr/bin/env bash
# Firmware for a whole community from one site file, with the official
# OpenWrt Image Builder (docs/IMAGEBUILDER.md):
#
#   imagebuilder/build.sh --site FILE --release 24.10.N|25.12.N \
#       --target TARGET/SUBTARGET --profile P [--profile P2 ...] \
#       [--dry-run] [--out DIR] [--work DIR] [--arch ARCH] [--cross-dir DIR]
#
# 1. fetches openwrt-imagebuilder-REL-TARGET-SUBTARGET.Linux-x86_64.tar.zst
#    and sha256sums from downloads.openwrt.org, checks and unpacks it
#    (into --work, default target/imagebuilder; kept for the next run);
# 2. adds Roost: on 24.10 (opkg) the .ipk of cross/package.sh for the
#    target's package architecture (and luci-app-roost) go into the Image
#    Builder's packages/ folder; on 25.12 (apk), or when there is no .ipk
#    for the architecture (e.g. aarch64_cortex-a72 of the Raspberry Pi 4),
#    the static binary of cross/build.sh and the package's files go into the
#    FILES overlay instead, which works on any release;
# 3. renders the FILES overlay: imagebuilder/files/ (the uci-defaults
#    script running `roost setup` on first boot), /etc/roost/site.conf,
#    and, in overlay mode, Roost and the LuCI app;
# 4. PACKAGES: roost (opkg mode), a mesh-capable wpad instead of
#    wpad-basic-mbedtls when the site sets a mesh key (SAE), and the site's
#    `list package` entries;
# 5. runs `make image PROFILE=P PACKAGES=... FILES=... BIN_DIR=OUT/...`
#    for every profile; the images end up in --out (default
#    target/imagebuilder/images)/RELEASE/TARGET-SUBTARGET/PROFILE/.
#
# --dry-run renders the overlay and prints every command and the overlay
# tree without downloading or building anything. Needs the outputs of
# cross/build.sh (target/cross/out/TRIPLE/roost) and, for 24.10,
# cross/package.sh (target/cross/pkg); --cross-dir (or
# ROOST_CROSS_TARGET_DIR) replaces target/cross. A real build also needs
# curl, zstd, GNU make and the Image Builder's host tools (see OpenWrt's
# Image Builder documentation).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export LC_ALL=C

usage() {
    sed -n '5,7p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
die() {
    echo "build.sh: $*" >&2
    exit 2
}

SITE="" RELEASE="" TARGET="" ARCH="" DRY=0
PROFILES=()
WORK=$ROOT/target/imagebuilder
OUT=""
CROSS=${ROOST_CROSS_TARGET_DIR:-$ROOT/target/cross}
while [ $# -gt 0 ]; do
    case "$1" in
        --site) SITE=${2:-} && shift ;;
        --release) RELEASE=${2:-} && shift ;;
        --target) TARGET=${2:-} && shift ;;
        --profile) PROFILES+=("${2:-}") && shift ;;
        --arch) ARCH=${2:-} && shift ;;
        --out) OUT=${2:-} && shift ;;
        --work) WORK=${2:-} && shift ;;
        --cross-dir) CROSS=${2:-} && shift ;;
        --dry-run) DRY=1 ;;
        -h | --help) usage ;;
        *) die "unknown argument '$1' (--help)" ;;
    esac
    shift
done
if [ -z "$SITE" ] || [ -z "$RELEASE" ] || [ -z "$TARGET" ] || [ ${#PROFILES[@]} -eq 0 ]; then
    usage
fi
[ -f "$SITE" ] || die "site file $SITE not found"
abs() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
SITE=$(abs "$SITE")
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
OUT=${OUT:-$WORK/images}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
CROSS=$(cd "$CROSS" 2>/dev/null && pwd) || die "no cross-build output in $CROSS: run cross/build.sh (and cross/package.sh for 24.10)"

case "$RELEASE" in
    24.10.[0-9]*) PKGMGR=opkg ;;
    25.12.[0-9]*) PKGMGR=apk ;;
    *) die "release '$RELEASE': expected 24.10.N or 25.12.N (e.g. 24.10.4)" ;;
esac
case "$TARGET" in
    */*) ;;
    *) die "target '$TARGET': expected TARGET/SUBTARGET, e.g. ath79/generic" ;;
esac
for p in "${PROFILES[@]}"; do
    case "$p" in
        '' | *[!A-Za-z0-9_.,-]*) die "profile '$p' is not a profile name (make info lists them)" ;;
    esac
done

# The site file (UCI syntax): the first value of `option KEY` / all values
# of `list KEY` in sections of type TYPE. `roost setup` checks the whole
# file on the router; this reads only what the build needs.
site_values() {
    awk -v type="$1" -v kw="$2" -v key="$3" '
        function unquote(s) {
            sub(/^[ \t]+/, "", s); sub(/[ \t]+(#.*)?$/, "", s)
            if (s ~ /^'\''.*'\''$/ || s ~ /^".*"$/) s = substr(s, 2, length(s) - 2)
            return s
        }
        $1 == "config" { cur = $2; gsub(/['\''"]/, "", cur); next }
        cur == type && $1 == kw && $2 == key {
            v = $0; sub(/^[ \t]*[a-z]+[ \t]+[^ \t]+/, "", v); print unquote(v)
        }' "$SITE"
}
CODE=$(site_values site option code | head -n1)
[ -n "$CODE" ] || die "$SITE: site.code is missing"
case "$CODE" in *[!A-Za-z0-9_-]*) die "$SITE: site.code '$CODE' must be [A-Za-z0-9_-]" ;; esac
MESH_KEY=$(site_values mesh option key | head -n1)
mapfile -t SITE_PACKAGES < <(site_values site list package)

# Package architecture of a target (the Image Builder's
# CONFIG_TARGET_ARCH_PACKAGES; checked against it on a real build).
target_arch() {
    case "$1" in
        ath79/* | lantiq/* | realtek/*) echo mips_24kc ;;
        ramips/*) echo mipsel_24kc ;;
        ipq40xx/* | bcm27xx/bcm2709) echo arm_cortex-a7_neon-vfpv4 ;;
        ipq806x/*) echo arm_cortex-a15_neon-vfpv4 ;;
        mvebu/cortexa9) echo arm_cortex-a9_vfpv3-d16 ;;
        bcm27xx/bcm2710 | mediatek/filogic | mediatek/mt7622 | mvebu/cortexa53 | qualcommax/*) echo aarch64_cortex-a53 ;;
        bcm27xx/bcm2711) echo aarch64_cortex-a72 ;;
        bcm27xx/bcm2712) echo aarch64_cortex-a76 ;;
        armsr/armv8 | rockchip/armv8) echo aarch64_generic ;;
        x86/64) echo x86_64 ;;
    esac
}
# The Rust triple of cross/build.sh whose static binary runs there.
arch_triple() {
    case "$1" in
        mips_24kc) echo mips-unknown-linux-musl ;;
        mipsel_24kc) echo mipsel-unknown-linux-musl ;;
        arm_cortex-a7* | arm_cortex-a9* | arm_cortex-a15*) echo armv7-unknown-linux-musleabihf ;;
        aarch64_*) echo aarch64-unknown-linux-musl ;;
        x86_64) echo x86_64-unknown-linux-musl ;;
    esac
}
ARCH=${ARCH:-$(target_arch "$TARGET")}
[ -n "$ARCH" ] || die "unknown package architecture of $TARGET: give --arch (the Image Builder's CONFIG_TARGET_ARCH_PACKAGES)"
TRIPLE=$(arch_triple "$ARCH")
[ -n "$TRIPLE" ] || die "no Roost binary for architecture $ARCH (cross/build.sh builds mips, mipsel, armv7, aarch64, x86_64)"

META=$(mktemp -d)
trap 'rm -rf "$META"' EXIT
bash "$ROOT/cross/feed-meta.sh" "$ROOT/openwrt-feed/net/roost/Makefile" "$META" >/dev/null
bash "$ROOT/cross/feed-meta.sh" "$ROOT/openwrt-feed/luci/luci-app-roost/Makefile" "$META" >/dev/null
PKGVER=$(cat "$META/roost/version")
LUCIVER=$(cat "$META/luci-app-roost/version")

IPK=$CROSS/pkg/roost_${PKGVER}_$ARCH.ipk
LUCI_IPK=$CROSS/pkg/luci-app-roost_${LUCIVER}_all.ipk
BIN=$CROSS/out/$TRIPLE/roost
if [ "$PKGMGR" = opkg ] && [ -f "$IPK" ]; then
    MODE=package
elif [ -f "$BIN" ]; then
    MODE=overlay
elif [ "$PKGMGR" = opkg ]; then
    die "neither $IPK nor $BIN: run cross/build.sh $TRIPLE && cross/package.sh"
else
    die "$BIN missing: run cross/build.sh $TRIPLE"
fi

T=${TARGET%/*}
S=${TARGET#*/}
IB_NAME=openwrt-imagebuilder-$RELEASE-$T-$S.Linux-x86_64
URL=https://downloads.openwrt.org/releases/$RELEASE/targets/$T/$S
IB=$WORK/$IB_NAME
DL=$WORK/dl/$RELEASE-$T-$S
FILES=$WORK/files/$RELEASE-$T-$S

# Shell quoting for the printed commands: only where needed.
q() {
    case "$1" in
        '' | *[!A-Za-z0-9_./=:@+,%-]*) printf "'%s'" "${1//\'/\'\\\'\'}" ;;
        *) printf '%s' "$1" ;;
    esac
}
# run CMD...: print it; run it unless --dry-run.
run() {
    local a line=""
    for a in "$@"; do
        line+="${line:+ }$(q "$a")"
    done
    echo "$line"
    [ "$DRY" = 1 ] || "$@"
}

# The overlay, rendered from scratch each time.
rm -rf "$FILES"
mkdir -p "$FILES"
cp -R "$ROOT/imagebuilder/files/." "$FILES/"
install -D -m 0600 "$SITE" "$FILES/etc/roost/site.conf"
if [ "$MODE" = overlay ]; then
    F=$ROOT/openwrt-feed/net/roost/files
    install -D -m 0755 "$BIN" "$FILES/usr/sbin/roost"
    install -D -m 0755 "$F/roost.init" "$FILES/etc/init.d/roost"
    install -D -m 0644 "$F/roost.config" "$FILES/etc/config/roost"
    install -D -m 0755 "$F/roost.rpcd" "$FILES/usr/libexec/rpcd/roost"
    L=$ROOT/openwrt-feed/luci/luci-app-roost
    mkdir -p "$FILES/www"
    cp -R "$L/htdocs/." "$FILES/www/"
    cp -R "$L/root/." "$FILES/"
fi
find "$FILES" -type d -exec chmod 0755 {} +
find "$FILES" -type f -perm -u+x -exec chmod 0755 {} +
find "$FILES" -type f ! -perm -u+x -exec chmod 0644 {} +
chmod 0600 "$FILES/etc/roost/site.conf"

PACKAGES=()
if [ "$MODE" = package ]; then
    PACKAGES+=(roost)
    [ ! -f "$LUCI_IPK" ] || PACKAGES+=(luci-app-roost)
fi
if [ -n "$MESH_KEY" ]; then
    # 802.11s with SAE needs wpa_supplicant's mesh support.
    PACKAGES+=(-wpad-basic-mbedtls wpad-mesh-mbedtls)
fi
PACKAGES+=("${SITE_PACKAGES[@]}")

echo "# Roost $PKGVER for site '$CODE': OpenWrt $RELEASE ($PKGMGR), $TARGET, $ARCH; Roost as $MODE"
echo "# overlay $FILES:"
(cd "$FILES" && find . -mindepth 1 | sort | while read -r f; do
    printf '#   %s %s\n' "$(stat -c %a "$f")" "${f#./}"
done)

# Fetch, check and unpack the Image Builder (once).
if [ "$DRY" = 1 ] || [ ! -f "$IB/Makefile" ]; then
    run mkdir -p "$DL"
    run curl -fL --retry 3 -o "$DL/$IB_NAME.tar.zst" "$URL/$IB_NAME.tar.zst"
    run curl -fL --retry 3 -o "$DL/sha256sums" "$URL/sha256sums"
    echo "(cd $(q "$DL") && grep ' \\*$IB_NAME.tar.zst\$' sha256sums | sha256sum -c -)"
    if [ "$DRY" = 0 ]; then
        (cd "$DL" && grep " \\*$IB_NAME.tar.zst\$" sha256sums | sha256sum -c -) ||
            die "checksum of $IB_NAME.tar.zst does not match"
    fi
    run tar -C "$WORK" --zstd -xf "$DL/$IB_NAME.tar.zst"
fi
if [ "$DRY" = 0 ]; then
    ib_arch=$(sed -n 's/^CONFIG_TARGET_ARCH_PACKAGES="\(.*\)"$/\1/p' "$IB/.config")
    [ "$ib_arch" = "$ARCH" ] || die "the Image Builder's architecture is $ib_arch, not $ARCH: give --arch $ib_arch"
fi
if [ "$MODE" = package ]; then
    run cp "$IPK" "$IB/packages/"
    [ ! -f "$LUCI_IPK" ] || run cp "$LUCI_IPK" "$IB/packages/"
fi
for p in "${PROFILES[@]}"; do
    bin="$OUT/$RELEASE/$T-$S/$p"
    run mkdir -p "$bin"
    run make -C "$IB" image "PROFILE=$p" "PACKAGES=${PACKAGES[*]}" "FILES=$FILES" \
        "BIN_DIR=$bin" "EXTRA_IMAGE_NAME=$CODE"
    if [ "$DRY" = 0 ]; then
        find "$bin" -maxdepth 1 -type f -name "*$CODE*" | sort
    fi
done
