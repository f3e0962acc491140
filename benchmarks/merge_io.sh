#!/usr/bin/env bash
# Streaming merge vs the I/O floor, with peak RSS, on the benchmark workload (make_workload.py):
# 1 base + 3 fine-tunes, bf16, 171M parameters (342 MB) each.
#   benchmarks/merge_io.sh [WORKLOAD_DIR, default /tmp/blend-workload] [threads, default nproc]
# Prints: the I/O floor (best of 3: `cat` of the four inputs to /dev/null + `cp` of one model, warm
# page cache), blend's uniform linear merge (best of 3), their ratio (goal <= 1.5), and blend's peak RSS
# from /usr/bin/time -v against the bound 1 GiB + (inputs + 2) x largest tensor.
set -euo pipefail
cd "$(dirname "$0")/.."
workload=${1:-/tmp/blend-workload}
threads=${2:-$(nproc)}
. benchmarks/common.sh

inputs=("$workload/base" "$workload/ft1" "$workload/ft2" "$workload/ft3")
files=("${inputs[@]/%//model.safetensors}")
out=$(mktemp -d "${TMPDIR:-/tmp}/blend-merge-out.XXXXXX")
trap 'rm -rf "$out"' EXIT
cat "${files[@]}" > /dev/null  # warm the page cache

. benchmarks/timing.sh
floor=$(io_floor "$out" "${files[@]}")

merge=$(for _ in 1 2 3; do
  rm -rf "$out/merged"
  s=$(now); "$build/benchmarks/blend-bench-merge" "$out/merged" "${inputs[@]}" --threads "$threads" > /dev/null; e=$(now)
  seconds "$s" "$e"
done | best)

rm -rf "$out/merged"
/usr/bin/time -v "$build/benchmarks/blend-bench-merge" "$out/merged" "${inputs[@]}" --threads "$threads" \
  2> "$out/time.txt" > /dev/null
rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$out/time.txt")
largest=$((8192 * 1024 * 2))  # embed_tokens / lm_head, bf16
bound_kb=$(( (1024 * 1024 * 1024 + (${#inputs[@]} + 2) * largest) / 1024 ))

python3 - "$floor" "$merge" "$rss_kb" "$bound_kb" "$threads" <<'PY'
import sys
floor, merge, rss, bound, threads = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
print(f"I/O floor (cat 4 inputs + cp 1 model, best of 3): {floor:.3f} s")
print(f"blend linear merge, {threads} threads (best of 3):  {merge:.3f} s")
print(f"ratio merge / I/O floor:                          {merge / floor:.2f}x (goal <= 1.5x)")
print(f"peak RSS: {rss / 1024:.0f} MiB (bound {bound / 1024:.0f} MiB: 1 GiB + (inputs + 2) x largest tensor)"
      f" -> {'within' if rss <= bound else 'OVER'}")
PY
