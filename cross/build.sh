#!/usr/bin/env bash
# Static router binaries of Roost for the common OpenWrt CPUs.
#
#   cross/build.sh [--sim|--test|--panic-messages] [TARGET...]
#
# TARGET is a Rust target triple; without one, all five are built:
#   mips-unknown-linux-musl         OpenWrt mips_24kc (ath79; big-endian, soft-float)
#   mipsel-unknown-linux-musl       OpenWrt mipsel_24kc (ramips)
#   armv7-unknown-linux-musleabihf  OpenWrt arm_cortex-a7_neon-vfpv4 (ipq40xx)
#   aarch64-unknown-linux-musl      OpenWrt aarch64_cortex-a53 / aarch64_generic
#   x86_64-unknown-linux-musl       OpenWrt x86_64, Debian amd64
#
# The router build is `--no-default-features` (no simulator), built for
# size (each step measured in docs/BENCHMARKS.md "The size goal"):
#   * opt-level "z", and std rebuilt with its `optimize_for_size` feature;
#   * -Cpanic=immediate-abort: a panic aborts at once, without a message
#     (and -Zlocation-detail=none: no file/line strings for one)
#     (there is no unwrap on network, kernel or config input; the daemon
#     logs what it does at info level, so a crash shows up as procd's
#     respawn after the last log line);
#   * no unwind tables (-C force-unwind-tables=no);
#   * mips/mipsel: -C relocation-model=static (these binaries were never
#     position-independent, but PIC code calls through the GOT);
#   * the MIPS-only .pdr section (procedure descriptors for debuggers,
#     never loaded) is removed after linking (objcopy, binutils-multiarch).
# `--sim` builds the default features instead (with `roost sim`), for the
# big-endian checks under qemu; those binaries are named roost-sim.
# `--panic-messages` builds the router binary with panic=abort and its
# messages (for debugging a crash; own target directory), named roost-pm.
# `--test` instead runs the
# library's unit tests (`cargo test --lib`, release profile without LTO,
# panic=unwind as the test harness needs) for
# each TARGET under qemu-user (qemu-mips-static -cpu 24Kc etc.; the package
# qemu-user-static is installed if missing). Extra arguments for the test
# binary (filters) go in ROOST_TEST_ARGS, e.g. ROOST_TEST_ARGS="wire:: engine::".
#
# Output: target/cross/out/TARGET/roost (or roost-sim), and one line per
# binary in target/cross/out/sizes.tsv (target, file, raw bytes, xz bytes,
# build seconds).
#
# On a fresh Debian 12 machine (as root) it installs what it needs:
#   * Debian's rustc-web, cargo-web, rust-web-src (Rust 1.96 with the std
#     sources in /usr/lib/rustlib/src/rust): rustup here only has x86_64, so
#     std is rebuilt for each target (-Zbuild-std, allowed by
#     RUSTC_BOOTSTRAP=1);
#   * binutils-multiarch (objcopy for the .pdr section of MIPS binaries);
#   * zig and cargo-zigbuild from PyPI in a venv (target/cross-venv) whose
#     bin/ comes first in PATH: zig is the cross linker and brings musl.
# The toolchain takes about 1.8 GB of disk; each target 1-2 minutes on 2 cores.
#
# Environment: CARGO_PROFILE_RELEASE_OPT_LEVEL (default "z" here; or any
# cargo profile variable) is passed through, e.g. "s" to compare.
# ROOST_CROSS_TARGET_DIR replaces target/cross (e.g. to build a `git archive`
# snapshot of a commit while sharing the compiled std and dependencies).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

ALL_TARGETS=(
    mips-unknown-linux-musl
    mipsel-unknown-linux-musl
    armv7-unknown-linux-musleabihf
    aarch64-unknown-linux-musl
    x86_64-unknown-linux-musl
)
ZIG_VERSION=0.17.1
ZIGBUILD_VERSION=0.24.1
VENV=${ROOST_CROSS_VENV:-$ROOT/target/cross-venv}
TARGET_DIR=${ROOST_CROSS_TARGET_DIR:-$ROOT/target/cross}
OUT=$TARGET_DIR/out

features=(--no-default-features)
binname=roost
panic_messages=
mode=build
targets=()
for arg in "$@"; do
    case "$arg" in
        --sim)
            features=()
            binname=roost-sim
            ;;
        --panic-messages)
            panic_messages=1
            binname=roost-pm
            ;;
        --test)
            features=()
            mode="test"
            ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        -*)
            echo "build.sh: unknown option $arg" >&2
            exit 2
            ;;
        *)
            ok=
            for t in "${ALL_TARGETS[@]}"; do [ "$t" = "$arg" ] && ok=1; done
            if [ -z "$ok" ]; then
                echo "build.sh: unknown target $arg (one of: ${ALL_TARGETS[*]})" >&2
                exit 2
            fi
            targets+=("$arg")
            ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")
# Tests rebuild std with other features (-Zbuild-std with unwinding and the
# test crate); in the same directory the two std builds collide ("duplicate
# lang item in crate core"), so tests get their own target directory.
if [ "$mode" = test ] && [ -z "${ROOST_CROSS_TARGET_DIR:-}" ]; then
    TARGET_DIR=$ROOT/target/cross-test
fi

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# --- system packages -------------------------------------------------------
need=()
pkgs=(rustc-web cargo-web rust-web-src python3 python3-venv file xz-utils binutils-multiarch)
[ "$mode" = build ] || pkgs+=(qemu-user-static)
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    step "Installing ${need[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        echo "build.sh: missing Debian packages ${need[*]}; run as root or: sudo apt-get install ${need[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${need[@]}"
fi
if [ ! -d /usr/lib/rustlib/src/rust/library ]; then
    echo "build.sh: /usr/lib/rustlib/src/rust/library missing (package rust-web-src)" >&2
    exit 1
fi

# --- zig + cargo-zigbuild in a venv -------------------------------------------
if ! "$VENV/bin/python" -m pip show ziglang 2>/dev/null | grep -x "Version: $ZIG_VERSION" >/dev/null ||
    ! "$VENV/bin/python" -m pip show cargo-zigbuild 2>/dev/null | grep -x "Version: $ZIGBUILD_VERSION" >/dev/null; then
    step "Installing ziglang==$ZIG_VERSION and cargo-zigbuild==$ZIGBUILD_VERSION into $VENV"
    /usr/bin/python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet "ziglang==$ZIG_VERSION" "cargo-zigbuild==$ZIGBUILD_VERSION"
fi

# The venv first (cargo-zigbuild, python -m ziglang), then Debian's cargo and
# rustc in /usr/bin before rustup's ~/.cargo/bin.
export PATH="$VENV/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin:$PATH"
export RUSTC=/usr/bin/rustc
export RUSTC_BOOTSTRAP=1
unset RUSTUP_TOOLCHAIN RUSTC_WRAPPER RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_ENCODED_RUSTFLAGS || true
CARGO=/usr/bin/cargo
echo "cargo: $($CARGO --version)  rustc: $($RUSTC --version)  zig: $(python -m ziglang version)  $(cargo-zigbuild --version)"

mkdir -p "$OUT"
SIZES=$OUT/sizes.tsv
[ -f "$SIZES" ] || printf 'target\tfile\traw_bytes\txz_bytes\tbuild_s\topt_level\n' >"$SIZES"

qemu_runner() {
    case "$1" in
        mips-*) echo "qemu-mips-static -cpu 24Kc" ;;
        mipsel-*) echo "qemu-mipsel-static -cpu 24Kc" ;;
        armv7-*) echo "qemu-arm-static -cpu cortex-a7" ;;
        aarch64-*) echo "qemu-aarch64-static -cpu cortex-a53" ;;
        x86_64-*) echo "" ;;
    esac
}

for t in "${targets[@]}"; do
    prefix=CARGO_TARGET_$(echo "$t" | tr 'a-z-' 'A-Z_')
    flags="-C target-feature=+crt-static -C link-self-contained=no"
    if [ "$mode" = test ]; then
        export "${prefix}_RUSTFLAGS=$flags"
        step "Unit tests (--lib) for $t under qemu-user"
        runner=$(qemu_runner "$t")
        [ -z "$runner" ] || export "${prefix}_RUNNER=$runner"
        start=$(date +%s)
        # shellcheck disable=SC2086 # ROOST_TEST_ARGS: words for the test binary
        CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_PANIC=unwind \
            cargo-zigbuild test --release --locked --lib --target "$t" \
            -Zbuild-std --target-dir "$TARGET_DIR" -- ${ROOST_TEST_ARGS:-}
        echo "$t: unit tests passed under '${runner:-native}' in $(($(date +%s) - start)) s"
        continue
    fi
    # Size (see the top of this file): no unwind tables; no panic messages
    # unless --panic-messages; no PIC on MIPS.
    flags="$flags -C force-unwind-tables=no"
    [ -n "$panic_messages" ] || flags="$flags -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none"
    case "$t" in mips*) flags="$flags -C relocation-model=static" ;; esac
    export "${prefix}_RUSTFLAGS=$flags"
    step "Building $binname for $t"
    start=$(date +%s)
    tdir=$TARGET_DIR
    [ -z "$panic_messages" ] || tdir=$TARGET_DIR/panic-messages
    CARGO_PROFILE_RELEASE_OPT_LEVEL=${CARGO_PROFILE_RELEASE_OPT_LEVEL:-z} \
        cargo-zigbuild build --release --locked \
        --target "$t" "${features[@]}" \
        -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size \
        --target-dir "$tdir"
    secs=$(($(date +%s) - start))
    mkdir -p "$OUT/$t"
    bin=$OUT/$t/$binname
    # -R .pdr: MIPS procedure descriptors (no other target has the section).
    objcopy -R .pdr -R .comment "$tdir/$t/release/roost" "$bin"
    desc=$(file -b "$bin")
    echo "$bin: $desc"
    case "$desc" in
        *"statically linked"* | *"static-pie linked"*) ;;
        *)
            echo "build.sh: $bin is not statically linked" >&2
            exit 1
            ;;
    esac
    case "$desc" in
        *", stripped"*) ;;
        *)
            echo "build.sh: $bin is not stripped" >&2
            exit 1
            ;;
    esac
    raw=$(stat -c %s "$bin")
    xzb=$(xz -9e -c "$bin" | wc -c)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$binname" "$raw" "$xzb" "$secs" \
        "${CARGO_PROFILE_RELEASE_OPT_LEVEL:-z}" >>"$SIZES"
    printf '%s: %s bytes, xz -9e %s bytes, built in %s s\n' "$t" "$raw" "$xzb" "$secs"
done
