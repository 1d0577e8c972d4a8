#!/usr/bin/env bash
# Package metadata from the OpenWrt feed's Makefiles, the single source for
# the feed and for the .ipk of cross/package.sh:
#
#   cross/feed-meta.sh MAKEFILE OUTDIR
#
# evaluates MAKEFILE (e.g. openwrt-feed/net/roost/Makefile) with GNU make
# against a stub of the OpenWrt build system (rules.mk, package.mk,
# rust-package.mk, luci.mk) whose BuildPackage writes, for every package P
# the Makefile builds, the files OUTDIR/P/{name,version,depends,conffiles,
# title,description,section,license,arch,source}. `version` is
# PKG_VERSION-PKG_RELEASE; `depends` is the runtime dependency list of the
# control file: libc plus every +pkg / pkg of DEPENDS, without build
# conditions (@IPV6, $(RUST_ARCH_DEPENDS)); `arch` is PKGARCH ("all") or
# empty (target-specific).
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: feed-meta.sh MAKEFILE OUTDIR" >&2
    exit 2
fi
mk=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
out=$2
mkdir -p "$out"
out=$(cd "$out" && pwd)
stub=$(mktemp -d)
trap 'rm -rf "$stub"' EXIT
mkdir -p "$stub/include" "$stub/feeds/packages/lang/rust" "$stub/feeds/luci"

cat >"$stub/rules.mk" <<'MK'
INCLUDE_DIR:=$(TOPDIR)/include
MK
cat >"$stub/feeds/packages/lang/rust/rust-package.mk" <<'MK'
RUST_ARCH_DEPENDS:=@RUST_ARCH_DEPENDS
define RustBinPackage
endef
MK
cat >"$stub/include/package.mk" <<'MK'
PKG_RELEASE?=1
define BuildPackage
$(eval PKGARCH:=)
$(eval $(Package/$(1)))
$(shell mkdir -p $(META_OUT)/$(1))
$(file >$(META_OUT)/$(1)/name,$(1))
$(file >$(META_OUT)/$(1)/version,$(PKG_VERSION)-$(PKG_RELEASE))
$(file >$(META_OUT)/$(1)/depends_raw,$(DEPENDS))
$(file >$(META_OUT)/$(1)/conffiles,$(strip $(Package/$(1)/conffiles)))
$(file >$(META_OUT)/$(1)/title,$(strip $(TITLE)))
$(file >$(META_OUT)/$(1)/description,$(Package/$(1)/description))
$(file >$(META_OUT)/$(1)/section,$(SECTION))
$(file >$(META_OUT)/$(1)/license,$(PKG_LICENSE))
$(file >$(META_OUT)/$(1)/arch,$(PKGARCH))
$(file >$(META_OUT)/$(1)/source,feeds/roost/$(notdir $(abspath $(CURDIR)/..))/$(notdir $(CURDIR)))
endef
MK
# What luci.mk does with LUCI_* (a subset).
cat >"$stub/feeds/luci/luci.mk" <<'MK'
include $(INCLUDE_DIR)/package.mk
PKG_NAME?=$(notdir $(CURDIR))
define Package/$(PKG_NAME)
  SECTION:=luci
  TITLE:=$(LUCI_TITLE)
  DEPENDS:=$(LUCI_DEPENDS)
  PKGARCH:=$(if $(LUCI_PKGARCH),$(LUCI_PKGARCH),all)
endef
Package/$(PKG_NAME)/description=$(strip $(LUCI_DESCRIPTION))
$(eval $(call BuildPackage,$(PKG_NAME)))
MK

make -s --no-print-directory -C "$(dirname "$mk")" -f "$mk" TOPDIR="$stub" META_OUT="$out" \
    -E 'nothing:' nothing >/dev/null

for d in "$out"/*/; do
    [ -f "$d/depends_raw" ] || continue # done by an earlier run
    deps=libc
    read -ra words <"$d/depends_raw" || true
    for w in "${words[@]}"; do
        case "$w" in
            @*) ;;
            +*) deps="$deps, ${w#+}" ;;
            *) deps="$deps, $w" ;;
        esac
    done
    printf '%s\n' "$deps" >"$d/depends"
    rm "$d/depends_raw"
    # Descriptions are indented by two spaces in the Makefile.
    sed -i 's/^  //' "$d/description"
done
