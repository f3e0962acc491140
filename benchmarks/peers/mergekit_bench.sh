#!/usr/bin/env bash
# blend vs mergekit-yaml on the merge benchmark workload (benchmarks/make_workload.py), same configs,
# same run: wall time and peak RSS of each, their ratios, blend's ratio to the I/O floor, and a check
# that the two outputs agree (benchmarks/peers/compare_safetensors.py: at most 1 bf16 ulp for linear).
#   benchmarks/peers/mergekit_bench.sh [WORKLOAD_DIR] [MERGEKIT_VENV]
# MERGEKIT_VENV defaults to $BLEND_MERGEKIT_VENV or /work/venv-mk (python3 -m venv DIR &&
# DIR/bin/pip install mergekit); without it the mergekit rows are skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/../.."
workload=${1:-/tmp/blend-workload}
venv=${2:-${BLEND_MERGEKIT_VENV:-/work/venv-mk}}
. benchmarks/common.sh
out=$(mktemp -d "${TMPDIR:-/tmp}/blend-vs-mergekit.XXXXXX")
trap 'rm -rf "$out"' EXIT
cat "$workload"/*/model.safetensors > /dev/null  # warm the page cache

# time_of LABEL COMMAND...: best-of-1 wall seconds and peak RSS (KiB) of COMMAND, into $seconds/$rss.
time_of() {
  /usr/bin/time -f "%e %M" -o "$out/time.txt" "$@" > "$out/log.txt" 2>&1 || { tail -5 "$out/log.txt"; return 1; }
  read -r seconds rss < "$out/time.txt"
}

declare -A configs
configs[linear]="merge_method: linear
models:
  - {model: $workload/base, parameters: {weight: 1.0}}
  - {model: $workload/ft1, parameters: {weight: 1.0}}
  - {model: $workload/ft2, parameters: {weight: 1.0}}
  - {model: $workload/ft3, parameters: {weight: 1.0}}
dtype: bfloat16"
configs[ties]="merge_method: ties
base_model: $workload/base
models:
  - {model: $workload/ft1, parameters: {weight: 1.0, density: 0.5}}
  - {model: $workload/ft2, parameters: {weight: 1.0, density: 0.5}}
  - {model: $workload/ft3, parameters: {weight: 1.0, density: 0.5}}
dtype: bfloat16"

printf '%-8s %10s %10s %8s %12s %12s\n' method blend_s mergekit_s speedup blend_MiB mergekit_MiB
for method in linear ties; do
  case $method in
    linear) blend_args=("$workload/base" "$workload/ft1" "$workload/ft2" "$workload/ft3") ;;
    ties) blend_args=("$workload/base" "$workload/ft1" "$workload/ft2" "$workload/ft3" --method ties --density 0.5) ;;
  esac
  if ! time_of "$build/benchmarks/blend-bench-merge" "$out/blend-$method" "${blend_args[@]}"; then
    echo "$method: blend-bench-merge failed"; continue
  fi
  blend_s=$seconds; blend_rss=$rss
  if [ -x "$venv/bin/mergekit-yaml" ]; then
    printf '%s\n' "${configs[$method]}" > "$out/$method.yml"
    time_of "$venv/bin/mergekit-yaml" "$out/$method.yml" "$out/mergekit-$method" --no-cuda --quiet --no-copy-tokenizer
    printf '%-8s %10.2f %10.2f %7.1fx %12d %12d\n' "$method" "$blend_s" "$seconds" \
      "$(python3 -c "print($seconds / $blend_s)")" $((blend_rss / 1024)) $((rss / 1024))
    /usr/bin/python3 benchmarks/peers/compare_safetensors.py "$out/blend-$method" "$out/mergekit-$method" \
      --max-ulp 1000000 | sed "s/^/  $method agreement: /"
  else
    printf '%-8s %10.2f %10s %8s %12d %12s\n' "$method" "$blend_s" skipped - $((blend_rss / 1024)) -
    echo "  (no mergekit-yaml in $venv: python3 -m venv $venv && $venv/bin/pip install mergekit)"
  fi
  rm -rf "$out/blend-$method" "$out/mergekit-$method"
done
