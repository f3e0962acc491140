#!/usr/bin/env python3
"""Compares two safetensors models tensor by tensor: names, shapes, dtypes and values.

Usage: compare_safetensors.py A B [--max-ulp N]
A and B are .safetensors files or directories (model.safetensors, or an index + shards). Prints, for the
whole model, the largest difference in units in the last place of the stored dtype (bf16/f16/f32) and the
fraction of elements that differ; exits 1 when names/shapes/dtypes differ or an element differs by more
than --max-ulp (default 1). Needs numpy only (reads the format by hand).
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

DTYPES = {"BF16": np.uint16, "F16": np.float16, "F32": np.float32, "F64": np.float64}


def files_of(path):
    if os.path.isfile(path):
        return [path]
    index = os.path.join(path, "model.safetensors.index.json")
    if os.path.exists(os.path.join(path, "model.safetensors")):
        return [os.path.join(path, "model.safetensors")]
    with open(index) as f:
        shards = sorted(set(json.load(f)["weight_map"].values()))
    return [os.path.join(path, s) for s in shards]


def load(path):
    tensors = {}
    for name in files_of(path):
        with open(name, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
            data = f.read()
        for key, t in header.items():
            if key == "__metadata__":
                continue
            begin, end = t["data_offsets"]
            tensors[key] = (t["dtype"], tuple(t["shape"]), np.frombuffer(data[begin:end], DTYPES[t["dtype"]]))
    return tensors


def ordered(dtype, raw):
    """Maps stored bit patterns (or floats) to integers whose difference counts ulps."""
    if dtype == "BF16":
        bits = raw.astype(np.int64)
        sign = bits >> 15
        mag = bits & 0x7FFF
    else:
        width = {"F16": (np.int16, 15), "F32": (np.int32, 31), "F64": (np.int64, 63)}[dtype]
        bits = raw.view(width[0]).astype(np.int64)
        sign = (bits >> width[1]) & 1
        mag = bits & ((1 << width[1]) - 1)
    return np.where(sign == 1, -mag, mag)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--max-ulp", type=int, default=1)
    args = parser.parse_args()
    a, b = load(args.a), load(args.b)
    if sorted(a) != sorted(b):
        print(f"tensor names differ: {sorted(set(a) ^ set(b))[:5]}")
        return 1
    worst, differing, total = 0, 0, 0
    for name in a:
        (da, sa, va), (db, sb, vb) = a[name], b[name]
        if (da, sa) != (db, sb):
            print(f"{name}: {da}{list(sa)} vs {db}{list(sb)}")
            return 1
        diff = np.abs(ordered(da, va) - ordered(db, vb))
        worst = max(worst, int(diff.max(initial=0)))
        differing += int(np.count_nonzero(diff))
        total += diff.size
    print(f"{len(a)} tensors, {total} elements: max difference {worst} ulp, "
          f"{differing} elements differ ({100.0 * differing / max(total, 1):.4f} %)")
    return 0 if worst <= args.max_ulp else 1


if __name__ == "__main__":
    sys.exit(main())
