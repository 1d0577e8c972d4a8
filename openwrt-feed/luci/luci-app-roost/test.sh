#!/bin/sh
# Package test in the convention of openwrt/packages CI: run on a system
# where the package is installed, as `test.sh PKG_NAME PKG_VERSION`.
# scripts/check-openwrt-feed.sh runs it against a temporary root
# (ROOST_TEST_ROOT, default /).

R=${ROOST_TEST_ROOT:-}

fail() {
	echo "test.sh: FAIL: $*" >&2
	exit 1
}

case "$1" in
luci-app-roost)
	W=$R/www/luci-static/resources
	for f in "$W/roost/meshmap.js" "$W/view/roost/status.js" "$W/view/roost/map.js" \
		"$W/view/roost/settings.js" "$R/usr/share/luci/menu.d/luci-app-roost.json" \
		"$R/usr/share/rpcd/acl.d/luci-app-roost.json"; do
		[ -s "$f" ] || fail "$f"
	done
	;;
esac
