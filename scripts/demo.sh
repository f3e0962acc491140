#!/usr/bin/env bash
# README command 1: install dependencies (with the Fashion-MNIST data), build blend-demo, run it.
# The demo trains small models on Fashion-MNIST and prints a table comparing blend's weight merges and
# prediction ensembles; it also writes results.json, SVG figures and the models (docs/demo.md).
#   ./scripts/demo.sh                 the full demo, output in ./blend-demo-out
#   ./scripts/demo.sh --quick         a smaller, faster run
#   ./scripts/demo.sh --out DIR ...   any blend-demo option is passed through (./scripts/demo.sh --help)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
build=${BLEND_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBLEND_BUILD_TESTS=OFF -DBLEND_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" --target blend-demo -j "$(nproc)"
"$build/examples/demo/blend-demo" "$@"
