#!/usr/bin/python3
"""Writes tests/merge/data/gta/: inputs and expected outputs of the task-vector family and SCE,
computed by the independent float64 reference benchmarks/peers/merge_reference.py.

Inputs (float32 .npy; a bf16 set holds bf16-representable values): base + 3 models, shape (12, 32).
  bf16: base N(0, 0.02^2), deltas N(0, 1e-3^2), rounded to bf16 (heavily tied |d|, as real models);
  f32:  base N(0, 1), deltas N(0, 0.1^2).
Expected outputs are float64: <dtype>_<case>.npy. For the random methods (dare_*, della*) the masks are
blend's: model i keeps entry j iff uniform_float(j) < p_j of the stream (seed, stream_key(TENSOR, i))
-- computed here with tests/reference/stream_key.py's independent Philox -- and the reference is run
with those masks. The case list is mirrored in tests/merge/task_arithmetic.cpp and tests/merge/sce.cpp.

Run: /usr/bin/python3 tests/reference/make_gta_fixtures.py
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "benchmarks", "peers"))
sys.path.insert(0, HERE)
import merge_reference as ref  # noqa: E402
import stream_key as sk  # noqa: E402

OUT = os.path.join(ROOT, "tests", "merge", "data", "gta")
TENSOR = "model.layers.0.mlp.weight"
SHAPE = (12, 32)

CASES = {
    "task_arithmetic": ("task_arithmetic", {"weight": [0.3, 0.7, 0.5], "lambda": 0.8}),
    "task_arithmetic_normalize": ("task_arithmetic", {"weight": [0.3, 0.7, 0.5], "normalize": True}),
    "ties": ("ties", {"weight": [1.0, 0.6, 0.4], "density": [0.5, 0.3, 0.7]}),
    "ties_l1_count": ("ties", {"weight": [0.5, 0.5, 1.0], "density": 0.4, "rescale": "l1", "consensus": "count",
                               "normalize": False, "lambda": 1.3}),
    "ties_inverse_density": ("ties", {"weight": [1.0, 1.0, 1.0], "density": 0.5, "rescale": "inverse_density"}),
    "breadcrumbs": ("breadcrumbs", {"weight": [0.4, 0.4, 0.2], "density": 0.4, "gamma": 0.05}),
    "breadcrumbs_ties": ("breadcrumbs_ties", {"weight": [1.0, 0.5, 0.8], "density": [0.6, 0.5, 0.9], "gamma": 0.1}),
    "breadcrumbs_ties_ntop0": ("breadcrumbs_ties", {"weight": [1.0, 1.0, 1.0], "density": 0.5, "gamma": 0.001}),
    "dare_linear": ("dare_linear", {"weight": [0.5, 0.3, 0.2], "density": 0.4, "seed": 5}),
    "dare_ties": ("dare_ties", {"weight": [1.0, 0.7, 0.4], "density": [0.3, 0.5, 0.7]}),
    "dare_ties_inverse_density": ("dare_ties", {"weight": [1.0, 1.0, 1.0], "density": 0.5,
                                                "rescale": "inverse_density", "seed": 2}),
    "della": ("della", {"weight": [1.0, 0.8, 0.6], "density": 0.5, "epsilon": 0.15, "seed": 1}),
    "della_linear": ("della_linear", {"weight": [0.4, 0.4, 0.2], "density": 0.4, "epsilon": 0.2,
                                      "rescale": "none", "lambda": 0.9, "seed": 3}),
    "sce": ("sce", {}),
    "sce_topk_0.5": ("sce", {"select_topk": 0.5}),
    "sce_topk_0.1": ("sce", {"select_topk": 0.1}),
}


def to_bf16(x):
    """Round float32 values to bf16 (round to nearest even), returned as float32."""
    b = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) >> 16 << 16
    return b.astype(np.uint32).view(np.float32)


def blend_uniform_float(seed, key, n):
    """blend's random_stream{seed, key}.uniform_float(i) for i < n (tests/reference/stream_key.py)."""
    out = np.empty(n, dtype=np.float64)
    for b in range((n + 3) // 4):
        w = sk.philox4x32_10([sk.lo(b), sk.hi(b), sk.lo(key), sk.hi(key)], [sk.lo(seed), sk.hi(seed)])
        for j in range(4):
            if 4 * b + j < n:
                out[4 * b + j] = (w[j] >> 8) / 2.0**24
    return out


def inputs(kind):
    rng = np.random.default_rng(20261127 if kind == "bf16" else 7)
    if kind == "bf16":
        base = to_bf16(rng.normal(0, 0.02, SHAPE))
        models = [to_bf16(base + rng.normal(0, 1e-3, SHAPE)) for _ in range(3)]
    else:
        base = rng.normal(0, 1, SHAPE).astype(np.float32)
        models = [(base + rng.normal(0, 0.1, SHAPE)).astype(np.float32) for _ in range(3)]
    return base, models


def main():
    os.makedirs(OUT, exist_ok=True)
    for kind in ("bf16", "f32"):
        base, models = inputs(kind)
        np.save(os.path.join(OUT, f"{kind}_base.npy"), base)
        for i, m in enumerate(models):
            np.save(os.path.join(OUT, f"{kind}_m{i}.npy"), m)
        for name, (method, params) in CASES.items():
            masks = None
            if method in ("dare_linear", "dare_ties", "della", "della_linear"):
                probs = ref.gta_keep_probs(method, base, models, params.get("density", 1.0), 0.01,
                                           params.get("epsilon", 0.15))
                seed = params.get("seed", 0)
                masks = [blend_uniform_float(seed, sk.stream_key(TENSOR, i), base.size).reshape(SHAPE) < probs[i]
                         for i in range(len(models))]
            result, _ = ref.run_method(method, models, base, params, masks)
            np.save(os.path.join(OUT, f"{kind}_{name}.npy"), np.asarray(result, dtype=np.float64))
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT) if f.endswith(".npy"))
    print(f"wrote {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
