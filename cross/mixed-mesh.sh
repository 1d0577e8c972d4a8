#!/usr/bin/env bash
# A mixed-architecture mesh: a chain of three network namespaces
#   roostmix-PID-a (x86_64) -- roostmix-PID-b (EMU, under qemu-user) -- roostmix-PID-c (x86_64)
# Waits until a and c have routes to each other's announced address through
# b, then pings a -> c and c -> a (IPv4 and IPv6) through the emulated node.
#
#   sudo bash cross/mixed-mesh.sh [TRIPLE]   (default mipsel-unknown-linux-musl)
#
# Uses target/cross/out/x86_64-unknown-linux-musl/roost and
# target/cross/out/TRIPLE/roost (cross/build.sh). Removes its namespaces at
# the end.
#
# Big-endian mips (mips-unknown-linux-musl) runs too, IPv6 only: qemu-user
# byte-swaps the rtnetlink attributes it knows but not RTA_VIA's address
# family, so the emulated node's IPv4 routes (`via inet6 fe80::...`) are
# refused there (EINVAL; real big-endian routers are fine), and it leaves
# the last nested attribute of RTM_NEWLINK in the host's byte order (the
# daemon's parser skips it). Set ROOST_MIXED_V4=1 to demand IPv4 anyway.
#
# qemu-user (Debian 12's 7.2) does not translate IPV6_MULTICAST_IF (the
# daemon does without it: every datagram names its interface) nor rtnetlink
# rule messages (the daemon logs that it cannot install its rules and goes
# on), so this script adds the emulated node's `lookup 76` rules itself.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${ROOST_CROSS_TARGET_DIR:-$ROOT/target/cross}/out
EMU_TRIPLE=${1:-mipsel-unknown-linux-musl}
V4=${ROOST_MIXED_V4:-1}
case "$EMU_TRIPLE" in
    mipsel-*) QEMU=(qemu-mipsel-static -cpu 24Kc) ;;
    mips-*)
        QEMU=(qemu-mips-static -cpu 24Kc)
        V4=${ROOST_MIXED_V4:-0}
        ;;
    armv7-*) QEMU=(qemu-arm-static -cpu cortex-a7) ;;
    aarch64-*) QEMU=(qemu-aarch64-static -cpu cortex-a53) ;;
    *)
        echo "mixed-mesh.sh: unsupported $EMU_TRIPLE" >&2
        exit 2
        ;;
esac
# The native nodes: ROOST_NATIVE (e.g. target/release/roost), else the
# static x86_64 build.
NATIVE=${ROOST_NATIVE:-$OUT/x86_64-unknown-linux-musl/roost}
EMU=$OUT/$EMU_TRIPLE/roost
if [ ! -x "$NATIVE" ] || [ ! -x "$EMU" ]; then
    echo "mixed-mesh.sh: build first: cross/build.sh x86_64-unknown-linux-musl $EMU_TRIPLE" >&2
    exit 1
fi
if ! command -v "${QEMU[0]}" >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends qemu-user-static
fi

# Names unique to this run (several may run at once).
A=roostmix-$$-a B=roostmix-$$-b C=roostmix-$$-c
LOGDIR=$(mktemp -d /tmp/roostmix.XXXXXX)
NS=("$A" "$B" "$C")
pids=()
# Each daemon's log lines, stamped with seconds since the daemons started.
stamp() {
    while IFS= read -r line; do
        printf '%8.3f %s\n' "$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {print b - a}')" "$line"
    done
}
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
    rm -rf "$LOGDIR"
}
trap cleanup EXIT

for n in "${NS[@]}"; do
    ip netns del "$n" 2>/dev/null || true
    ip netns add "$n"
    ip -n "$n" link set lo up
done
ip link add ab0 netns "$A" type veth peer name ba0 netns "$B"
ip link add bc0 netns "$B" type veth peer name cb0 netns "$C"
ip -n "$A" link set ab0 up
ip -n "$B" link set ba0 up
ip -n "$B" link set bc0 up
ip -n "$C" link set cb0 up
ip -n "$A" addr add 10.98.1.1/32 dev lo
ip -n "$A" addr add fd98:1::1/128 dev lo
ip -n "$C" addr add 10.98.3.1/32 dev lo
ip -n "$C" addr add fd98:3::1/128 dev lo
# Link-local addresses leave DAD (tentative) before the daemons start, so
# the clock below measures Roost, not the kernel's DAD.
for _ in $(seq 1 600); do
    busy=0
    for n in "${NS[@]}"; do
        [ -z "$(ip -n "$n" -6 addr show tentative)" ] || busy=1
    done
    [ "$busy" = 0 ] && break
    sleep 0.1
done
if [ "$busy" = 1 ]; then
    echo "mixed-mesh.sh: FAIL: link-local addresses still tentative (DAD) after 60 s" >&2
    for n in "${NS[@]}"; do ip -n "$n" -6 addr show tentative; done
    exit 1
fi
# The rules the emulated daemon cannot add under qemu-user.
ip -n "$B" rule add pref 7600 lookup 76
ip -n "$B" -6 rule add pref 7600 lookup 76

start=$EPOCHREALTIME
ip netns exec "$A" "$NATIVE" run -i ab0 --announce 10.98.1.1/32 --announce fd98:1::1/128 \
    --originator fd98:1::1 --control-socket "$LOGDIR/a.sock" 2> >(stamp >"$LOGDIR/a.log") &
pids+=($!)
ip netns exec "$B" "${QEMU[@]}" "$EMU" run -i ba0 -i bc0 --originator fd98:2::1 \
    --control-socket "$LOGDIR/b.sock" 2> >(stamp >"$LOGDIR/b.log") &
pids+=($!)
ip netns exec "$C" "$NATIVE" run -i cb0 --announce 10.98.3.1/32 --announce fd98:3::1/128 \
    --originator fd98:3::1 --control-socket "$LOGDIR/c.sock" 2> >(stamp >"$LOGDIR/c.log") &
pids+=($!)

# Not `ip ... | grep -q` under pipefail: grep -q exits at its first match,
# and `ip`, which writes route by route, then dies of SIGPIPE on the next
# one, failing the pipeline although the route is there (it did, in CI).
routes() {
    { [ "$V4" = 0 ] || ip -n "$1" route show table 76 proto 77 2>/dev/null | grep "^$2 " >/dev/null; } &&
        ip -n "$1" -6 route show table 76 proto 77 2>/dev/null | grep "^$3 " >/dev/null
}
# Under qemu-user on a busy 2-core machine the emulated daemon can take
# well over 10 s to start; 60 s of patience.
for _ in $(seq 1 600); do
    if routes "$A" 10.98.3.1 fd98:3::1 && routes "$C" 10.98.1.1 fd98:1::1; then break; fi
    sleep 0.1
done
secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')
echo "routes (a):"
ip -n "$A" route show table 76 proto 77 2>/dev/null || true
ip -n "$A" -6 route show table 76 proto 77 2>/dev/null || true
echo "routes (c):"
ip -n "$C" route show table 76 proto 77 2>/dev/null || true
ip -n "$C" -6 route show table 76 proto 77 2>/dev/null || true
if ! routes "$A" 10.98.3.1 fd98:3::1 || ! routes "$C" 10.98.1.1 fd98:1::1; then
    echo "mixed-mesh.sh: FAIL: no routes after ${secs} s"
    for x in a b c; do
        echo "== $x.log (seconds since start)"
        tail -n 30 "$LOGDIR/$x.log"
    done
    echo "== tentative addresses now:"
    for n in "${NS[@]}"; do ip -n "$n" -6 addr show tentative; done
    exit 1
fi
echo "routes both ways after ${secs} s (from start of the daemons)"
ip netns exec "$B" "${QEMU[@]}" "$EMU" status --control-socket "$LOGDIR/b.sock"
ip netns exec "$A" ping -c 3 -i 0.2 -W 2 -I fd98:1::1 fd98:3::1
ip netns exec "$C" ping -c 3 -i 0.2 -W 2 -I fd98:3::1 fd98:1::1
if [ "$V4" = 0 ]; then
    echo "emulated node's kernel routes (IPv4 refused under qemu-mips, see above):"
    ip -n "$B" route show table 76 proto 77 2>/dev/null || true
    ip -n "$B" -6 route show table 76 proto 77 2>/dev/null || true
    echo "mixed-mesh.sh: OK: x86_64 <-> $EMU_TRIPLE (qemu) <-> x86_64, IPv6"
    exit 0
fi
ip netns exec "$A" ping -c 3 -i 0.2 -W 2 -I 10.98.1.1 10.98.3.1
ip netns exec "$C" ping -c 3 -i 0.2 -W 2 -I 10.98.3.1 10.98.1.1
echo "mixed-mesh.sh: OK: x86_64 <-> $EMU_TRIPLE (qemu) <-> x86_64, IPv4 and IPv6"
