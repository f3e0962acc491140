#!/usr/bin/env bash
# blend's ensembling and metrics against scikit-learn, scoringrules and properscoring, same inputs, same run:
#   eval (multiclass 50k x 10, binary 50k)      blend-ensemble eval      vs sklearn.metrics
#   soft / hard vote (10 members x 20k x 10)    blend-ensemble combine   vs sklearn VotingClassifier
#   stacking meta-learner (5 members, 5k rows)  blend-ensemble stack     vs sklearn LogisticRegression
#   CRPS (20k observations x 50 members)        metrics::crps_ensemble   vs scoringrules, properscoring
# Prints one markdown table: blend time, peer time, ratio (peer / blend) and whether the results agree.
# blend's times are hyperfine means of the whole program (start-up and loading included); the peers'
# are in-process best-of-5 including np.load (Python's start-up excluded).
#   benchmarks/ensemble_vs_peers.sh [WORK_DIR, default /tmp/blend-ensemble-peers]
# Pythons: $BLEND_SKLEARN_PYTHON (needs numpy + scikit-learn) and $BLEND_SCORING_PYTHON (numpy +
# scoringrules and/or properscoring); both default to $BLEND_PEERS_VENV/bin/python when that is set,
# else /usr/bin/python3. A peer that is missing is skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/blend-ensemble-peers}
build=${BLEND_BENCH_BUILD_DIR:-build-bench}
default_python=${BLEND_PEERS_VENV:+$BLEND_PEERS_VENV/bin/python}
default_python=${default_python:-/usr/bin/python3}
sk_python=${BLEND_SKLEARN_PYTHON:-$default_python}
sr_python=${BLEND_SCORING_PYTHON:-$default_python}
command -v hyperfine >/dev/null || { echo "hyperfine is required (apt-get install hyperfine)" >&2; exit 1; }

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBLEND_BUILD_TESTS=OFF -DBLEND_BUILD_EXAMPLES=ON \
      -DBLEND_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$build" --target blend-ensemble blend-bench-crps -j "$(nproc)" >/dev/null
exe=$build/examples/ensemble/blend-ensemble
mkdir -p "$work"
[ -f "$work/crps_members.npy" ] || /usr/bin/python3 benchmarks/peers/ensemble_peers.py make "$work"
cat "$work"/*.npy > /dev/null  # warm the page cache

peer() {  # peer PYTHON WHAT: the peer's JSON, or nothing (with a message) when it cannot run
  if ! "$1" benchmarks/peers/ensemble_peers.py "$2" "$work" 2> "$work/peer-$2.err"; then
    echo "ensemble_vs_peers: skipping the $2 peer ($1): $(tail -n 1 "$work/peer-$2.err")" >&2
  fi
}
has_stack=0
"$exe" stack --help >/dev/null 2>&1 && has_stack=1

json=$work/hyperfine.json
commands=(
  -n eval "$exe eval --preds $work/eval_preds.npy --labels $work/eval_labels.npy"
  -n eval_binary "$exe eval --preds $work/eval_binary_preds.npy --labels $work/eval_binary_labels.npy"
  -n soft "$exe combine --method soft --preds $work/vote_members.npy --out $work/blend_soft.npy"
  -n hard "$exe combine --method hard --preds $work/vote_members.npy --out $work/blend_hard.npy"
)
if [ "$has_stack" = 1 ]; then
  commands+=(-n stack "$exe stack --train-preds $work/stack_train.npy --train-labels $work/stack_labels.npy --test-preds $work/stack_test.npy --out $work/blend_stack.npy")
fi
hyperfine -N --warmup 2 --min-runs 10 --export-json "$json" "${commands[@]}" > /dev/null
"$exe" eval --preds "$work/eval_preds.npy" --labels "$work/eval_labels.npy" > "$work/blend_eval.json"
"$exe" eval --preds "$work/eval_binary_preds.npy" --labels "$work/eval_binary_labels.npy" > "$work/blend_eval_binary.json"
"$build/benchmarks/blend-bench-crps" "$work/crps_obs.npy" "$work/crps_members.npy" > "$work/blend_crps.json"
peer "$sk_python" eval > "$work/peer_eval.json"
peer "$sk_python" vote > "$work/peer_vote.json"
if [ "$has_stack" = 1 ]; then peer "$sk_python" stack > "$work/peer_stack.json"; else echo "ensemble_vs_peers: blend-ensemble has no stack subcommand; skipping" >&2; : > "$work/peer_stack.json"; fi
peer "$sr_python" crps > "$work/peer_crps.json"

/usr/bin/python3 - "$work" <<'PY'
import json, os, sys
import numpy as np
w = sys.argv[1]
def load(name):
    path = os.path.join(w, name)
    text = open(path).read().strip() if os.path.exists(path) else ""
    return json.loads(text) if text else None
times = {r["command"]: r["mean"] for r in load("hyperfine.json")["results"]}
rows = []
def row(name, blend_s, peer, peer_s, agree):
    if peer_s is None:
        rows.append(f"| {name} | {blend_s * 1e3:.1f} ms | {peer} | skipped | | |")
    else:
        rows.append(f"| {name} | {blend_s * 1e3:.1f} ms | {peer} | {peer_s * 1e3:.1f} ms | {peer_s / blend_s:.1f}x | {agree} |")
def close(a, b, tol):
    return "yes" if abs(a - b) <= tol * max(1.0, abs(b)) else f"NO ({a!r} vs {b!r})"
ev, pe = load("blend_eval.json"), load("peer_eval.json")
if pe:
    m = pe["multiclass"]
    agree = all(close(ev[k], m[k], 1e-9) == "yes" for k in ("accuracy", "balanced_accuracy", "nll", "brier"))
    row("eval multiclass 50k x 10 (accuracy, balanced accuracy, NLL, Brier)", times["eval"], "sklearn.metrics", m["seconds"], "yes" if agree else f"NO {ev} {m}")
    evb, b = load("blend_eval_binary.json"), pe["binary"]
    agree = all(close(evb[k], b[k], 1e-9) == "yes" for k in ("accuracy", "roc_auc"))
    row("eval binary 50k (accuracy, ROC-AUC)", times["eval_binary"], "sklearn.metrics", b["seconds"], "yes" if agree else f"NO {evb} {b}")
else:
    row("eval multiclass 50k x 10", times["eval"], "sklearn.metrics", None, "")
pv = load("peer_vote.json")
if pv:
    soft_ok = np.allclose(np.load(f"{w}/blend_soft.npy"), np.load(f"{w}/peer_soft.npy"), rtol=0, atol=1e-12)
    hard_ok = np.array_equal(np.load(f"{w}/blend_hard.npy"), np.load(f"{w}/peer_hard.npy"))
    row("soft vote, 10 members x 20k x 10", times["soft"], "VotingClassifier(soft)", pv["soft"]["seconds"], "yes" if soft_ok else "NO")
    row("hard vote, 10 members x 20k x 10", times["hard"], "VotingClassifier(hard)", pv["hard"]["seconds"], "yes" if hard_ok else "NO")
else:
    row("soft vote", times["soft"], "VotingClassifier", None, "")
ps = load("peer_stack.json")
if ps and "stack" in times:
    diff = float(np.max(np.abs(np.load(f"{w}/blend_stack.npy") - np.load(f"{w}/peer_stack.npy"))))
    row("stacking: logistic meta-learner, 5 members, 5k rows", times["stack"], "LogisticRegression(tol=1e-10)", ps["seconds"], "yes" if diff <= 1e-6 else f"NO (max diff {diff:.2g})")
bc, pc = load("blend_crps.json"), load("peer_crps.json") or {}
for name in ("scoringrules", "properscoring"):
    if name in pc:
        row(f"CRPS, 20k obs x 50 members (blend: in-process)", bc["seconds"], f"{name}.crps_ensemble", pc[name]["seconds"], close(bc["mean"], pc[name]["mean"], 1e-12))
print("| what | blend | peer | peer time | ratio | agree |")
print("|---|---|---|---|---|---|")
print("\n".join(rows))
PY
