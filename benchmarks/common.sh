# Sourced by the merge benchmark scripts, from the repository root, with $workload set: installs the
# dependencies, builds blend-bench-merge (Release) into $build (default build-bench, or
# $BLEND_BENCH_BUILD_DIR), and generates the workload (benchmarks/make_workload.py) when it is missing.
build=${BLEND_BENCH_BUILD_DIR:-build-bench}
./scripts/deps.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBLEND_BUILD_BENCHMARKS=ON -DBLEND_BUILD_TESTS=OFF \
      -DBLEND_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target blend-bench-merge -j "$(nproc)" >/dev/null
[ -f "$workload/ft3/model.safetensors" ] || /usr/bin/python3 benchmarks/make_workload.py "$workload"
