#!/usr/bin/env python3
"""Writes tests/merge/data/gta/mergekit/: outputs of mergekit 0.1.5's own task-vector methods on the
float32 inputs of tests/merge/data/gta/ (f32_base.npy, f32_m0..2.npy, shape (12, 32), distinct |d|),
so blend's agreement with mergekit stays under test without PyPI.

Only the deterministic methods whose results mergekit computes exactly enough to compare:
task_arithmetic, ties, breadcrumbs, breadcrumbs_ties (float32 storage: mergekit computes in float32,
blend in float32 + float64 sums, so the issue's f32 tolerance applies). Every density keeps at least
one entry (mergekit uses max(1, k)); magnitudes are distinct (mergekit's unstable sort then agrees).

Run with the mergekit virtual environment:
  /work/venv-mk/bin/python tests/reference/make_gta_mergekit_fixtures.py
"""
import os

import numpy as np
import torch
from mergekit.merge_methods.api import merge_tensors
import mergekit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, "tests", "merge", "data", "gta")
OUT = os.path.join(DATA, "mergekit")

# name: (method, per-model parameters (lists, config order), global parameters)
CASES = {
    "task_arithmetic": ("task_arithmetic", {"weight": [0.3, 0.7, 0.5]}, {"lambda": 0.8}),
    "ties": ("ties", {"weight": [1.0, 0.6, 0.4], "density": [0.5, 0.3, 0.7]}, {}),
    "ties_no_normalize": ("ties", {"weight": [0.5, 0.5, 1.0], "density": [0.4, 0.4, 0.4]},
                          {"normalize": False, "lambda": 1.3}),
    "ties_rescale": ("ties", {"weight": [1.0, 1.0, 1.0], "density": [0.5, 0.5, 0.5]}, {"rescale": True}),
    "breadcrumbs": ("breadcrumbs", {"weight": [0.4, 0.4, 0.2], "density": [0.4, 0.4, 0.4],
                                    "gamma": [0.05, 0.05, 0.05]}, {}),
    "breadcrumbs_ties": ("breadcrumbs_ties", {"weight": [1.0, 0.5, 0.8], "density": [0.6, 0.5, 0.9],
                                              "gamma": [0.1, 0.1, 0.1]}, {}),
    "breadcrumbs_ties_ntop0": ("breadcrumbs_ties", {"weight": [1.0, 1.0, 1.0], "density": [0.5, 0.5, 0.5],
                                                    "gamma": [0.001, 0.001, 0.001]}, {}),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    base = torch.from_numpy(np.load(os.path.join(DATA, "f32_base.npy")))
    models = [torch.from_numpy(np.load(os.path.join(DATA, f"f32_m{i}.npy"))) for i in range(3)]
    ids = ["base", "m0", "m1", "m2"]
    for name, (method, per_model, shared) in CASES.items():
        params = dict(shared)
        for key, values in per_model.items():
            params[key] = {ids[1 + i]: v for i, v in enumerate(values)}
        result = merge_tensors([base] + models, method, parameters=params, ids=ids, base_index=0,
                               name="model.layers.0.mlp.weight")
        assert result.dtype == torch.float32, result.dtype
        np.save(os.path.join(OUT, f"{name}.npy"), result.numpy())
    print(f"wrote {OUT} with mergekit {getattr(mergekit, '__version__', '?')}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
