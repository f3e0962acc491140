#!/usr/bin/env bash
# Installs the Debian 12 packages blend's build, tests, examples and benchmarks need.
# Runs apt-get directly as root (CI, this image) and through sudo otherwise; does nothing when every
# package is already installed.
set -euo pipefail

packages=(
  build-essential cmake g++ clang libclang-rt-14-dev
  libxtensor-dev xtl-dev libxtensor-blas-dev libopenblas-dev liblapack-dev
  libfmt-dev catch2 nlohmann-json3-dev libyaml-cpp-dev zlib1g-dev dataset-fashion-mnist
  libbenchmark-dev hyperfine time valgrind
  python3 python3-numpy
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "blend: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
else
  as_root=(sudo)
fi
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
