#!/usr/bin/python3
"""Checks that files blend's safetensors_writer wrote load in the Python library's `safe_open` with the
expected values (issue 3: "blend's output must load in safetensors.safe_open with identical values").

    check_safe_open.py [--writer EXE] DIR

With --writer, first runs `EXE DIR` (tests/reference/write_for_safe_open.cpp), which writes into DIR:
all_dtypes.safetensors, escapes.safetensors and sharded/. Then opens each with
`safetensors.safe_open(path, framework="numpy")` and compares names, data order (`offset_keys`),
metadata, dtypes, shapes and values against safetensors_patterns.py, which computes them independently
of blend (numpy + ml_dtypes). Floats compare as float64 with NaN == NaN and the sign of zero checked
(the NaN encodings differ: ml_dtypes writes the float8_e5m2 NaN as 0x7E, blend and PyTorch as 0x7F).
The sharded directory is also checked against huggingface_hub's split of the same model when that
package is installed.

Exit status: 0 all equal; 1 a difference or an error (printed); 2 usage; 77 when numpy, ml_dtypes or
safetensors cannot be imported — CTest's SKIP_RETURN_CODE, since CI has no PyPI packages.
Checked by hand with safetensors 0.8.0, numpy 2.4.6, ml_dtypes 0.6.0, huggingface_hub 2.4.0.
"""
import argparse
import json
import os
import subprocess
import sys

try:
    import numpy as np
    import ml_dtypes
    import safetensors
    from safetensors import safe_open
except ImportError as e:
    print(f"check_safe_open.py: skipped: {e}", file=sys.stderr)
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_patterns as patterns  # noqa: E402

# safetensors 0.8.0's numpy framework looks float8 dtypes up as attributes of numpy, which has none.
np.float8_e4m3fn = ml_dtypes.float8_e4m3fn
np.float8_e5m2 = ml_dtypes.float8_e5m2

failures = []


def expect(condition, what):
    if not condition:
        failures.append(what)


def difference(got, want):
    """None when equal, else a short description of the first difference."""
    if want is None:
        return "not expected"
    if got.dtype != want.dtype or got.shape != want.shape:
        return f"{got.dtype} {got.shape}, expected {want.dtype} {want.shape}"
    if want.dtype.kind in "biu":
        equal = (got == want).reshape(-1)
    else:
        g, w = got.astype(np.float64).reshape(-1), want.astype(np.float64).reshape(-1)
        equal = ((g == w) | (np.isnan(g) & np.isnan(w))) & (np.signbit(g) == np.signbit(w))
    if equal.all():
        return None
    i = int(np.argmin(equal))
    return f"element {i} is {got.reshape(-1)[i]!r}, expected {want.reshape(-1)[i]!r}"


def check_file(path, tensors, metadata, order=None):
    with safe_open(path, framework="numpy") as f:
        expect(sorted(f.keys()) == sorted(tensors), f"{path}: names {sorted(f.keys())}")
        if order is not None:
            expect(list(f.offset_keys()) == order, f"{path}: data order {list(f.offset_keys())}, expected {order}")
        expect(f.metadata() == metadata, f"{path}: metadata {f.metadata()!r}, expected {metadata!r}")
        for name in f.keys():
            problem = difference(f.get_tensor(name), tensors.get(name))
            expect(problem is None, f"{path}: tensor {name!r}: {problem}")


def check_sharded(directory):
    model = patterns.model_tensors()
    with open(os.path.join(directory, "model.safetensors.index.json"), encoding="utf-8") as f:
        index = json.load(f)
    total = sum(t.nbytes for t in model.values())
    expect(index["metadata"] == {"total_size": total}, f"{directory}: index metadata {index['metadata']}")
    expect(sorted(index["weight_map"]) == sorted(model), f"{directory}: weight_map names")
    try:
        from huggingface_hub import split_state_dict_into_shards_factory
    except ImportError:
        split_state_dict_into_shards_factory = None
    if split_state_dict_into_shards_factory is not None:
        split = split_state_dict_into_shards_factory(model, get_storage_size=lambda t: t.nbytes,
                                                     filename_pattern="model{suffix}.safetensors",
                                                     max_shard_size=patterns.SHARD_LIMIT)
        expect(index["weight_map"] == split.tensor_to_filename, f"{directory}: weight_map differs from huggingface_hub's split")
    shards = sorted(set(index["weight_map"].values()))
    expect(sorted(n for n in os.listdir(directory) if not n.endswith(".json")) == shards, f"{directory}: files {os.listdir(directory)}")
    for shard in shards:
        names = [n for n, s in index["weight_map"].items() if s == shard]
        order = [n for n in model if n in names]
        check_file(os.path.join(directory, shard), {n: model[n] for n in names}, {"format": "pt"}, order)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writer", help="write_for_safe_open executable to run first")
    parser.add_argument("dir")
    args = parser.parse_args()
    if args.writer:
        if os.path.isdir(args.dir):
            for root, dirs, files in os.walk(args.dir, topdown=False):
                for n in files:
                    os.remove(os.path.join(root, n))
                for n in dirs:
                    os.rmdir(os.path.join(root, n))
        run = subprocess.run([args.writer, args.dir])
        if run.returncode != 0:
            print(f"check_safe_open.py: {args.writer} failed with exit status {run.returncode}", file=sys.stderr)
            return 1

    all_dtypes = patterns.all_dtypes_tensors()
    blend_order = [code.lower() for code in patterns.DTYPES] + ["scalar", "empty"]
    check_file(os.path.join(args.dir, "all_dtypes.safetensors"), all_dtypes, {"format": "pt", "writer": "blend"}, blend_order)
    check_file(os.path.join(args.dir, "escapes.safetensors"), patterns.escape_tensors(), {"note": patterns.ESCAPE_NOTE},
               list(patterns.ESCAPE_NAMES))
    check_sharded(os.path.join(args.dir, "sharded"))

    for failure in failures:
        print(f"check_safe_open.py: {failure}", file=sys.stderr)
    if not failures:
        print(f"check_safe_open.py: {args.dir}: every tensor loads in safe_open (safetensors {safetensors.__version__}) "
              "with the expected values")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # a file safe_open rejects, a missing file: a failure, not a crash
        print(f"check_safe_open.py: error: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
