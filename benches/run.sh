#!/usr/bin/env bash
# Roost against babeld on the same emulated wifi mesh, in one command:
#
#   sudo bash benches/run.sh              the full benchmark (~30 min)
#   sudo bash benches/run.sh --smoke      the CI version (< 3 min)
#   sudo bash benches/run.sh --help       the harness's options
#
# Installs what is missing (scripts/setup.sh: babeld, nftables, valgrind,
# time, ...), builds Roost (release, and the router build for its size),
# then runs `python3 benches/meshbench` with the arguments given. Prints one
# JSON line per measurement and a Markdown table with Roost/babeld ratios.
set -euo pipefail

cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "run.sh: needs root (network namespaces): sudo bash benches/run.sh" >&2
    exit 1
fi
# shellcheck source=scripts/setup.sh
. scripts/setup.sh
roost_setup run.sh >&2
roost_setup_bench >&2
cargo build --release >&2
cargo build --release --no-default-features --target-dir target/nosim >&2
exec python3 benches/meshbench "$@"
