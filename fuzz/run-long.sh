#!/usr/bin/env bash
# The long fuzz run: every target for SECONDS (default 3600) each, in
# libFuzzer's fork mode with JOBS processes (default: the number of CPUs),
# going on after a crash or an input slower than 10 s (each is saved under
# fuzz/artifacts/<target>/).
# Grows fuzz/corpus-work/<target> (not checked in); `fuzz/run-long.sh
# --minimize` then merges it into the checked-in fuzz/corpus/<target>.
# Prints executions, coverage and crashes per target at the end.
#
#   fuzz/run-long.sh [SECONDS]            all targets
#   TARGETS="generate" fuzz/run-long.sh 600
#   fuzz/run-long.sh --minimize
#
# Generated recipes keep their paths to a safe charset when
# AIDC_FUZZ_SAFE_PATHS=1 (it was needed to fuzz past the path bug fixed in
# 53c42c0).
set -euo pipefail
cd "$(dirname "$0")"

targets=(${TARGETS:-parse check generate journal})
jobs=${JOBS:-$(nproc)}
bin=target-fast/x86_64-unknown-linux-gnu/release

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi
# No ASan (the compiler is safe Rust; ASan costs 3x) and no trace-compares
# (half the speed in pest's parser; the dictionary gives the keywords).
RUSTC_BOOTSTRAP=1 cargo fuzz build -O -s none --no-trace-compares --target-dir target-fast

max_len() { case $1 in generate) echo 4096 ;; *) echo 2048 ;; esac; }

if [ "${1:-}" = "--minimize" ]; then
  for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "corpus-work/$t"
    # Keep the small inputs only: the checked-in corpus is a seed, not an archive.
    tmp=$(mktemp -d)
    find "corpus-work/$t" "corpus/$t" -type f -size -3k -exec cp {} "$tmp/" \;
    rm -rf "corpus/$t" && mkdir -p "corpus/$t"
    # The smallest set of inputs with every feature of the whole (a set cover,
    # where -merge=1 keeps every input that added a feature when it came).
    "$bin/$t" -set_cover_merge=1 -max_len="$(max_len "$t")" "corpus/$t" "$tmp" >/dev/null 2>&1
    rm -rf "$tmp"
    echo "$t: $(find "corpus/$t" -type f | wc -l) files, $(du -sh "corpus/$t" | cut -f1)"
  done
  exit 0
fi

seconds=${1:-3600}
mkdir -p logs
# Seeds: every recipe of the repository.
rm -rf corpus-work/seeds && mkdir -p corpus-work/seeds
find .. -name '*.aid' -type f -not -path '../target/*' -not -path '../fuzz/*' -size -16k |
  while read -r f; do cp "$f" "corpus-work/seeds/$(printf '%s' "$f" | md5sum | cut -c1-16).aid"; done
for t in "${targets[@]}"; do
  mkdir -p "corpus-work/$t" "corpus/$t" "artifacts/$t"
  echo "==> $t: ${seconds}s, $jobs jobs" >&2
  # One job runs in-process (fork mode costs most of the speed: every job
  # reloads the corpus); it stops at the first crash, which is then the work.
  mode=(-fork="$jobs" -ignore_crashes=1)
  [ "$jobs" = 1 ] && mode=()
  "$bin/$t" "${mode[@]}" -timeout=10 -max_total_time="$seconds" -max_len="$(max_len "$t")" \
    -dict=aid.dict -print_final_stats=1 -artifact_prefix="artifacts/$t/" \
    "corpus-work/$t" "corpus/$t" corpus-work/seeds >"logs/$t.log" 2>&1 || true
done

echo "target    executions  cov    ft      crashes/timeouts saved"
for t in "${targets[@]}"; do
  last=$(grep -E '^#[0-9]+.*cov: ' "logs/$t.log" | tail -1 || true)
  execs=$(grep -E '^stat::number_of_executed_units' "logs/$t.log" | awk '{print $2}' || true)
  [ -n "$execs" ] || execs=$(sed -E 's/^#([0-9]+).*/\1/' <<<"$last")
  cov=$(sed -E 's/.* cov: ([0-9]+).*/\1/' <<<"$last")
  ft=$(sed -E 's/.* ft: ([0-9]+).*/\1/' <<<"$last")
  found=$(find "artifacts/$t" -type f 2>/dev/null | wc -l)
  printf '%-9s %-11s %-6s %-7s %s\n' "$t" "$execs" "$cov" "$ft" "$found"
done
