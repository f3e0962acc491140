#!/usr/bin/env bash
# The side-by-side benchmark report: builds the Google Benchmark micro-benchmarks and runs every
# comparison of blend against the tools people use today, in one go, then writes the report.
#   benchmarks/run.sh [REPORT, default build-bench/report.md]
# Peers come from a virtual environment made by benchmarks/peers/setup_venv.sh: set BLEND_PEERS_VENV
# (or the per-tool BLEND_MERGEKIT_VENV, BLEND_AG_VENV, BLEND_SKLEARN_PYTHON, BLEND_SCORING_PYTHON). A peer that is missing is skipped with a message; blend's own rows still run.
# The merge workload (1 base + 3 fine-tunes, bf16, 171M parameters each) is generated into
# $BLEND_WORKLOAD (default /tmp/blend-workload) on first use. About 10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export BLEND_BENCH_BUILD_DIR=${BLEND_BENCH_BUILD_DIR:-build-bench}
report=${1:-$BLEND_BENCH_BUILD_DIR/report.md}
workload=${BLEND_WORKLOAD:-/tmp/blend-workload}
if [ -n "${BLEND_PEERS_VENV:-}" ]; then
  export BLEND_MERGEKIT_VENV=${BLEND_MERGEKIT_VENV:-$BLEND_PEERS_VENV}
  export BLEND_AG_VENV=${BLEND_AG_VENV:-$BLEND_PEERS_VENV}
fi
./scripts/deps.sh
cmake -S . -B "$BLEND_BENCH_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DBLEND_BUILD_TESTS=OFF -DBLEND_BUILD_EXAMPLES=ON \
      -DBLEND_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$BLEND_BENCH_BUILD_DIR" -j "$(nproc)" >/dev/null
mkdir -p "$(dirname "$report")"

# section TITLE COMMAND...: runs COMMAND, appends its output to the report under TITLE (a failing
# comparison is reported, not fatal: the other rows still run).
section() {
  local title=$1
  shift
  echo "== $title" >&2
  {
    echo
    echo "## $title"
    echo
    echo '```'
    "$@" 2>&1 || echo "(failed with exit code $?)"
    echo '```'
  } | tee -a "$report.tmp" >&2
}

rm -f "$report.tmp"
{
  echo "# blend benchmark report"
  echo
  echo "$(date -u +%F) · $(uname -sr) · $(nproc) cores · $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//')"
  echo "· $(free -g | awk '/Mem:/ {print $2}') GiB · commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
} > "$report.tmp"

section "Kernels (Google Benchmark)" "$BLEND_BENCH_BUILD_DIR/benchmarks/blend_micro_benchmarks" --benchmark_min_time=0.05
section "Streaming merge vs the I/O floor (linear, library engine)" benchmarks/merge_io.sh "$workload"
section "blend-merge (CLI) vs the I/O floor (linear, TIES)" benchmarks/merge_cli.sh "$workload"
section "blend vs mergekit-yaml (linear, TIES), same configs" benchmarks/peers/mergekit_bench.sh "$workload"
section "Greedy ensemble selection vs AutoGluon EnsembleSelection and a numpy loop" benchmarks/selection.sh
section "blend-ensemble eval and combine vs cat" benchmarks/ensemble_cli.sh
section "Ensembling and metrics vs scikit-learn, scoringrules, properscoring" benchmarks/ensemble_vs_peers.sh
mv "$report.tmp" "$report"
echo "report: $report" >&2
