#!/usr/bin/env bash
# Roost demo: a mesh of five network namespaces on this machine.
#
#   sudo bash scripts/demo.sh           build, run the demo, tear it down
#   sudo bash scripts/demo.sh --keep    leave the mesh running afterwards
#   sudo bash scripts/demo.sh --stop    tear down a mesh left by --keep
#
# On a fresh Debian 12 machine it installs what it needs (iproute2, nftables,
# iputils-ping, build-essential, curl) with apt-get; Rust must be installed
# with rustup (the script says how if cargo is missing).
#
# The mesh is a chain roostdemo-1 - roostdemo-2 - ... - roostdemo-5 of
# namespaces joined by veth pairs. Node N has 10.77.0.N/32 and fd77::N/128
# on its loopback interface and announces both; its daemon's log, control
# socket and pid file are in /run/roostdemo/. Nothing is routed into the
# host's own namespace.
set -euo pipefail

cd "$(dirname "$0")/.."

PREFIX=roostdemo
STATE=/run/$PREFIX
NODES=5
KEEP=0

usage() {
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
    "") ;;
    --keep) KEEP=1 ;;
    --stop) MODE=stop ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        usage >&2
        exit 2
        ;;
esac

trap 'echo "demo.sh: failed at line $LINENO" >&2' ERR

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
    echo "demo.sh: needs root (network namespaces): sudo bash scripts/demo.sh" >&2
    exit 1
fi

# Stops the daemons this script started (by the pids it recorded) and
# deletes its namespaces.
teardown() {
    local n pid
    for n in $(seq 1 $NODES); do
        if [ -f "$STATE/$n.pid" ]; then
            pid=$(cat "$STATE/$n.pid")
            # Only if that pid is still a roost (not a recycled pid).
            if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = roost ]; then
                kill -TERM "$pid" 2>/dev/null || true
                for _ in $(seq 1 50); do
                    kill -0 "$pid" 2>/dev/null || break
                    sleep 0.1
                done
            fi
        fi
        ip netns del "$PREFIX-$n" 2>/dev/null || true
    done
    rm -rf "$STATE"
}

if [ "${MODE:-}" = stop ]; then
    teardown
    echo "roost demo stopped"
    exit 0
fi

say "Installing what is missing"
# shellcheck source=scripts/setup.sh
. scripts/setup.sh
roost_setup demo.sh

say "Building roost (cargo build --release)"
cargo build --release
ROOST=$PWD/target/release/roost

# A previous run left with --keep is replaced.
teardown
mkdir -p "$STATE"
if [ "$KEEP" = 1 ]; then
    on_exit() {
        local rc=$?
        if [ "$rc" -ne 0 ]; then teardown; fi
    }
    trap on_exit EXIT
else
    trap teardown EXIT
fi
trap 'exit 130' INT TERM

say "Creating $NODES namespaces in a chain: $PREFIX-1 - ... - $PREFIX-$NODES"
for n in $(seq 1 $NODES); do
    ns=$PREFIX-$n
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "10.77.0.$n/32" dev lo
    ip -n "$ns" addr add "fd77::$n/128" dev lo
done
for n in $(seq 1 $((NODES - 1))); do
    m=$((n + 1))
    # Node n's end is called m<m>, node m's end m<n>.
    ip link add "m$m" netns "$PREFIX-$n" type veth peer name "m$n" netns "$PREFIX-$m"
    ip -n "$PREFIX-$n" link set "m$m" up
    ip -n "$PREFIX-$m" link set "m$n" up
done

say "Starting roost in every namespace"
for n in $(seq 1 $NODES); do
    ifs=()
    [ "$n" -gt 1 ] && ifs+=(-i "m$((n - 1))")
    [ "$n" -lt $NODES ] && ifs+=(-i "m$((n + 1))")
    (
        # ip netns exec execs roost: $! is the daemon's pid.
        exec ip netns exec "$PREFIX-$n" "$ROOST" run "${ifs[@]}" \
            --announce "10.77.0.$n/32" --announce "fd77::$n/128" \
            --hostname "$PREFIX-$n" --control-socket "$STATE/$n.sock" \
            </dev/null >/dev/null 2>"$STATE/$n.log"
    ) &
    echo $! >"$STATE/$n.pid"
    echo "  $PREFIX-$n: roost run ${ifs[*]} --announce 10.77.0.$n/32 --announce fd77::$n/128 (pid $!)"
done

say "Waiting for the routes"
want=$((NODES - 1))
t0=$(date +%s%3N)
ok=0
for _ in $(seq 1 300); do
    ok=1
    for n in $(seq 1 $NODES); do
        for fam in -4 -6; do
            # (The IPv4 table does not exist until it has a route.)
            c=$({ ip -n "$PREFIX-$n" $fam route show table 76 proto 77 2>/dev/null || true; } | wc -l)
            [ "$c" -eq "$want" ] || ok=0
        done
    done
    [ "$ok" = 1 ] && break
    sleep 0.1
done
if [ "$ok" != 1 ]; then
    echo "demo.sh: the mesh did not converge in 30 s; logs:" >&2
    tail -n 20 "$STATE"/*.log >&2
    exit 1
fi
ms=$(($(date +%s%3N) - t0))
printf 'every node has routes to the other %d nodes after %d.%03d s\n' "$want" $((ms / 1000)) $((ms % 1000))

say "roost status of $PREFIX-3 (the middle of the chain)"
"$ROOST" status --control-socket "$STATE/3.sock"

say "Kernel routes of $PREFIX-1 (table 76, proto 77 = roost)"
echo "# ip -n $PREFIX-1 route show table 76"
ip -n "$PREFIX-1" route show table 76
echo "# ip -n $PREFIX-1 -6 route show table 76"
ip -n "$PREFIX-1" -6 route show table 76
echo "# ip -n $PREFIX-1 rule"
ip -n "$PREFIX-1" rule

say "Ping across the mesh: $PREFIX-1 -> $PREFIX-$NODES (4 hops)"
ip netns exec "$PREFIX-1" ping -c 3 -i 0.3 "10.77.0.$NODES"
ip netns exec "$PREFIX-1" ping -c 3 -i 0.3 "fd77::$NODES"

if [ "$KEEP" = 1 ]; then
    say "The mesh keeps running"
    cat <<EOF
Try:
  ip netns exec $PREFIX-1 ping fd77::5
  $ROOST status --control-socket $STATE/1.sock
  ip -n $PREFIX-2 route show table 76
  ip -n $PREFIX-3 link set m4 down     # cut the chain, watch the routes go
  less $STATE/3.log                       # a daemon's log
Stop it with:
  sudo bash scripts/demo.sh --stop
EOF
else
    say "Tearing down (use --keep to leave the mesh running)"
fi
