#!/usr/bin/python3
"""Writes the safetensors fixtures of tests/io/safetensors_writer.cpp with the real `safetensors` library.

Not run by the build or CI (the files are checked in). Run it by hand in a venv outside the repository:

    python3 -m venv /work/venv-st
    /work/venv-st/bin/pip install safetensors==0.8.0 numpy==2.4.6 ml_dtypes==0.6.0 huggingface_hub==2.4.0
    /work/venv-st/bin/python tests/reference/make_safetensors_fixtures.py

The checked-in files were written with exactly those versions (Python 3.11, Debian 12): safetensors 0.8.0,
numpy 2.4.6, ml_dtypes 0.6.0 (bfloat16 and float8 arrays), huggingface_hub 2.4.0. No torch: the files
are written through `safetensors.numpy.save_file`, i.e. the library's low-level `serialize_file` with one
`TensorSpec(dtype, shape, data_ptr, data_len)` per array, which is what `safetensors.torch.save_file`
calls too; the bytes on disk do not depend on the framework.

Output, under tests/io/data/safetensors/python/ (values: see safetensors_patterns.py):
  all_dtypes.safetensors      every dtype, "scalar" (shape []), "empty" (shape [0, 3]); metadata
                              {"format": "pt"}
  escapes.safetensors         U8 tensors whose names need JSON escapes or are non-ASCII, and one metadata
                              value with every kind of escape
  no_metadata.safetensors     no __metadata__ at all (metadata=None)
  multi_metadata.safetensors  three metadata keys. The library keeps metadata in a Rust HashMap, so their
                              order in the header is random (it changes from call to call); the script
                              serializes until the keys come out sorted (blend's order), which makes the
                              file reproducible and comparable with blend's
  sharded/                    model-0000k-of-00004.safetensors + model.safetensors.index.json, split by
                              huggingface_hub's `split_state_dict_into_shards_factory` (state-dict order,
                              max_shard_size = 1000 bytes of tensor data), each shard saved with
                              metadata {"format": "pt"} (as huggingface_hub and transformers do), and the
                              index written as transformers' `save_pretrained` writes it:
                              json.dumps(index, indent=2, sort_keys=True) + "\\n" (huggingface_hub's own
                              `save_torch_state_dict` writes json.dump(index, f, indent=2): keys unsorted
                              and no final newline; transformers' form is what model repositories hold)

Layout rules of the library observed here (and relied on by the C++ test): the header is compact JSON
(serde_json: no spaces; escapes only '"', '\\', and control characters, as \\n \\t \\r \\b \\f or \\u00xx;
non-ASCII written as raw UTF-8), `__metadata__` first when given, then the tensors in data order, padded
with spaces to a multiple of 8; the data order is NOT the order of the dict: tensors are sorted by dtype,
descending in the library's enum order (U64, I64, F64, F32, U32, I32, BF16, F16, U16, I16, F8_E4M3,
F8_E5M2, I8, U8, BOOL), then by name (byte order).
"""
import json
import os
import struct
import sys

import numpy as np

import safetensors
from safetensors.numpy import save, save_file
import ml_dtypes
import huggingface_hub
from huggingface_hub import split_state_dict_into_shards_factory

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_patterns as patterns  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "io", "data", "safetensors", "python")



def main():
    print(f"safetensors {safetensors.__version__}, numpy {np.__version__}, ml_dtypes {ml_dtypes.__version__}, "
          f"huggingface_hub {huggingface_hub.__version__}")
    os.makedirs(os.path.join(OUT, "sharded"), exist_ok=True)

    save_file(patterns.all_dtypes_tensors(), os.path.join(OUT, "all_dtypes.safetensors"), metadata={"format": "pt"})

    save_file(patterns.escape_tensors(), os.path.join(OUT, "escapes.safetensors"), metadata={"note": patterns.ESCAPE_NOTE})

    plain = {"b": np.array([1.5, -2.0, 0.25, 8.0], dtype=np.float32).reshape(2, 2),
             "a": np.array([-1, 0, 2**40], dtype=np.int64)}
    save_file(plain, os.path.join(OUT, "no_metadata.safetensors"))
    # The library's metadata order is random; write until it comes out sorted, so that the file is
    # reproducible (it is one of the 3! files the library writes for these arguments).
    multi = {"format": "pt", "author": "blend tests", "note": "order is random"}
    for attempt in range(1000):
        data = save(plain, metadata=multi)
        header = json.loads(data[8:8 + struct.unpack("<Q", data[:8])[0]])
        if list(header["__metadata__"]) == sorted(multi):
            break
    else:
        raise RuntimeError("the metadata never came out sorted")
    with open(os.path.join(OUT, "multi_metadata.safetensors"), "wb") as f:
        f.write(data)

    model = patterns.model_tensors()
    split = split_state_dict_into_shards_factory(
        model, get_storage_size=lambda t: t.nbytes, filename_pattern="model{suffix}.safetensors",
        max_shard_size=patterns.SHARD_LIMIT)
    directory = os.path.join(OUT, "sharded")
    for name in os.listdir(directory):
        os.remove(os.path.join(directory, name))
    for filename, names in split.filename_to_tensors.items():
        save_file({n: model[n] for n in names}, os.path.join(directory, filename), metadata={"format": "pt"})
    index = {"metadata": split.metadata, "weight_map": split.tensor_to_filename}
    with open(os.path.join(directory, "model.safetensors.index.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")

    total = 0
    for dirpath, _, files in os.walk(OUT):
        for name in sorted(files):
            size = os.path.getsize(os.path.join(dirpath, name))
            total += size
            print(f"  {os.path.relpath(os.path.join(dirpath, name), ROOT)}: {size} bytes")
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
