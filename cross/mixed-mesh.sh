#!/usr/bin/env bash
# A mixed-architecture mesh: a chain of three network namespaces
#   roostmix-a (x86_64) -- roostmix-b (EMU, under qemu-user) -- roostmix-c (x86_64)
# Waits until a and c have routes to each other's announced address through
# b, then pings a -> c and c -> a (IPv4 and IPv6) through the emulated node.
#
#   sudo bash cross/mixed-mesh.sh [TRIPLE]   (default mipsel-unknown-linux-musl)
#
# Uses target/cross/out/x86_64-unknown-linux-musl/roost and
# target/cross/out/TRIPLE/roost (cross/build.sh). Removes its namespaces at
# the end. Big-endian mips is not supported here: qemu-user does not
# byte-swap every netlink attribute (see issue 6).
#
# STATUS: fails with Debian 12's qemu-user 7.2, for reasons in qemu-user, not
# in the mesh: the emulated daemon gets ENOPROTOOPT from
# setsockopt(IPPROTO_IPV6, IPV6_MULTICAST_IF) (qemu 7.2 does not translate
# that option; `qemu-mipsel-static -strace` shows it) and EOPNOTSUPP for
# RTM_NEWRULE/RTM_DELRULE (qemu's rtnetlink translation lacks rule
# messages), so it has no mesh socket and exits. Making the daemon tolerate both
# (the outgoing interface is also given per datagram; rules could be
# optional) or a newer qemu is needed; see docs/BENCHMARKS.md "Cross builds".
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${ROOST_CROSS_TARGET_DIR:-$ROOT/target/cross}/out
EMU_TRIPLE=${1:-mipsel-unknown-linux-musl}
case "$EMU_TRIPLE" in
    mipsel-*) QEMU=(qemu-mipsel-static -cpu 24Kc) ;;
    armv7-*) QEMU=(qemu-arm-static -cpu cortex-a7) ;;
    aarch64-*) QEMU=(qemu-aarch64-static -cpu cortex-a53) ;;
    *) echo "mixed-mesh.sh: unsupported $EMU_TRIPLE" >&2; exit 2 ;;
esac
NATIVE=$OUT/x86_64-unknown-linux-musl/roost
EMU=$OUT/$EMU_TRIPLE/roost
if [ ! -x "$NATIVE" ] || [ ! -x "$EMU" ]; then
    echo "mixed-mesh.sh: build first: cross/build.sh x86_64-unknown-linux-musl $EMU_TRIPLE" >&2
    exit 1
fi

NS=(roostmix-a roostmix-b roostmix-c)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
}
trap cleanup EXIT

for n in "${NS[@]}"; do
    ip netns del "$n" 2>/dev/null || true
    ip netns add "$n"
    ip -n "$n" link set lo up
done
ip link add ab0 netns roostmix-a type veth peer name ba0 netns roostmix-b
ip link add bc0 netns roostmix-b type veth peer name cb0 netns roostmix-c
ip -n roostmix-a link set ab0 up
ip -n roostmix-b link set ba0 up
ip -n roostmix-b link set bc0 up
ip -n roostmix-c link set cb0 up
ip -n roostmix-a addr add 10.98.1.1/32 dev lo
ip -n roostmix-a addr add fd98:1::1/128 dev lo
ip -n roostmix-c addr add 10.98.3.1/32 dev lo
ip -n roostmix-c addr add fd98:3::1/128 dev lo
sleep 2 # link-local DAD

start=$EPOCHREALTIME
ip netns exec roostmix-a "$NATIVE" run -i ab0 --announce 10.98.1.1/32 --announce fd98:1::1/128 \
    --originator fd98:1::1 --control-socket /run/roostmix-a.sock 2>/tmp/roostmix-a.log &
pids+=($!)
ip netns exec roostmix-b "${QEMU[@]}" "$EMU" run -i ba0 -i bc0 --originator fd98:2::1 \
    --control-socket /run/roostmix-b.sock 2>/tmp/roostmix-b.log &
pids+=($!)
ip netns exec roostmix-c "$NATIVE" run -i cb0 --announce 10.98.3.1/32 --announce fd98:3::1/128 \
    --originator fd98:3::1 --control-socket /run/roostmix-c.sock 2>/tmp/roostmix-c.log &
pids+=($!)

routes() {
    ip -n "$1" route show table 76 proto 77 2>/dev/null | grep -q "^$2 " &&
        ip -n "$1" -6 route show table 76 proto 77 2>/dev/null | grep -q "^$3 "
}
for _ in $(seq 1 200); do
    if routes roostmix-a 10.98.3.1 fd98:3::1 && routes roostmix-c 10.98.1.1 fd98:1::1; then break; fi
    sleep 0.1
done
secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')
echo "routes (a):"; ip -n roostmix-a route show table 76 proto 77; ip -n roostmix-a -6 route show table 76 proto 77
echo "routes (c):"; ip -n roostmix-c route show table 76 proto 77; ip -n roostmix-c -6 route show table 76 proto 77
if ! routes roostmix-a 10.98.3.1 fd98:3::1 || ! routes roostmix-c 10.98.1.1 fd98:1::1; then
    echo "mixed-mesh.sh: FAIL: no routes after 20 s"
    tail -n 20 /tmp/roostmix-*.log
    exit 1
fi
echo "routes both ways after ${secs} s (from start of the daemons)"
ip netns exec roostmix-b "${QEMU[@]}" "$EMU" status --control-socket /run/roostmix-b.sock
ip netns exec roostmix-a ping -c 3 -i 0.2 -W 2 -I 10.98.1.1 10.98.3.1
ip netns exec roostmix-a ping -c 3 -i 0.2 -W 2 -I fd98:1::1 fd98:3::1
ip netns exec roostmix-c ping -c 3 -i 0.2 -W 2 -I 10.98.3.1 10.98.1.1
echo "mixed-mesh.sh: OK: x86_64 <-> $EMU_TRIPLE (qemu) <-> x86_64, IPv4 and IPv6"
