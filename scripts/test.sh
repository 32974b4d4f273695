#!/usr/bin/env bash
# Command 2: install what is needed, build, and run every test:
#   1. unit + integration + browser tests (ctest) on the normal build in build/;
#   2. the same tests on an ASan+UBSan build in build-asan/ (but the packaging checks: no code of ours);
#   3. every libFuzzer target for a few seconds (clang -O0, ASan+UBSan, build-fuzz-debug/), from the
#      committed corpus, so the targets keep building and the corpus keeps passing.
set -euo pipefail
cd "$(dirname "$0")/.."
# helm and kubeconform build from the Go module proxy (Go and pip are on the machine) while the
# Debian packages install and Herald builds.
scripts/install-packaging-tools.sh >/tmp/herald-packaging-tools.log 2>&1 &
tools=$!
HERALD_WITH_BROWSER=1 HERALD_WITH_FUZZ=1 scripts/install-deps.sh
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
scripts/build.sh
# Once more in the foreground if the early start failed (pip or Go only present after install-deps).
wait "$tools" || scripts/install-packaging-tools.sh >/tmp/herald-packaging-tools.log 2>&1 ||
  { cat /tmp/herald-packaging-tools.log; echo "install-packaging-tools failed" >&2; exit 1; }
ctest --test-dir build --output-on-failure -j 2
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHERALD_UNIT_ONLY=OFF -DHERALD_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$(nproc)"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir build-asan --output-on-failure -j 2 -LE packaging
HERALD_FUZZ_BUILD_TYPE=Debug scripts/fuzz.sh "${HERALD_FUZZ_SECONDS:-5}"
