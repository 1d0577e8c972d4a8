#!/usr/bin/env bash
# Static checks of the OpenWrt feed (openwrt-feed/) and of every shell file,
# run by scripts/test.sh after `cargo build --release`:
#
#   bash scripts/check-openwrt-feed.sh
#
# * shellcheck and `shfmt -d` (style from .editorconfig) on every shell file
#   of the repository, as OpenWrt's package CI does;
# * the LuCI app's JSON files parse;
# * package metadata (cross/feed-meta.sh): PKG_VERSION of both Makefiles is
#   Cargo.toml's version; runtime dependencies carry no build conditions;
#   conffiles; luci-app-roost is arch all; every file the Makefile installs
#   exists;
# * net/roost/test.sh (openwrt/packages CI convention) passes against the
#   packages' files laid out in a temporary root, with target/release/roost.
# Needs shellcheck, shfmt, jq (scripts/setup.sh installs them).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
fail() {
    echo "check-openwrt-feed.sh: FAIL: $*" >&2
    exit 1
}
BIN=${ROOST_BIN:-$ROOT/target/release/roost}
[ -x "$BIN" ] || fail "$BIN missing: cargo build --release first"

# Every shell file: *.sh, or a shell shebang (including init scripts).
shell_files=()
while IFS= read -r f; do
    [ -f "$f" ] || continue
    case "$f" in
        *.sh) shell_files+=("$f") ;;
        *)
            if head -n1 "$f" | grep -Eq '^#!(/usr/bin/env |/bin/)(ba)?sh\b'; then
                shell_files+=("$f")
            fi
            ;;
    esac
done < <(git ls-files --cached --others --exclude-standard | sort -u)
shellcheck -x "${shell_files[@]}"
shfmt -d "${shell_files[@]}"
echo "ok: shellcheck and shfmt clean: ${#shell_files[@]} files"

for f in openwrt-feed/luci/*/root/usr/share/luci/menu.d/*.json openwrt-feed/luci/*/root/usr/share/rpcd/acl.d/*.json; do
    jq -e . "$f" >/dev/null || fail "$f is not JSON"
done
echo "ok: LuCI JSON files parse"

META=$(mktemp -d)
TMPROOT=$(mktemp -d)
trap 'rm -rf "$META" "$TMPROOT"' EXIT
bash cross/feed-meta.sh openwrt-feed/net/roost/Makefile "$META"
bash cross/feed-meta.sh openwrt-feed/luci/luci-app-roost/Makefile "$META"
cargo_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
for p in roost luci-app-roost; do
    v=$(cat "$META/$p/version")
    [ "${v%-*}" = "$cargo_version" ] || fail "$p: version $v, Cargo.toml $cargo_version"
    case "$(cat "$META/$p/depends")" in
        *@* | *RUST* | *IPV6*) fail "$p: build condition in runtime depends: $(cat "$META/$p/depends")" ;;
    esac
done
[ "$(cat "$META/roost/depends")" = libc ] || fail "roost depends: $(cat "$META/roost/depends")"
[ "$(cat "$META/roost/conffiles")" = /etc/config/roost ] || fail "roost conffiles"
[ -z "$(cat "$META/roost/arch")" ] || fail "roost must be target-specific"
[ "$(cat "$META/luci-app-roost/arch")" = all ] || fail "luci-app-roost must be arch all"
[ "$(cat "$META/luci-app-roost/depends")" = "libc, luci-base, roost" ] || fail "luci-app-roost depends"
grep -Eq '^PKG_BUILD_DEPENDS:=rust/host$' openwrt-feed/net/roost/Makefile || fail "PKG_BUILD_DEPENDS"
grep -Eq 'DEPENDS:=\$\(RUST_ARCH_DEPENDS\) @IPV6$' openwrt-feed/net/roost/Makefile || fail "DEPENDS"
grep -Eq '^\$\(eval \$\(call RustBinPackage,roost\)\)$' openwrt-feed/net/roost/Makefile || fail "RustBinPackage"
while read -r f; do
    [ -f "openwrt-feed/net/roost/files/$f" ] || fail "Makefile installs files/$f, which is missing"
done < <(sed -n 's|.*\./files/\([^ ]*\) .*|\1|p' openwrt-feed/net/roost/Makefile)
echo "ok: package metadata: roost $(cat "$META/roost/version") ($(cat "$META/roost/depends")), luci-app-roost $(cat "$META/luci-app-roost/version") all ($(cat "$META/luci-app-roost/depends"))"

# test.sh against the installed layout (what cross/package.sh packs).
r=$TMPROOT/roost
F=openwrt-feed/net/roost/files
install -D -m 0755 "$BIN" "$r/usr/sbin/roost"
install -D -m 0755 $F/roost.init "$r/etc/init.d/roost"
install -D -m 0644 $F/roost.config "$r/etc/config/roost"
install -D -m 0755 $F/roost.rpcd "$r/usr/libexec/rpcd/roost"
version=$(cat "$META/roost/version")
PATH=$r/usr/sbin:$PATH ROOST_TEST_ROOT=$r sh openwrt-feed/net/roost/test.sh roost "${version%-*}"
echo "ok: net/roost/test.sh roost ${version%-*}"
l=$TMPROOT/luci
mkdir -p "$l/www"
cp -R openwrt-feed/luci/luci-app-roost/htdocs/. "$l/www/"
cp -R openwrt-feed/luci/luci-app-roost/root/. "$l/"
ROOST_TEST_ROOT=$l sh openwrt-feed/luci/luci-app-roost/test.sh luci-app-roost "${version%-*}"
echo "ok: luci/luci-app-roost/test.sh; meshmap.js: $(wc -c <openwrt-feed/luci/luci-app-roost/htdocs/luci-static/resources/roost/meshmap.js) bytes ($(gzip -9c openwrt-feed/luci/luci-app-roost/htdocs/luci-static/resources/roost/meshmap.js | wc -c) gzipped)"
