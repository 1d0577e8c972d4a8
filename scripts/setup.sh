# shellcheck shell=bash
# Shared by demo.sh and test.sh (sourced): installs the Debian packages the
# demo and the tests need, and finds cargo. Sets nothing else.
#
#   roost_setup NAME   NAME is the calling script, for messages.

roost_setup() {
    local me=$1
    local need=()
    command -v ip >/dev/null || need+=(iproute2)
    command -v nft >/dev/null || need+=(nftables)
    command -v ping >/dev/null || need+=(iputils-ping)
    command -v cc >/dev/null || need+=(gcc libc6-dev)
    command -v curl >/dev/null || need+=(curl ca-certificates)
    command -v g++ >/dev/null || need+=(g++)         # libFuzzer (scripts/fuzz.sh)
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
