#!/usr/bin/python3
"""Writes the fixtures of tests/merge/{model_stock,nearswap,ram,arcee_fusion,passthrough}.cpp:
small random inputs and the float64 results of the independent reference
benchmarks/peers/merge_reference.py, as .npy files in tests/merge/data/misc/.

Per case NAME: NAME.base.npy (when the method has a base), NAME.x1.npy, NAME.x2.npy, ... (the other
models in config order) and NAME.ref.npy (float64). Inputs are float32 .npy; a case whose name ends in
_bf16 holds values exactly representable in bfloat16 (the test converts them to bf16 exactly and merges
in bf16), _f64 cases are float64. The parameters of each case are in CASES below and repeated in the
tests. Deterministic: numpy's generator with fixed seeds.

Usage: /usr/bin/python3 tests/reference/make_misc_fixtures.py
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "benchmarks", "peers"))
import merge_reference as ref  # noqa: E402

OUT = os.path.join(HERE, "..", "merge", "data", "misc")


def to_bf16(a):
    """Round float32 values to the nearest bfloat16 (ties to even), returned as float32."""
    a = np.asarray(a, dtype=np.float32)
    bits = a.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return rounded.astype(np.uint32).view(np.float32)


def storage(a, kind):
    if kind == "bf16":
        return to_bf16(a)
    if kind == "f64":
        return np.asarray(a, dtype=np.float64)
    return np.asarray(a, dtype=np.float32)


def correlated(rng, base, n, shared=1e-3, noise=1e-3, row_scale=None):
    """n models: base + shared direction + own noise (model stock needs offsets with cos > 0)."""
    c = rng.normal(0, shared, base.shape)
    if row_scale is not None:
        c = c * row_scale
    return [base + c + rng.normal(0, noise, base.shape) for _ in range(n)]


def sparse_deltas(rng, base, n, p=0.5, scale=1e-3):
    """n models whose deltas are nonzero at a random half of the entries, with some tiny (<= 1e-5)."""
    out = []
    for _ in range(n):
        d = rng.normal(0, scale, base.shape) * (rng.random(base.shape) < p)
        tiny = rng.random(base.shape) < 0.05
        d = np.where(tiny, rng.uniform(-5e-6, 5e-6, base.shape), d)
        out.append(base + d)
    return out


def make_cases():
    cases = []  # (name, method, params, base or None, [xs])
    for kind in ("f32", "bf16", "f64"):
        seed = {"f32": 1, "bf16": 2, "f64": 3}[kind]
        rng = np.random.default_rng(seed)
        b = rng.normal(0, 0.02, (12, 20))
        flat = (f"model_stock_flat_{kind}", "model_stock", {}, b, correlated(rng, b, 3))
        rs = np.linspace(0.0, 2.0, 12)[:, None]
        rows = (f"model_stock_rows_{kind}", "model_stock", {"filter_wise": True}, b,
                correlated(rng, b, 3, row_scale=rs))
        near = (f"nearswap_{kind}", "nearswap", {"t": 0.001}, b, [b + rng.normal(0, 1e-3, b.shape)])
        ram = (f"ram_{kind}", "ram", {}, b, sparse_deltas(rng, b, 3))
        ramplus = (f"ramplus_tl_{kind}", "ramplus_tl", {}, b, sparse_deltas(rng, b, 3, p=0.2))
        a = rng.normal(0, 0.5, (12, 48))
        arcee = (f"arcee_fusion_{kind}", "arcee_fusion", {}, a,
                 [a + rng.normal(0, 0.1, a.shape) * np.linspace(0.1, 1.0, 12)[:, None]])
        passthrough = (f"passthrough_{kind}", "passthrough", {"scale": 0.37}, None, [rng.normal(0, 0.02, (16, 24))])
        # float64: the float64 math path of one per-row, one reduction and one elementwise method
        cases += [rows, ramplus, arcee] if kind == "f64" else [flat, rows, near, ram, ramplus, arcee, passthrough]
    rng = np.random.default_rng(4)
    b1 = rng.normal(0, 0.02, 200)
    cases.append(("model_stock_1d_f32", "model_stock", {"filter_wise": True}, b1, correlated(rng, b1, 2)))
    b3 = rng.normal(0, 0.02, (2, 3, 8))
    cases.append(("model_stock_3d_f32", "model_stock", {"filter_wise": True}, b3,
                  correlated(rng, b3, 4, noise=2e-3)))
    bs = rng.normal(0, 0.02, (16, 24))
    cases.append(("ramplus_tl_r05_f32", "ramplus_tl", {"r": 0.5, "alpha": 1.0}, bs, sparse_deltas(rng, bs, 2, p=0.3)))
    cases.append(("ramplus_tl_eps_f32", "ramplus_tl", {"r": 0.3, "alpha": 0.05, "epsilon": 1e-3}, bs,
                  sparse_deltas(rng, bs, 3, p=0.4, scale=2e-3)))
    a1 = rng.normal(0, 1.0, 300)
    cases.append(("arcee_fusion_1d_f32", "arcee_fusion", {}, a1, [a1 + rng.normal(0, 0.2, 300)]))
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, method, params, base, xs in make_cases():
        kind = name.rsplit("_", 1)[1]
        base = None if base is None else storage(base, kind)
        xs = [storage(x, kind) for x in xs]
        res, _ = ref.run_method(method, xs, base, params)
        if base is not None:
            np.save(os.path.join(OUT, f"{name}.base.npy"), base)
        for i, x in enumerate(xs, 1):
            np.save(os.path.join(OUT, f"{name}.x{i}.npy"), x)
        np.save(os.path.join(OUT, f"{name}.ref.npy"), np.asarray(res, dtype=np.float64))
        print(f"{name}: {method} {params} shape {xs[0].shape}")


if __name__ == "__main__":
    main()
