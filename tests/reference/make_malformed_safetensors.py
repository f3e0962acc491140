#!/usr/bin/python3
"""Writes blend's corpus of malformed safetensors files and the libFuzzer seed corpus of the header
parser. Plain python3, no dependencies; the output is deterministic. Run it from anywhere:

    python3 tests/reference/make_malformed_safetensors.py

It (re)writes
  tests/io/data/safetensors/malformed/<case>.safetensors   one violation each; tests/io/safetensors_header.cpp
                                                           expects each to be rejected with a given message
  tests/fuzz/corpus/safetensors_header/                    valid-*: small valid files (every dtype, scalar,
                                                           zero-size, unaligned, metadata), bad-*: the cases

Every malformed file is valid but for its one defect (so the defect, not something earlier, is what a
parser trips over). The layout rules are the safetensors README's "Format" section.
"""
import json
import os
import struct

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MALFORMED = os.path.join(ROOT, "tests", "io", "data", "safetensors", "malformed")
SEEDS = os.path.join(ROOT, "tests", "fuzz", "corpus", "safetensors_header")


def pack(header, data=b"", n=None, pad=True):
    """8-byte little-endian N + header bytes (str or bytes, space-padded to 8) + data. `n` overrides N."""
    if isinstance(header, str):
        header = header.encode("utf-8")
    if pad:
        header += b" " * ((8 - len(header) % 8) % 8)
    return struct.pack("<Q", len(header) if n is None else n) + header + data


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def compact(obj):
    return json.dumps(obj, separators=(",", ":"))


F32_PAIR = struct.pack("<2f", 1.5, -2.0)

MALFORMED_CASES = {
    # file-level framing
    "truncated": b"\x10\x00\x00\x00\x00",
    "header_too_large": struct.pack("<Q", 100_000_001) + b"{}      ",
    "header_beyond_file": pack("{}", n=4096),
    "header_truncated": pack(compact({"a": entry("F32", [2], 0, 8)}), F32_PAIR)[:30],
    "empty_header": pack(b"", pad=False),
    # the header's text
    "header_not_json": pack('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]', F32_PAIR),
    "invalid_utf8": pack(b'{"a\xff":' + compact(entry("F32", [2], 0, 8)).encode() + b"}", F32_PAIR),
    "not_an_object": pack("[1, 2, 3]"),
    "leading_whitespace": pack(" " + compact({"a": entry("F32", [2], 0, 8)}), F32_PAIR),
    "nul_padding": pack(compact({"a": entry("F32", [2], 0, 8)}).encode() + b"\0", F32_PAIR),
    # keys
    "duplicate_names": pack('{"a":' + compact(entry("F32", [1], 0, 4)) + ',"a":' + compact(entry("F32", [1], 4, 8)) + "}",
                            F32_PAIR),
    "duplicate_key_in_entry": pack('{"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}', F32_PAIR),
    "duplicate_metadata_key": pack('{"__metadata__":{"k":"v","k":"w"},"a":' + compact(entry("F32", [2], 0, 8)) + "}",
                                   F32_PAIR),
    "empty_name": pack(compact({"": entry("F32", [2], 0, 8)}), F32_PAIR),
    # __metadata__
    "metadata_not_string": pack(compact({"__metadata__": {"format": 1}, "a": entry("F32", [2], 0, 8)}), F32_PAIR),
    "metadata_not_object": pack(compact({"__metadata__": ["pt"], "a": entry("F32", [2], 0, 8)}), F32_PAIR),
    "metadata_null": pack(compact({"__metadata__": None, "a": entry("F32", [2], 0, 8)}), F32_PAIR),
    # a tensor's entry
    "entry_not_object": pack(compact({"a": [0, 8]}), F32_PAIR),
    "missing_data_offsets": pack(compact({"a": {"dtype": "F32", "shape": [2]}}), F32_PAIR),
    "unexpected_key": pack(compact({"a": dict(entry("F32", [2], 0, 8), offsets=[0, 8])}), F32_PAIR),
    "unknown_dtype": pack(compact({"a": entry("F17", [2], 0, 8)}), F32_PAIR),
    "dtype_not_string": pack(compact({"a": entry(32, [2], 0, 8)}), F32_PAIR),
    "shape_not_array": pack(compact({"a": entry("F32", 2, 0, 8)}), F32_PAIR),
    "negative_shape": pack(compact({"a": entry("F32", [-2], 0, 8)}), F32_PAIR),
    "float_shape": pack(compact({"a": entry("F32", [2.0], 0, 8)}), F32_PAIR),
    "offsets_wrong_arity": pack(compact({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8, 8]}}), F32_PAIR),
    "negative_offset": pack(compact({"a": entry("F32", [2], -8, 0)}), F32_PAIR),
    "begin_after_end": pack(compact({"a": entry("U8", [0], 8, 0)}), F32_PAIR),
    "shape_overflow": pack(compact({"a": entry("U8", [2**32, 2**32, 2], 0, 8)}), F32_PAIR),
    "byte_size_overflow": pack(compact({"a": entry("F64", [2**62], 0, 8)}), F32_PAIR),
    "shape_size_mismatch": pack(compact({"a": entry("F32", [3], 0, 8)}), F32_PAIR),
    # offsets against the data section
    "offsets_out_of_bounds": pack(compact({"a": entry("F32", [4], 0, 16)}), F32_PAIR),
    "overlapping_offsets": pack(compact({"a": entry("F32", [2], 0, 8), "b": entry("F32", [1], 4, 8)}), F32_PAIR),
    "gap_between_tensors": pack(compact({"a": entry("F32", [1], 0, 4), "b": entry("U8", [2], 6, 8)}), F32_PAIR),
    "gap_at_start": pack(compact({"a": entry("F32", [1], 4, 8)}), F32_PAIR),
    "trailing_bytes": pack(compact({"a": entry("F32", [1], 0, 4)}), F32_PAIR),
    "data_without_tensors": pack("{}", F32_PAIR),
}


def valid_seeds():
    dtypes = [("BOOL", 1), ("U8", 1), ("I8", 1), ("I16", 2), ("U16", 2), ("F16", 2), ("BF16", 2), ("I32", 4),
              ("U32", 4), ("F32", 4), ("F64", 8), ("I64", 8), ("U64", 8), ("F8_E4M3", 1), ("F8_E5M2", 1)]
    header, data = {"__metadata__": {"format": "pt"}}, b""
    for i, (name, size) in enumerate(dtypes):
        header["t." + name] = entry(name, [2], len(data), len(data) + 2 * size)
        data += bytes((i * 16 + k) % 256 for k in range(2 * size))
    yield "valid-every-dtype", pack(compact(header), data)
    yield "valid-scalar", pack(compact({"s": entry("F64", [], 0, 8)}), struct.pack("<d", 3.25))
    yield "valid-zero-size", pack(compact({"z": entry("F32", [0, 3], 0, 0), "a": entry("U8", [1], 0, 1)}), b"\x07")
    yield "valid-unaligned", pack(compact({"b": entry("U8", [3], 0, 3), "f": entry("F32", [1], 3, 7)}),
                                  b"\x01\x02\x03" + struct.pack("<f", 0.5))
    yield "valid-empty", pack("{}")
    yield "valid-escaped-name", pack(compact({"a\"\\\n\u00e9": entry("I16", [1], 0, 2)}), b"\x01\x00")


def write(directory, name, content):
    with open(os.path.join(directory, name), "wb") as f:
        f.write(content)


def main():
    os.makedirs(MALFORMED, exist_ok=True)
    os.makedirs(SEEDS, exist_ok=True)
    for directory in (MALFORMED, SEEDS):
        for old in os.listdir(directory):
            os.remove(os.path.join(directory, old))
    for name, content in MALFORMED_CASES.items():
        write(MALFORMED, name + ".safetensors", content)
        write(SEEDS, "bad-" + name, content)
    for name, content in valid_seeds():
        write(SEEDS, name, content)
    print(f"{len(MALFORMED_CASES)} malformed files in {MALFORMED}")


if __name__ == "__main__":
    main()
