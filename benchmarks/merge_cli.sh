#!/usr/bin/env bash
# blend-merge (the CLI, from a mergekit YAML config) on the merge benchmark workload
# (benchmarks/make_workload.py: 1 base + 3 fine-tunes, bf16, 171M parameters = 342 MB each), against the
# I/O floor, with peak RSS:
#   benchmarks/merge_cli.sh [WORKLOAD_DIR, default /tmp/blend-workload] [threads, default nproc]
# Prints, for linear (uniform, 4 models) and ties (base + 3, density 0.5): best-of-3 wall time, the ratio
# to the I/O floor (best of 3: `cat` of the four inputs to /dev/null + `cp` of one model + sync, warm
# page cache; goals <= 1.5x linear, <= 3x ties) and peak RSS from `/usr/bin/time -f %M` (goal
# < 1,400,000 KiB). The hot loops run at the CPU's widest vector level; set BLEND_ISA=avx2 or baseline in the
# environment to time a lower one (core/isa.hpp). Builds blend-merge (Release) into $BLEND_BENCH_BUILD_DIR (default build-bench) with
# $BLEND_BENCH_JOBS parallel jobs (default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
workload=${1:-/tmp/blend-workload}
threads=${2:-$(nproc)}
build=${BLEND_BENCH_BUILD_DIR:-build-bench}
./scripts/deps.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBLEND_BUILD_EXAMPLES=ON -DBLEND_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target blend-merge -j "${BLEND_BENCH_JOBS:-$(nproc)}" >/dev/null
[ -f "$workload/ft3/model.safetensors" ] || /usr/bin/python3 benchmarks/make_workload.py "$workload"
blend_merge=$(find "$build" -name blend-merge -type f -perm -u+x | head -n 1)

out=$(mktemp -d "${TMPDIR:-/tmp}/blend-merge-cli.XXXXXX")
trap 'rm -rf "$out"' EXIT
files=("$workload"/{base,ft1,ft2,ft3}/model.safetensors)
cat "${files[@]}" > /dev/null  # warm the page cache

cat > "$out/linear.yml" <<YML
merge_method: linear
models:
  - {model: $workload/base, parameters: {weight: 1.0}}
  - {model: $workload/ft1, parameters: {weight: 1.0}}
  - {model: $workload/ft2, parameters: {weight: 1.0}}
  - {model: $workload/ft3, parameters: {weight: 1.0}}
dtype: bfloat16
YML
cat > "$out/ties.yml" <<YML
merge_method: ties
base_model: $workload/base
models:
  - {model: $workload/ft1, parameters: {weight: 1.0, density: 0.5}}
  - {model: $workload/ft2, parameters: {weight: 1.0, density: 0.5}}
  - {model: $workload/ft3, parameters: {weight: 1.0, density: 0.5}}
dtype: bfloat16
YML

. benchmarks/timing.sh
floor=$(io_floor "$out" "${files[@]}")
printf 'I/O floor (cat 4 inputs + cp 1 model, best of 3): %.3f s\n' "$floor"
printf '%-7s %9s %8s %6s %12s %6s\n' method best_s ratio goal peak_KiB goal
for method in linear ties; do
  time_s=$(for _ in 1 2 3; do
    rm -rf "$out/merged"
    s=$(now); "$blend_merge" "$out/$method.yml" "$out/merged" --threads "$threads" --quiet; e=$(now)
    seconds "$s" "$e"
  done | best)
  rm -rf "$out/merged"
  /usr/bin/time -f %M -o "$out/rss.txt" "$blend_merge" "$out/$method.yml" "$out/merged" --threads "$threads" --quiet
  rss=$(tail -n 1 "$out/rss.txt")
  rm -rf "$out/merged"
  goal=$([ "$method" = linear ] && echo 1.5 || echo 3)
  python3 - "$method" "$time_s" "$floor" "$goal" "$rss" <<'PY'
import sys
method, t, floor, goal, rss = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
ratio = t / floor
print(f"{method:<7} {t:9.3f} {ratio:7.2f}x {'ok' if ratio <= goal else 'OVER':>6} {rss:12d} {'ok' if rss < 1_400_000 else 'OVER':>6}")
PY
done
