#!/usr/bin/env bash
# Coverage-guided fuzzing of the packet parser, the engine and the
# rtnetlink parser (libFuzzer via the libfuzzer-sys crate, on the stable
# toolchain: the sanitizer-coverage
# instrumentation is plain LLVM passes, no nightly needed; no ASan).
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Builds fuzz/ and runs each target (default: parse engine rtnl) for SECONDS
# (default 30), starting from the seeds in fuzz/corpus/TARGET; new inputs go
# to a temporary directory (pass ROOST_FUZZ_KEEP=DIR to keep them). Exits
# non-zero on a crash (the input is written to fuzz/artifacts/TARGET/).
# Prints executions per target. scripts/test.sh runs a short smoke run.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

secs="${1:-30}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(parse engine rtnl)
triple="$(rustc -vV | sed -n 's/^host: //p')"

export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# --target keeps RUSTFLAGS off build scripts and proc macros.
cargo build --release --locked --bins --target "$triple"

work="$(mktemp -d /tmp/roost-fuzz.XXXXXX)"
trap 'rm -rf "$work"' EXIT
for t in "${targets[@]}"; do
    out="${ROOST_FUZZ_KEEP:-$work}/$t"
    mkdir -p "$out" "artifacts/$t"
    echo "fuzz: $t for $secs s"
    log="$work/$t.log"
    if ! "target/$triple/release/$t" -max_total_time="$secs" -rss_limit_mb=1024 \
        -artifact_prefix="artifacts/$t/" -print_final_stats=1 "$out" "corpus/$t" >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "fuzz: $t FAILED (crash input in fuzz/artifacts/$t/)" >&2
        exit 1
    fi
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' "$log" || tail -n 3 "$log"
    echo "fuzz: $t: crashes 0, corpus $(find "$out" -type f | wc -l) new inputs"
done
