# shellcheck shell=bash
# Shared by demo.sh, test.sh and benches/run.sh (sourced): installs the
# Debian packages the demo, the tests and the benchmark need, and finds
# cargo. Sets nothing else.
#
#   roost_setup NAME   NAME is the calling script, for messages.
#   roost_setup_bench  also what only the full benchmark needs (valgrind, time)

roost_setup() {
    local me=$1
    local need=()
    command -v ip >/dev/null || need+=(iproute2)
    command -v nft >/dev/null || need+=(nftables)
    command -v ping >/dev/null || need+=(iputils-ping)
    command -v cc >/dev/null || need+=(gcc libc6-dev)
    command -v curl >/dev/null || need+=(curl ca-certificates)
    # The benchmark smoke run (benches/meshbench --smoke) compares with babeld.
    [ -x /usr/sbin/babeld ] || need+=(babeld)
    command -v python3 >/dev/null || need+=(python3)
    command -v g++ >/dev/null || need+=(g++)           # libFuzzer (scripts/fuzz.sh)
    command -v faketime >/dev/null || need+=(faketime) # the wall-clock test
    if [ ${#need[@]} -gt 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update
        apt-get install -y --no-install-recommends "${need[@]}"
    else
        echo "iproute2, nftables, iputils-ping, gcc, g++, curl and faketime are present"
    fi

    # cargo: in PATH, root's rustup, or the rustup of the user who ran sudo.
    if ! command -v cargo >/dev/null; then
        local home
        for home in /root "$(getent passwd "${SUDO_USER:-root}" | cut -d: -f6)"; do
            if [ -x "$home/.cargo/bin/cargo" ]; then
                export PATH="$home/.cargo/bin:$PATH"
                export CARGO_HOME="$home/.cargo" RUSTUP_HOME="$home/.rustup"
                break
            fi
        done
    fi
    if ! command -v cargo >/dev/null; then
        cat >&2 <<MSG
$me: cargo (Rust) is missing. Install it with rustup, then run this again:

    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y
    . "\$HOME/.cargo/env"

(Roost needs Rust 1.95 or newer.)
MSG
        return 1
    fi
}

# What only the test suite needs: tshark (the dissector test), a Python
# venv with netdiff (the NetJSON test) and netjsonconfig (tests/setup.rs,
# an independent UCI parser) at target/py-venv (the tests find
# the venv there, or at $ROOST_PYTHON), chromium (the mesh map test) and
# shfmt, shellcheck and jq (scripts/check-openwrt-feed.sh).
roost_test_tools() {
    local need=()
    command -v tshark >/dev/null || need+=(tshark)
    python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
    command -v chromium >/dev/null || need+=(chromium fonts-dejavu-core)
    command -v shellcheck >/dev/null || need+=(shellcheck)
    command -v shfmt >/dev/null || need+=(shfmt)
    command -v jq >/dev/null || need+=(jq)
    if [ ${#need[@]} -gt 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        # tshark asks whether non-root users may capture: no.
        echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
        apt-get update
        apt-get install -y --no-install-recommends "${need[@]}"
    fi
    local venv=target/py-venv
    if ! "$venv/bin/python3" -c 'import netdiff, netjsonconfig' 2>/dev/null; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet 'netdiff==1.3.1' 'netjsonconfig==1.3.1'
    fi
    echo "tshark $(tshark --version 2>/dev/null | head -1 | awk '{print $3}'), netdiff and netjsonconfig in $venv"
}

roost_setup_bench() {
    local need=()
    command -v valgrind >/dev/null || need+=(valgrind)
    [ -x /usr/bin/time ] || need+=(time)
    command -v prlimit >/dev/null || need+=(util-linux)
    if [ ${#need[@]} -gt 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update
        apt-get install -y --no-install-recommends "${need[@]}"
    fi
}
