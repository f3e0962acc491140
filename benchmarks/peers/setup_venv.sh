#!/usr/bin/env bash
# Creates the virtual environment of the tools blend is compared with (kept out of the repository):
#   benchmarks/peers/setup_venv.sh [VENV_DIR, default ~/.cache/blend-peers-venv]
# then run the report with BLEND_PEERS_VENV=VENV_DIR benchmarks/run.sh. torch comes from the CPU wheel
# index (no GPU here); mergekit pulls in transformers and accelerate.
set -euo pipefail
venv=${1:-$HOME/.cache/blend-peers-venv}
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q --index-url https://download.pytorch.org/whl/cpu torch
"$venv/bin/pip" install -q mergekit safetensors autogluon.core scikit-learn scoringrules properscoring numpy ml_dtypes
echo "peers installed in $venv: BLEND_PEERS_VENV=$venv benchmarks/run.sh"
