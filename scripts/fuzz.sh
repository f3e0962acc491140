#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*.cpp) with clang and runs each for a bounded time on a
# copy of its seed corpus (tests/fuzz/corpus/<name>/). Fails if any target crashes.
#   ./scripts/fuzz.sh [seconds per target, default 60] [target ...]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
seconds=${1:-60}
shift || true
build=${BLEND_FUZZ_BUILD_DIR:-build-fuzz}
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DBLEND_BUILD_FUZZERS=ON -DBLEND_BUILD_TESTS=OFF -DBLEND_BUILD_EXAMPLES=OFF -DBLEND_WITH_BLAS=OFF >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/*.cpp; do [ -e "$f" ] && targets+=("$(basename "$f" .cpp)"); done
fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no targets"
  exit 0
fi
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"
for t in "${targets[@]}"; do
  work="$build/corpus/$t"
  rm -rf "$work" && mkdir -p "$work"
  [ -d "tests/fuzz/corpus/$t" ] && cp -r "tests/fuzz/corpus/$t/." "$work/"
  echo "fuzz: $t for ${seconds}s"
  (cd "$build" && "./tests/fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 \
     -artifact_prefix="$PWD/crash-$t-" "corpus/$t" 2> "fuzz-$t.log") || {
    tail -n 60 "$build/fuzz-$t.log"; echo "fuzz: $t FAILED"; exit 1; }
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/fuzz-$t.log" | sed "s/^/fuzz: $t /"
done
