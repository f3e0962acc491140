#!/usr/bin/env bash
# README command 1: install dependencies, build the examples, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
build=${BLEND_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBLEND_BUILD_TESTS=OFF -DBLEND_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" --target blend-quickstart -j "$(nproc)"
"$build/examples/quickstart/blend-quickstart" "$@"
