"""Minimal safetensors read/write with numpy only (F32, F64, BF16, F16), shared by the blend-merge
end-to-end driver (run_tests.py) and the fixture generator (make_fixtures.py). BF16 tensors are read as
float32 (exact) and written from float64/float32 values rounded to nearest-even."""
import json
import os
import struct

import numpy as np

_NP = {"F32": np.float32, "F64": np.float64, "F16": np.float16}


def read(path):
    """{name: (dtype_name, float64 array)} in data order, plus the metadata dict."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    out = {}
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = info["data_offsets"]
        buf = data[begin:end]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
            values = bits.view(np.float32)
        else:
            values = np.frombuffer(buf, dtype=np.dtype(_NP[info["dtype"]]).newbyteorder("<"))
        out[name] = (info["dtype"], values.astype(np.float64).reshape(info["shape"]))
    return out, meta


def read_model(directory):
    """All tensors of a model directory (model.safetensors or the shards of its index)."""
    single = os.path.join(directory, "model.safetensors")
    if os.path.exists(single):
        return read(single)[0]
    with open(os.path.join(directory, "model.safetensors.index.json")) as f:
        index = json.load(f)
    out = {}
    for shard in sorted(set(index["weight_map"].values())):
        out.update(read(os.path.join(directory, shard))[0])
    return out


def to_bf16_bits(values):
    f = np.asarray(values, dtype=np.float32).ravel()
    bits = f.view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype("<u2")


def write(path, tensors, metadata=None):
    """tensors: list of (name, dtype_name, array) in data order."""
    header = {"__metadata__": metadata or {"format": "pt"}}
    blobs = []
    offset = 0
    for name, dtype, array in tensors:
        if dtype == "BF16":
            blob = to_bf16_bits(array).tobytes()
        else:
            blob = np.ascontiguousarray(array, dtype=np.dtype(_NP[dtype]).newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(np.shape(array)), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
