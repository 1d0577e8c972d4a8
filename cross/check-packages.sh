#!/usr/bin/env bash
# Checks the packages of cross/package.sh without touching the host system:
#
#   cross/check-packages.sh
#
# * builds the packages twice (target/cross/pkg, target/cross/pkg2) and
#   compares their sha256 (reproducibility);
# * shellcheck of the init script, the rpcd plugin and every maintainer
#   script;
# * control fields (name, version, depends, conffiles, description) equal
#   the feed Makefiles' metadata (cross/feed-meta.sh);
# * .ipk: gzip'd tar (not ar) of ./debian-binary "2.0", ./data.tar.gz,
#   ./control.tar.gz; control fields; architecture name = file name;
#   conffiles; payload paths, modes and owners; installed into a temporary
#   root the way opkg lays it out (data in /, control files in
#   /usr/lib/opkg/info/roost.*, a status entry), postinst/prerm run with
#   IPKG_INSTROOT set (must do nothing); the installed binary runs under
#   qemu-user (--version, and the shipped /etc/config/roost parses);
# * .deb: dpkg-deb -I/-c, fields and layout, systemd-analyze verify of the
#   unit, then dpkg --root into a temporary root (install, remove, purge;
#   maintainer scripts run chrootless with DPKG_ROOT set and do nothing).
# Needs: shellcheck, qemu-user-static, dpkg, systemd (installs the first two
# if missing, as root).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PKGDIR=$ROOT/target/cross/pkg
export LC_ALL=C

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() {
    echo "check-packages.sh: FAIL: $*" >&2
    exit 1
}
ok() { echo "ok: $*"; }

need=()
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v qemu-mips-static >/dev/null || need+=(qemu-user-static)
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update && apt-get install -y --no-install-recommends "${need[@]}"
fi

step "Reproducibility: build the packages twice"
rm -rf "$PKGDIR" "$PKGDIR"2
bash cross/package.sh "$PKGDIR" >/dev/null
sleep 1
bash cross/package.sh "$PKGDIR"2 >/dev/null
(cd "$PKGDIR" && sha256sum -- *) >/tmp/roost-pkg-sha.1
(cd "$PKGDIR"2 && sha256sum -- *) >/tmp/roost-pkg-sha.2
cat /tmp/roost-pkg-sha.1
cmp /tmp/roost-pkg-sha.1 /tmp/roost-pkg-sha.2 || fail "two package builds differ"
rm -rf "$PKGDIR"2
ok "two builds are byte-identical"

step "shellcheck"
shellcheck -s sh openwrt-feed/net/roost/files/roost.init openwrt-feed/net/roost/files/roost.rpcd
shellcheck -s sh cross/pkg/ipk/postinst cross/pkg/ipk/prerm cross/pkg/ipk/luci-postinst \
    cross/pkg/deb/postinst cross/pkg/deb/prerm cross/pkg/deb/postrm
shellcheck cross/build.sh cross/package.sh cross/check-packages.sh cross/feed-meta.sh
ok "shellcheck clean"

qemu_for() {
    case "$1" in
        mips_24kc) echo "qemu-mips-static -cpu 24Kc" ;;
        mipsel_24kc) echo "qemu-mipsel-static -cpu 24Kc" ;;
        arm_cortex-a7_neon-vfpv4) echo "qemu-arm-static -cpu cortex-a7" ;;
        aarch64_cortex-a53) echo "qemu-aarch64-static -cpu cortex-a53" ;;
        aarch64_generic | arm64) echo "qemu-aarch64-static" ;;
        x86_64 | amd64) echo "" ;;
        *) fail "no qemu for $1" ;;
    esac
}
machine_for() {
    case "$1" in
        mips_24kc) echo "MSB executable, MIPS, MIPS32" ;;
        mipsel_24kc) echo "LSB executable, MIPS, MIPS32" ;;
        arm_cortex-a7_neon-vfpv4) echo "LSB executable, ARM, EABI5" ;;
        aarch64_* | arm64) echo "LSB executable, ARM aarch64" ;;
        x86_64 | amd64) echo "x86-64" ;;
    esac
}

# run_binary ARCH BIN CONFIG: --version, then the config must parse (the
# shipped config has its interface disabled: exit 2, "no mesh interface").
run_binary() {
    local arch=$1 bin=$2 conf=$3 q out rc
    q=$(qemu_for "$arch")
    file -b "$bin" | grep -q "$(machine_for "$arch")" || fail "$bin: wrong machine: $(file -b "$bin")"
    file -b "$bin" | grep -Eq 'statically linked|static-pie' || fail "$bin is not static"
    # shellcheck disable=SC2086 # $q is a command with arguments
    out=$($q "$bin" --version) || fail "$bin --version under '$q'"
    echo "  $arch: $out (${q:-native})"
    rc=0
    # shellcheck disable=SC2086
    out=$($q "$bin" run -c "$conf" --control-socket /nonexistent/roost.sock 2>&1) || rc=$?
    if [ "$rc" != 2 ] || ! echo "$out" | grep -q "no mesh interface"; then
        fail "$arch: shipped config: exit $rc: $out"
    fi
    echo "  $arch: shipped config parses (exit 2: $out)"
}

shopt -s nullglob
META=$(mktemp -d)
bash cross/feed-meta.sh openwrt-feed/net/roost/Makefile "$META"
bash cross/feed-meta.sh openwrt-feed/luci/luci-app-roost/Makefile "$META"
# check_control CONTROL PKG: the fields that come from the feed's Makefile.
check_control() {
    local c=$1 p=$2
    grep -qx "Package: $(cat "$META/$p/name")" "$c" || fail "$p: Package"
    grep -qx "Version: $(cat "$META/$p/version")" "$c" || fail "$p: Version"
    grep -qx "Depends: $(cat "$META/$p/depends")" "$c" || fail "$p: Depends"
    grep -qx "Section: $(cat "$META/$p/section")" "$c" || fail "$p: Section"
    grep -qx "License: $(cat "$META/$p/license")" "$c" || fail "$p: License"
    [ "$(sed -n '/^Description: /,$p' "$c" | sed '1s/^Description: //; 2,$s/^ //')" = "$(cat "$META/$p/description")" ] ||
        fail "$p: Description"
}

step "luci-app-roost .ipk"
luci=("$PKGDIR"/luci-app-roost_*_all.ipk)
[ ${#luci[@]} -eq 1 ] || fail "no luci-app-roost ipk"
w=$(mktemp -d)
tar xzf "${luci[0]}" -C "$w"
[ "$(cat "$w/debian-binary")" = "2.0" ] || fail "luci: debian-binary"
mkdir "$w/control" "$w/root"
tar xzf "$w/control.tar.gz" -C "$w/control"
tar xzf "$w/data.tar.gz" -C "$w/root"
check_control "$w/control/control" luci-app-roost
grep -qx "Architecture: all" "$w/control/control" || fail "luci: Architecture"
(cd openwrt-feed/luci/luci-app-roost/htdocs && find . -type f | sort) >"$w/want"
(cd openwrt-feed/luci/luci-app-roost/root && find . -type f | sort) >>"$w/want"
(cd "$w/root/www" && find . -type f | sort) >"$w/got"
(cd "$w/root" && find . -path ./www -prune -o -type f -print | sort) >>"$w/got"
cmp -s "$w/want" "$w/got" || fail "luci: payload differs from the feed: $(diff "$w/want" "$w/got")"
ROOST_TEST_ROOT=$w/root sh openwrt-feed/luci/luci-app-roost/test.sh luci-app-roost "$(cat "$META/luci-app-roost/version")" || fail "luci: test.sh"
before=$(find "$w/root" | sort | md5sum)
IPKG_INSTROOT=$w/root sh "$w/control/postinst" || fail "luci postinst"
[ "$(find "$w/root" | sort | md5sum)" = "$before" ] || fail "luci postinst changed the root"
rm -rf "$w"
ok "$(basename "${luci[0]}")"

step "roost .ipk packages"
ipks=("$PKGDIR"/roost_*.ipk)
[ ${#ipks[@]} -gt 0 ] || fail "no .ipk in $PKGDIR"
for ipk in "${ipks[@]}"; do
    name=$(basename "$ipk" .ipk)
    arch=${name#roost_*_}
    version=${name#roost_}
    version=${version%%_*}
    echo "-- $name (arch $arch, version $version)"
    [ "$(head -c2 "$ipk" | od -An -tx1 | tr -d ' ')" = 1f8b ] || fail "$ipk is not gzip"
    members=$(tar tzf "$ipk" | tr '\n' ' ')
    [ "$members" = "./debian-binary ./data.tar.gz ./control.tar.gz " ] || fail "members: $members"
    [ "$(tar xzOf "$ipk" ./debian-binary)" = "2.0" ] || fail "debian-binary"
    w=$(mktemp -d)
    tar xzf "$ipk" -C "$w"
    mkdir "$w/control" "$w/root"
    tar xzf "$w/control.tar.gz" -C "$w/control"
    for f in Package Version Depends Source License Section Architecture Installed-Size Description; do
        grep -q "^$f: ." "$w/control/control" || fail "control field $f missing"
    done
    check_control "$w/control/control" roost
    grep -qx "Architecture: $arch" "$w/control/control" || fail "Architecture != $arch"
    grep -qx "Version: $version" "$w/control/control" || fail "Version != $version"
    [ "$(cat "$w/control/conffiles")" = /etc/config/roost ] || fail conffiles
    [ "$(tar tzf "$w/control.tar.gz" | sort | tr '\n' ' ')" = "./ ./conffiles ./control ./postinst ./prerm " ] ||
        fail "control.tar.gz members"
    listing=$(tar tvzf "$w/data.tar.gz" | awk '{print $1, $2, $6}' | sort -k3)
    expected="drwxr-xr-x 0/0 ./
drwxr-xr-x 0/0 ./etc/
drwxr-xr-x 0/0 ./etc/config/
-rw-r--r-- 0/0 ./etc/config/roost
drwxr-xr-x 0/0 ./etc/init.d/
-rwxr-xr-x 0/0 ./etc/init.d/roost
drwxr-xr-x 0/0 ./usr/
drwxr-xr-x 0/0 ./usr/libexec/
drwxr-xr-x 0/0 ./usr/libexec/rpcd/
-rwxr-xr-x 0/0 ./usr/libexec/rpcd/roost
drwxr-xr-x 0/0 ./usr/sbin/
-rwxr-xr-x 0/0 ./usr/sbin/roost"
    [ "$listing" = "$expected" ] || fail "data.tar.gz layout:
$listing"
    size=$(tar tvzf "$w/data.tar.gz" | awk '$1 ~ /^-/ {s += $3} END {print s}')
    grep -qx "Installed-Size: $size" "$w/control/control" || fail "Installed-Size != $size"
    cmp -s <(tar xzOf "$w/data.tar.gz" ./etc/init.d/roost) openwrt-feed/net/roost/files/roost.init || fail "init script differs from the feed's"
    cmp -s <(tar xzOf "$w/data.tar.gz" ./etc/config/roost) openwrt-feed/net/roost/files/roost.config || fail "config differs from the feed's"
    cmp -s <(tar xzOf "$w/data.tar.gz" ./usr/libexec/rpcd/roost) openwrt-feed/net/roost/files/roost.rpcd || fail "rpcd plugin differs from the feed's"
    # Installed the way opkg lays it out.
    r=$w/root
    tar xzf "$w/data.tar.gz" -C "$r"
    mkdir -p "$r/usr/lib/opkg/info"
    for f in control conffiles postinst prerm; do cp -p "$w/control/$f" "$r/usr/lib/opkg/info/roost.$f"; done
    tar tzf "$w/data.tar.gz" | sed -n 's|^\./\(.*[^/]\)$|/\1|p' >"$r/usr/lib/opkg/info/roost.list"
    {
        cat "$w/control/control"
        echo "Status: install user installed"
        echo
    } >"$r/usr/lib/opkg/status"
    # With IPKG_INSTROOT set (image build), the scripts must not touch anything.
    before=$(find "$r" | sort | md5sum)
    IPKG_INSTROOT=$r sh "$r/usr/lib/opkg/info/roost.postinst" || fail postinst
    IPKG_INSTROOT=$r sh "$r/usr/lib/opkg/info/roost.prerm" || fail prerm
    [ "$(find "$r" | sort | md5sum)" = "$before" ] || fail "postinst/prerm changed the root"
    run_binary "$arch" "$r/usr/sbin/roost" "$r/etc/config/roost"
    rm -rf "$w"
    ok "$name"
done

step ".deb packages"
debs=("$PKGDIR"/*.deb)
[ ${#debs[@]} -gt 0 ] || echo "no .deb (build x86_64/aarch64 first)"
for deb in "${debs[@]}"; do
    name=$(basename "$deb" .deb)
    arch=${name##*_}
    echo "-- $name"
    dpkg-deb -I "$deb"
    dpkg-deb -c "$deb"
    [ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || fail "Architecture"
    [ "$(dpkg-deb -f "$deb" Package)" = roost ] || fail "Package"
    paths=$(dpkg-deb -c "$deb" | awk '{print $2, $6}' | sort -k2 | tr '\n' ' ')
    for p in "root/root ./usr/sbin/roost" "root/root ./lib/systemd/system/roost.service" "root/root ./etc/roost/roost.conf"; do
        case "$paths" in *"$p "*) ;; *) fail "$p missing: $paths" ;; esac
    done
    w=$(mktemp -d)
    dpkg-deb -e "$deb" "$w/DEBIAN"
    [ "$(cat "$w/DEBIAN/conffiles")" = /etc/roost/roost.conf ] || fail conffiles
    # systemd-analyze verify wants ExecStart's binary at its path, and
    # --root lacks the host's targets and /bin/kill: verify a copy of the
    # unit whose only change is the path of the extracted binary.
    dpkg-deb -x "$deb" "$w/x"
    unit=$w/x/lib/systemd/system/roost.service
    grep -qx 'ExecStart=/usr/sbin/roost run -c /etc/roost/roost.conf' "$unit" || fail ExecStart
    # shellcheck disable=SC2016 # a literal $MAINPID
    grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$unit" || fail ExecReload
    grep -qx 'Type=simple' "$unit" || fail Type
    grep -qx 'Restart=on-failure' "$unit" || fail Restart
    mkdir "$w/unit"
    sed "s|^ExecStart=/usr/sbin/roost|ExecStart=$w/x/usr/sbin/roost|" "$unit" >"$w/unit/roost.service"
    systemd-analyze verify --man=no "$w/unit/roost.service" || fail "systemd-analyze verify"
    ok "systemd-analyze verify roost.service"
    # dpkg --root: a fresh dpkg database in a temporary root.
    r=$w/root
    mkdir -p "$r/var/lib/dpkg/info" "$r/var/lib/dpkg/updates" "$r/var/lib/dpkg/triggers" "$r/var/log"
    : >"$r/var/lib/dpkg/status"
    : >"$r/var/lib/dpkg/available"
    dpkg_r() { dpkg --root="$r" --log="$r/var/log/dpkg.log" --force-script-chrootless --force-architecture "$@"; }
    dpkg_r -i "$deb"
    dpkg_r -s roost | grep -x 'Status: install ok installed' >/dev/null || fail "dpkg -s"
    dpkg_r -L roost
    if [ ! -x "$r/usr/sbin/roost" ] || [ ! -f "$r/etc/roost/roost.conf" ]; then fail "installed files"; fi
    run_binary "$arch" "$r/usr/sbin/roost" "$r/etc/roost/roost.conf"
    dpkg_r -r roost
    if [ ! -f "$r/etc/roost/roost.conf" ] || [ -e "$r/usr/sbin/roost" ]; then fail "remove keeps the conffile only"; fi
    dpkg_r -P roost
    [ ! -e "$r/etc/roost/roost.conf" ] || fail "purge removes the conffile"
    rm -rf "$w"
    ok "$name: dpkg --root install, remove (conffile kept), purge"
done

step "All package checks passed"
