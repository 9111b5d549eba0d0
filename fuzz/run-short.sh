#!/usr/bin/env bash
# A short fuzz run, for CI: builds the four targets and runs each for a quarter
# of SECONDS (default 60) from the checked-in corpus (copied: the corpus is
# not modified). Exit 0 when nothing crashed; 1, with the crashing input
# under fuzz/artifacts/short/ and the end of its log, otherwise.
#
#   fuzz/run-short.sh [SECONDS]
#
# Installs cargo-fuzz (crates.io) when it is missing; needs no nightly
# toolchain (RUSTC_BOOTSTRAP=1 lets stable rustc take libFuzzer's flags).
# The build goes to fuzz/target-fast (AIDC_FUZZ_TARGET_DIR to change it),
# shared with fuzz/run-long.sh.
#
# An input that takes more than AIDC_FUZZ_TIMEOUT seconds (default 10) is a
# failure too: the compiler must never hang.
#
# AIDC_FUZZ_SAFE_PATHS=1 keeps the generated recipes' build-context paths
# to [A-Za-z0-9/._-] (it was needed to fuzz past the path-quoting bug fixed
# in 53c42c0); AIDC_FUZZ_STRICT=0 turns the Containerfile oracles off.
set -euo pipefail
cd "$(dirname "$0")"

total=${1:-60}
per=$(( total / 4 > 0 ? total / 4 : 1 ))
dir=${AIDC_FUZZ_TARGET_DIR:-target-fast}
export AIDC_FUZZ_SAFE_PATHS=${AIDC_FUZZ_SAFE_PATHS:-0}
export RUSTC_BOOTSTRAP=1

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz (crates.io)" >&2
  cargo install --locked cargo-fuzz
fi
echo "==> building the fuzz targets" >&2
cargo fuzz build -O -s none --no-trace-compares --target-dir "$dir" >&2
host=$(rustc -vV | sed -n 's/^host: //p')
bin=$dir/$host/release

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p artifacts/short
status=0
for t in parse check generate journal; do
  mkdir -p "$work/$t"
  if [ -d "corpus/$t" ]; then cp -R "corpus/$t/." "$work/$t/"; fi
  max_len=2048
  [ "$t" = generate ] && max_len=4096
  echo "==> $t: ${per}s" >&2
  if "$bin/$t" -max_total_time="$per" -max_len="$max_len" -dict=aid.dict -print_final_stats=1 \
      -timeout="${AIDC_FUZZ_TIMEOUT:-10}" \
      -artifact_prefix="artifacts/short/$t-" "$work/$t" >"$work/$t.log" 2>&1; then
    grep -E '^#[0-9]+.*DONE|^stat::number_of_executed_units' "$work/$t.log" | tail -2 >&2 || true
  else
    echo "==> $t FAILED: a crash or an oracle failure; the input is in fuzz/artifacts/short/" >&2
    tail -60 "$work/$t.log" >&2
    status=1
  fi
done
exit "$status"
