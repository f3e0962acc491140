#!/usr/bin/env python3
"""Writes mergekit's own outputs for slerp, nuslerp, multislerp and karcher into
tests/merge/data/slerp/mergekit/, for tests/merge/{slerp,multislerp,karcher}.cpp.

Needs mergekit 0.1.5 (with torch) — run with a virtual environment's python, e.g.
  /work/venv-mk/bin/python tests/reference/make_slerp_mergekit_fixtures.py
It calls `mergekit.merge_methods.api.merge_tensors` (mergekit's per-tensor entry point) on small seeded
random tensors. Files per case <name>: <name>_base.npy (if any), <name>_x<i>.npy, <name>_out.npy, all
float32 (bf16 cases: bf16 values stored exactly as float32) or float64. The case list is mirrored by
the C++ tests. No mergekit code is copied here; only its public function is called.
"""
import os

import numpy as np
import torch
from mergekit.merge_methods.api import merge_tensors

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "merge", "data", "slerp", "mergekit")

TORCH = {"f32": torch.float32, "f64": torch.float64, "bf16": torch.bfloat16}


def npy(t):
    t = t.detach()
    return t.to(torch.float32).numpy() if t.dtype == torch.bfloat16 else t.numpy()


def case(name, method, kind, shape, count, with_base, params, gen, base_last=False):
    """count non-base models = base + N(0, 0.1^2) deltas (or independent N(0,1) without a base)."""
    b = torch.from_numpy(gen.standard_normal(shape)).to(TORCH[kind])
    if with_base:
        xs = [(b.to(torch.float64) + 0.1 * torch.from_numpy(gen.standard_normal(shape))).to(TORCH[kind]) for _ in range(count)]
        tensors = xs + [b] if base_last else [b] + xs
        index = len(xs) if base_last else 0
        out = merge_tensors(tensors, method, parameters=params, base_index=index)
        np.save(os.path.join(OUT, f"{name}_base.npy"), npy(b))
    else:
        xs = [torch.from_numpy(gen.standard_normal(shape)).to(TORCH[kind]) for _ in range(count)]
        out = merge_tensors(xs, method, parameters=params)
    for i, x in enumerate(xs):
        np.save(os.path.join(OUT, f"{name}_x{i}.npy"), npy(x))
    assert out.dtype == TORCH[kind], (name, out.dtype)
    np.save(os.path.join(OUT, f"{name}_out.npy"), npy(out))


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = np.random.default_rng(115)
    # slerp: base first, t
    case("slerp_t03_f32", "slerp", "f32", (8, 12), 1, True, {"t": 0.3}, gen)
    case("slerp_t0_f32", "slerp", "f32", (8, 12), 1, True, {"t": 0.0}, gen)
    case("slerp_t1_f32", "slerp", "f32", (8, 12), 1, True, {"t": 1.0}, gen)
    case("slerp_t06_bf16", "slerp", "bf16", (16, 16), 1, True, {"t": 0.6}, gen)
    case("slerp_t03_f64", "slerp", "f64", (8, 12), 1, True, {"t": 0.3}, gen)
    # nuslerp
    case("nuslerp_flat_f32", "nuslerp", "f32", (8, 12), 2, False, {"weight": [0.3, 0.7]}, gen)
    case("nuslerp_rows_f32", "nuslerp", "f32", (8, 12), 2, False, {"weight": [0.3, 0.7], "nuslerp_flatten": False}, gen)
    case("nuslerp_cols_f32", "nuslerp", "f32", (8, 12), 2, False,
         {"weight": [0.3, 0.7], "nuslerp_flatten": False, "nuslerp_row_wise": True}, gen)
    case("nuslerp_base_flat_f32", "nuslerp", "f32", (8, 12), 2, True, {"weight": [1.0, 2.0]}, gen)
    case("nuslerp_base_rows_f64", "nuslerp", "f64", (8, 12), 2, True, {"weight": [1.0, 2.0], "nuslerp_flatten": False}, gen)
    # multislerp
    case("multislerp_f32", "multislerp", "f32", (8, 12), 3, False, {"weight": [0.2, 0.3, 0.5]}, gen)
    case("multislerp_base_f32", "multislerp", "f32", (8, 12), 3, True, {"weight": [1.0, 2.0, 3.0]}, gen)
    case("multislerp_nonorm_f64", "multislerp", "f64", (8, 12), 3, False,
         {"weight": [0.5, 0.25, 0.4], "normalize_weights": False}, gen)
    # karcher: every input is an input (a base listed in the config included)
    case("karcher_f32", "karcher", "f32", (8, 12), 3, False, {}, gen)
    case("karcher_f64", "karcher", "f64", (8, 12), 4, False, {}, gen)
    case("karcher_base_f32", "karcher", "f32", (8, 12), 2, True, {}, gen, base_last=True)
    files = [f for f in os.listdir(OUT) if f.endswith(".npy")]
    print(f"wrote {len(files)} files, {sum(os.path.getsize(os.path.join(OUT, f)) for f in files)} bytes, to {OUT}")


if __name__ == "__main__":
    main()
