#!/usr/bin/python3
"""Writes the reference fixtures of tests/merge/{slerp,multislerp,karcher}.cpp into tests/merge/data/slerp/.

Inputs are small random tensors (float32, float64, or bf16 values stored as float32 .npy — every value
exactly representable in bf16); expected outputs are computed in float64 by the independent reference
benchmarks/peers/merge_reference.py and stored as float64 .npy. Files per case <name>:
  <name>_base.npy (if the case has a base), <name>_x0.npy, <name>_x1.npy, ..., <name>_expected.npy
The case list (name, method, storage, shape, parameters) is mirrored by the C++ tests.

Run: /usr/bin/python3 tests/reference/make_slerp_fixtures.py
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "benchmarks", "peers"))
import merge_reference as ref  # noqa: E402

OUT = os.path.join(ROOT, "tests", "merge", "data", "slerp")


def to_bf16(x):
    """Round float32 values to the nearest bf16 (ties to even), returned as float32."""
    bits = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return bits.astype(np.uint32).view(np.float32)


def storage(x, kind):
    if kind == "bf16":
        return to_bf16(x)
    return np.asarray(x, dtype=np.float64 if kind == "f64" else np.float32)


def make_inputs(rng, kind, shape, count, base=True, spread=0.5):
    """A base N(0,1) and `count` models = base * U(0.6, 1.2) + N(0, spread^2)."""
    b = rng.standard_normal(shape)
    xs = [b * rng.uniform(0.6, 1.2) + spread * rng.standard_normal(shape) for _ in range(count)]
    return (storage(b, kind) if base else None), [storage(x, kind) for x in xs]


def save(name, base, xs, expected):
    if base is not None:
        np.save(os.path.join(OUT, f"{name}_base.npy"), base)
    for i, x in enumerate(xs):
        np.save(os.path.join(OUT, f"{name}_x{i}.npy"), x)
    np.save(os.path.join(OUT, f"{name}_expected.npy"), np.asarray(expected, dtype=np.float64))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261127)
    # --- slerp: base + one model; t
    for name, kind, shape, t in [("slerp_f32", "f32", (16, 24), 0.3), ("slerp_bf16", "bf16", (16, 24), 0.7),
                                 ("slerp_f64", "f64", (7, 5), 0.45)]:
        b, (x,) = make_inputs(rng, kind, shape, 1)
        save(name, b, [x], ref.slerp(b, x, t))
    b, _ = make_inputs(rng, "f32", (40,), 0)
    x = storage(2.0 * b + 1e-3 * rng.standard_normal(b.shape), "f32")  # colinear: |dot| > 0.9995
    save("slerp_lerp", b, [x], ref.slerp(b, x, 0.4))
    # --- nuslerp: (name, storage, shape, base?, weights, flatten, row_wise)
    for name, kind, shape, with_base, w, flatten, row_wise in [
        ("nuslerp_flat_f32", "f32", (16, 24), False, (0.3, 0.7), True, False),
        ("nuslerp_rows_f32", "f32", (16, 24), False, (0.3, 0.7), False, False),
        ("nuslerp_cols_f32", "f32", (16, 24), False, (0.3, 0.7), False, True),
        ("nuslerp_base_flat_f32", "f32", (16, 24), True, (1.0, 1.0), True, False),
        ("nuslerp_base_rows_bf16", "bf16", (16, 24), True, (1.0, 2.0), False, False),
        ("nuslerp_base_cols_bf16", "bf16", (16, 24), True, (2.0, 1.0), False, True),
        ("nuslerp_3d_rows_f32", "f32", (3, 4, 5), True, (0.6, 0.4), False, False),
        ("nuslerp_3d_cols_f32", "f32", (3, 4, 5), True, (0.6, 0.4), False, True),
    ]:
        b, xs = make_inputs(rng, kind, shape, 2, with_base, spread=0.1 if with_base else 0.5)
        if with_base:  # deltas of fine-tuning size, so the spherical part matters
            xs = [storage(b + rng.standard_normal(shape) * 0.05, kind) for _ in range(2)]
        save(name, b, xs, ref.nuslerp(xs[0], xs[1], w, b, flatten, row_wise))
    # --- multislerp: (name, storage, shape, base?, weights, normalize_weights)
    for name, kind, shape, with_base, w, normalize in [
        ("multislerp_f32", "f32", (16, 24), False, (0.2, 0.3, 0.5), True),
        ("multislerp_base_bf16", "bf16", (16, 24), True, (1.0, 2.0, 3.0), True),
        ("multislerp_nonorm_f32", "f32", (50,), False, (0.5, 0.25, 0.4), False),
        ("multislerp_two_base_f32", "f32", (8, 8), True, (0.3, 0.7), True),
    ]:
        b, xs = make_inputs(rng, kind, shape, len(w), with_base)
        if with_base:
            xs = [storage(b + rng.standard_normal(shape) * 0.05, kind) for _ in w]
        save(name, b, xs, ref.multislerp(xs, w, b, normalize))
    # --- karcher: every input (a base is one more input)
    for name, kind, shape, count in [("karcher_f32", "f32", (16, 24), 3), ("karcher_bf16", "bf16", (16, 24), 4),
                                     ("karcher_f64", "f64", (6, 6), 3), ("karcher_two_f32", "f32", (100,), 2)]:
        _, xs = make_inputs(rng, kind, shape, count, False)
        save(name, None, xs, ref.karcher(xs))
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT) if f.endswith(".npy"))
    print(f"wrote {len([f for f in os.listdir(OUT) if f.endswith('.npy')])} files, {total} bytes, to {OUT}")


if __name__ == "__main__":
    main()
