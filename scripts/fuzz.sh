#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) into build-fuzz/ and runs each one.
#   scripts/fuzz.sh [SECONDS] [TARGET...]    default: 10 seconds each, every target
# Each run starts from the committed seed corpus (tests/fuzz/corpus/<target>, read-only) and
# keeps what it finds in build-fuzz/corpus/<target>; a crash stops the script with the
# reproducer's path (crash-*, under build-fuzz/artifacts/). FUZZ_RUNS=N runs N executions
# instead of a time limit. CI calls it with a few seconds per target.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(http_request form topic jwt config redis_reply update_codec pg_url pulsar_frame)

# HERALD_FUZZ_BUILD_TYPE=Debug (what CI's short runs use) builds at -O0 in build-fuzz-debug/: half
# the compile time, slower executions; long runs want the default, RelWithDebInfo, in build-fuzz/.
build_type="${HERALD_FUZZ_BUILD_TYPE:-RelWithDebInfo}"
dir=build-fuzz
[ "$build_type" = RelWithDebInfo ] || dir=build-fuzz-$(echo "$build_type" | tr '[:upper:]' '[:lower:]')
CXX=clang++-14 cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" -DHERALD_FUZZ=ON >/dev/null
cmake --build "$dir" -j "$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}")

mkdir -p "$dir"/artifacts
for t in "${targets[@]}"; do
  mkdir -p "$dir/corpus/$t"
  limit=(-max_total_time="$seconds")
  [ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
  echo "fuzz $t: ${FUZZ_RUNS:-$seconds s}"
  log="$dir/fuzz_$t.log"
  status=0
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$dir/fuzz_$t" "${limit[@]}" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/$t-" "$dir/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|cov: )|INITED|DONE" "$log" | tail -3 || true
  if [ "$status" -ne 0 ]; then
    grep -E "ERROR|SUMMARY|#[0-9]+ 0x|Test unit written" "$log" | head -30
    echo "fuzz $t: FAILED (full log: $log; reproducer under $dir/artifacts/)"
    exit 1
  fi
done
