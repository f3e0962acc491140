#!/usr/bin/env bash
# Prints the compile time of a translation unit that includes <blend/blend.hpp> (and, for scale, one
# that includes only <blend/core.hpp>, and one that also instantiates a merge), with
# the flags a consumer uses (-std=c++20 -O2). Usage: benchmarks/compile_time.sh [compiler] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
cxx=${1:-g++}
runs=${2:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

measure() {  # label, source text
  printf '%s\n' "$2" > "$tmp/tu.cpp"
  best=""
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$cxx" -std=c++20 -O2 -Iinclude -c "$tmp/tu.cpp" -o "$tmp/tu.o"
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
  done
  printf '%-42s %5d.%02d s (best of %d, %s)\n' "$1" $((best / 1000)) $((best % 1000 / 10)) "$runs" "$cxx"
}

measure "#include <blend/blend.hpp>" '#include <blend/blend.hpp>
int main() { return 0; }'
measure "#include <blend/core.hpp>" '#include <blend/core.hpp>
int main() { return 0; }'
measure "#include <blend/blend.hpp> + linear merge" '#include <blend/blend.hpp>
#include <vector>
int main() { std::vector<xt::xarray<float>> m{{1.f}, {2.f}}; return static_cast<int>(blend::merge::linear(m)(0)); }'
