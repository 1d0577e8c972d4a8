#!/usr/bin/env bash
# Big-endian proof: `roost sim` with fixed seeds prints byte-identical output
# on big-endian MIPS (under qemu-mips-static -cpu 24Kc) and on x86_64.
#
#   cross/bigendian.sh [--no-build] [--tests]
#
# Builds roost-sim (default features, with the simulator) for
# mips-unknown-linux-musl and x86_64-unknown-linux-musl with cross/build.sh
# --sim (same compiler, same source), runs the scenarios below on both and
# compares stdout byte for byte. --tests also runs the library unit tests on
# mips under qemu (cross/build.sh --test mips-unknown-linux-musl).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

build=1
tests=0
for arg in "$@"; do
    case "$arg" in
        --no-build) build=0 ;;
        --tests) tests=1 ;;
        *)
            echo "bigendian.sh: unknown argument $arg" >&2
            exit 2
            ;;
    esac
done

if [ "$build" = 1 ]; then
    bash cross/build.sh --sim mips-unknown-linux-musl x86_64-unknown-linux-musl
fi
command -v qemu-mips-static >/dev/null || {
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends qemu-user-static
}

BE=${ROOST_CROSS_TARGET_DIR:-target/cross}/out/mips-unknown-linux-musl/roost-sim
LE=${ROOST_CROSS_TARGET_DIR:-target/cross}/out/x86_64-unknown-linux-musl/roost-sim
file -b "$BE" | grep -q 'MSB executable, MIPS' || {
    echo "bigendian.sh: $BE is not big-endian MIPS" >&2
    exit 1
}

scenarios=(
    "--topo rgg:30 --duration 60 --seed 3"
    "--topo grid:4x4 --duration 60 --seed 1"
    "--topo rgg:100 --duration 200 --seed 1"
    "--topo twopath:1 --loss 0.1 --cut 0-2@60.3 --duration 90 --seed 2"
    "--topo ring:12 --loss 0.05 --cut 0-1@30 --restore 0-1@45 --duration 60 --seed 5"
)
status=0
for s in "${scenarios[@]}"; do
    # shellcheck disable=SC2086 # $s is a list of arguments
    le=$("$LE" sim $s)
    start=$EPOCHREALTIME
    # shellcheck disable=SC2086
    be=$(qemu-mips-static -cpu 24Kc "$BE" sim $s)
    secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {print b - a}')
    if [ "$le" = "$be" ]; then
        printf 'identical (%s bytes, sha256 %s, mips run %.1f s): roost sim %s\n' \
            "${#le}" "$(printf '%s' "$le" | sha256sum | cut -c1-16)" "$secs" "$s"
    else
        printf 'DIFFERENT: roost sim %s\n  x86_64: %s\n  mips:   %s\n' "$s" "$le" "$be"
        status=1
    fi
done

if [ "$tests" = 1 ]; then
    bash cross/build.sh --test mips-unknown-linux-musl
fi
exit "$status"
