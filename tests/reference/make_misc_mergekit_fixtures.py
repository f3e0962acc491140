#!/work/venv-mk/bin/python
"""Writes mergekit 0.1.5's own results for the fixtures of tests/merge/data/misc/ (written by
make_misc_fixtures.py) into tests/merge/data/misc/mergekit/NAME.npy, so that blend's agreement with
mergekit stays under test without PyPI.

It calls mergekit's per-tensor entry point `mergekit.merge_methods.api.merge_tensors` on CPU with the
fixture's inputs (base first, `base_index=0`) in the fixture's storage dtype — float32 for *_f32, float64
for *_f64, bfloat16 for *_bf16 (mergekit then computes in bf16; its result is saved as float32, which
is exact) — and the parameters below (the same as make_misc_fixtures.py). arcee_fusion returns float32
for bf16 inputs: it is rounded to bf16 here, as blend writes bf16 (mergekit's `out_dtype: bfloat16`).

Run with the virtual environment that has mergekit 0.1.5 (pip install mergekit==0.1.5):
  /work/venv-mk/bin/python tests/reference/make_misc_mergekit_fixtures.py
"""
import glob
import importlib.metadata
import os

import numpy as np
import torch

from mergekit.merge_methods.api import merge_tensors

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "merge", "data", "misc")
OUT = os.path.join(DATA, "mergekit")

PARAMS = {  # case-name prefix -> (method, parameters); longest prefix wins
    "model_stock_flat": ("model_stock", {}),
    "model_stock_rows": ("model_stock", {"filter_wise": True}),
    "model_stock_1d": ("model_stock", {"filter_wise": True}),
    "model_stock_3d": ("model_stock", {"filter_wise": True}),
    "nearswap": ("nearswap", {"t": 0.001}),
    "ram": ("ram", {}),
    "ramplus_tl": ("ramplus_tl", {}),
    "ramplus_tl_r05": ("ramplus_tl", {"r": 0.5, "alpha": 1.0}),
    "ramplus_tl_eps": ("ramplus_tl", {"r": 0.3, "alpha": 0.05, "epsilon": 1e-3}),
    "arcee_fusion": ("arcee_fusion", {}),
    "passthrough": ("passthrough", {"scale": 0.37}),
}

TORCH_DTYPE = {"f32": torch.float32, "f64": torch.float64, "bf16": torch.bfloat16}


def method_of(case):
    stem = case.rsplit("_", 1)[0]
    best = max((p for p in PARAMS if stem == p or stem.startswith(p + "_")), key=len)
    return PARAMS[best]


def main():
    os.makedirs(OUT, exist_ok=True)
    print(f"mergekit {importlib.metadata.version('mergekit')}, torch {torch.__version__}")
    for ref in sorted(glob.glob(os.path.join(DATA, "*.ref.npy"))):
        case = os.path.basename(ref)[: -len(".ref.npy")]
        kind = case.rsplit("_", 1)[1]
        method, params = method_of(case)
        tdt = TORCH_DTYPE[kind]
        names = ([f"{case}.base.npy"] if os.path.exists(os.path.join(DATA, f"{case}.base.npy")) else [])
        i = 1
        while os.path.exists(os.path.join(DATA, f"{case}.x{i}.npy")):
            names.append(f"{case}.x{i}.npy")
            i += 1
        tensors = [torch.from_numpy(np.load(os.path.join(DATA, n))).to(tdt) for n in names]
        has_base = names[0].endswith(".base.npy")
        with torch.no_grad():
            res = merge_tensors(tensors, method, parameters=params, base_index=0 if has_base else None)
        res = res.to(tdt)  # arcee_fusion returns float32 for 16-bit inputs
        out = res.to(torch.float64 if kind == "f64" else torch.float32).numpy()
        np.save(os.path.join(OUT, f"{case}.npy"), out)
        print(f"{case}: {method} {params} -> {res.dtype}")


if __name__ == "__main__":
    main()
