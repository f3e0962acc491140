#!/usr/bin/env bash
# blend-ensemble end to end, with hyperfine (warm page cache, one run for all commands):
#   1. `eval` of 50k x 10 float32 probabilities with int64 labels, including loading (goal < 0.25 s);
#   2. `combine --method soft` of 100 members of 20k x 10 float32 (100 files, 80 MB) against `cat` of the
#      same files to /dev/null (goal: combine's throughput >= 50 % of cat's, i.e. time <= 2 x cat's).
#   benchmarks/ensemble_cli.sh [WORK_DIR, default /tmp/blend-ensemble-bench]
# Uses $BLEND_ENSEMBLE (a built blend-ensemble) when set; otherwise builds it (Release) into
# $BLEND_BENCH_BUILD_DIR (default build-bench). Inputs are generated with numpy on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/blend-ensemble-bench}
exe=${BLEND_ENSEMBLE:-}
if [ -z "$exe" ]; then
  build=${BLEND_BENCH_BUILD_DIR:-build-bench}
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBLEND_BUILD_TESTS=OFF -DBLEND_BUILD_EXAMPLES=ON >/dev/null
  cmake --build "$build" --target blend-ensemble -j 1 >/dev/null
  exe=$build/examples/ensemble/blend-ensemble
fi
command -v hyperfine >/dev/null || { echo "hyperfine is required (apt-get install hyperfine)" >&2; exit 1; }

mkdir -p "$work/members"
if [ ! -f "$work/done" ]; then
  /usr/bin/python3 - "$work" <<'PY'
import sys, numpy as np
work = sys.argv[1]
rng = np.random.default_rng(0)
p = rng.dirichlet(np.ones(10), size=50_000).astype(np.float32)
np.save(f"{work}/eval_preds.npy", p)
np.save(f"{work}/eval_labels.npy", rng.integers(0, 10, size=50_000).astype(np.int64))
for m in range(100):
    np.save(f"{work}/members/m{m:03d}.npy", rng.dirichlet(np.ones(10), size=20_000).astype(np.float32))
PY
  touch "$work/done"
fi
members=("$work"/members/m*.npy)
cat "${members[@]}" "$work"/eval_*.npy > /dev/null  # warm the page cache

json=$(mktemp "${TMPDIR:-/tmp}/blend-ensemble-bench.XXXXXX.json")
trap 'rm -f "$json" "$work/combined.npy"' EXIT
hyperfine -N --warmup 3 --min-runs 20 --export-json "$json" \
  -n eval "$exe eval --preds $work/eval_preds.npy --labels $work/eval_labels.npy" \
  -n cat "cat ${members[*]}" \
  -n combine "$exe combine --method soft --preds ${members[*]} --out $work/combined.npy" >/dev/null

/usr/bin/python3 - "$json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
def show(name):
    x = r[name]
    return f'{x["mean"] * 1e3:8.1f} ms ± {x["stddev"] * 1e3:.1f} (median {x["median"] * 1e3:.1f})'
print(f'eval 50k x 10 float32       {show("eval")}   goal < 250 ms: {"ok" if r["eval"]["mean"] < 0.25 else "MISSED"}')
print(f'cat 100 x 20k x 10 float32  {show("cat")}')
print(f'combine --method soft       {show("combine")}')
ratio = r["cat"]["median"] / r["combine"]["median"]
mb = 100 * 20_000 * 10 * 4 / 1e6
print(f'throughput: cat {mb / r["cat"]["median"]:.0f} MB/s, combine {mb / r["combine"]["median"]:.0f} MB/s, '
      f'combine/cat = {ratio * 100:.0f} %   goal >= 50 %: {"ok" if ratio >= 0.5 else "MISSED"}')
PY
