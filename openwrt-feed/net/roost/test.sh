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
roost)
	# The version, as the package's.
	out=$(roost --version) || fail "roost --version"
	[ "$out" = "roost $2" ] || [ "$out" = "roost ${2%-*}" ] || fail "roost --version: '$out', package version '$2'"

	# The files, with their modes.
	[ -x "$R/usr/sbin/roost" ] || fail "/usr/sbin/roost"
	[ -x "$R/etc/init.d/roost" ] || fail "/etc/init.d/roost"
	[ -f "$R/etc/config/roost" ] || fail "/etc/config/roost"
	[ -x "$R/usr/libexec/rpcd/roost" ] || fail "/usr/libexec/rpcd/roost"
	sh -n "$R/etc/init.d/roost" || fail "init script syntax"

	# The shipped config parses: its only mesh interface is disabled, so
	# the daemon stops with exit code 2 and says so (and touches nothing).
	rc=0
	out=$(roost run -c "$R/etc/config/roost" --control-socket /nonexistent/roost.sock 2>&1) || rc=$?
	[ "$rc" = 2 ] || fail "shipped config: exit $rc: $out"
	case "$out" in
	*"no mesh interface"*) ;;
	*) fail "shipped config: $out" ;;
	esac

	# The rpcd plugin lists its methods, and answers JSON without a daemon.
	list=$(sh "$R/usr/libexec/rpcd/roost" list) || fail "rpcd list"
	for m in status originators neighbours gateways routes topology; do
		case "$list" in
		*"\"$m\":{}"*) ;;
		*) fail "rpcd list lacks $m: $list" ;;
		esac
	done
	out=$(ROOST_BIN=roost ROOST_CONTROL_SOCKET=/nonexistent/roost.sock sh "$R/usr/libexec/rpcd/roost" call status)
	case "$out" in
	'{"error":"'*'"}') ;;
	*) fail "rpcd call status without a daemon: $out" ;;
	esac
	if command -v jsonfilter >/dev/null; then
		jsonfilter -s "$list" -e '@.topology' >/dev/null || fail "rpcd list is not JSON"
		jsonfilter -s "$out" -e '@.error' >/dev/null || fail "rpcd error is not JSON"
	fi
	;;
esac
