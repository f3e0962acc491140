#!/usr/bin/python3
"""Writes the .npy fixtures of tests/io/npy.cpp with real numpy (Debian 12's python3-numpy 1.24):

    /usr/bin/python3 tests/reference/make_npy_fixtures.py

tests/io/data/npy/           valid files written by numpy (np.save / np.lib.format.write_array), plus a
                             few hand-made headers in spellings numpy accepts; every one is loaded back
                             with np.load here, so numpy vouches for them.
tests/io/data/npy/malformed/ files blend must reject; the expected message fragments are in the test.
tests/fuzz/corpus/npy/       a seed corpus for tests/fuzz/npy.cpp (copies of a few of the above).

Values are fixed lists that tests/io/npy.cpp spells out again (no sidecar file): the six values of each
dtype below, arange(n) for the version/layout files.
"""
import os
import shutil
import struct

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "io", "data", "npy")
BAD = os.path.join(OUT, "malformed")
FUZZ = os.path.join(ROOT, "fuzz", "corpus", "npy")

# Six values per dtype, saved with shape (2, 3): zero, one, a negative or small value, the extremes.
VALUES = {
    "bool": [True, False, True, True, False, False],
    "uint8": [0, 1, 2, 127, 128, 255],
    "int8": [0, 1, -1, 127, -128, 42],
    "uint16": [0, 1, 2, 32767, 32768, 65535],
    "int16": [0, 1, -1, 32767, -32768, 42],
    "uint32": [0, 1, 2, 2**31 - 1, 2**31, 2**32 - 1],
    "int32": [0, 1, -1, 2**31 - 1, -(2**31), 42],
    "uint64": [0, 1, 2, 2**63 - 1, 2**63, 2**64 - 1],
    "int64": [0, 1, -1, 2**63 - 1, -(2**63), 42],
    "float16": [0.0, 1.0, -1.5, 65504.0, 2.0**-24, -np.inf],
    "float32": [0.0, 1.0, -1.5, float(np.finfo(np.float32).max), 2.0**-149, np.inf],
    "float64": [0.0, 1.0, -1.5, 0.1, float(np.finfo(np.float64).max), 5e-324],
}


def header(d, version=(1, 0), align=64, newline=True):
    """A preamble + header for dict text `d`, padded the way numpy pads (or to `align`)."""
    text = d.encode("utf8" if version == (3, 0) else "latin1")
    width = 2 if version == (1, 0) else 4
    total = 8 + width + len(text) + (1 if newline else 0)
    pad = (align - total % align) % align
    body = text + b" " * pad + (b"\n" if newline else b"")
    return b"\x93NUMPY" + bytes(version) + struct.pack("<H" if width == 2 else "<I", len(body)) + body


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    for d in (OUT, BAD, FUZZ):
        os.makedirs(d, exist_ok=True)

    # Every dtype, (2, 3), C order, version 1.0 (np.save's default).
    for name, values in VALUES.items():
        np.save(os.path.join(OUT, f"dtype_{name}.npy"), np.array(values, dtype=name).reshape(2, 3))

    # Header versions 1.0, 2.0, 3.0 (forced with write_array's version=): arange(12) in shape (3, 4).
    for version, dt in (((1, 0), "<f4"), ((2, 0), "<f8"), ((3, 0), "<i4")):
        with open(os.path.join(OUT, f"version{version[0]}_{np.dtype(dt).name}.npy"), "wb") as f:
            np.lib.format.write_array(f, np.arange(12, dtype=dt).reshape(3, 4), version=version)

    np.save(os.path.join(OUT, "scalar_float64.npy"), np.array(3.25))
    np.save(os.path.join(OUT, "empty_float32_0x3.npy"), np.zeros((0, 3), dtype=np.float32))
    np.save(os.path.join(OUT, "vector_int64.npy"), np.arange(5, dtype=np.int64))
    # Fortran order: numpy writes the column-major bytes with fortran_order True.
    np.save(os.path.join(OUT, "fortran_int32_2x3x4.npy"), np.asfortranarray(np.arange(24, dtype=np.int32).reshape(2, 3, 4)))
    np.save(os.path.join(OUT, "fortran_float64_3x2.npy"), np.asfortranarray(np.arange(6, dtype=np.float64).reshape(3, 2)))

    # Hand-made headers numpy accepts: other key order, double quotes, no trailing comma, extra
    # whitespace, 16-byte alignment (numpy < 1.9), no final newline, '<i1' for '|i1'. Data: arange(6).
    f4 = np.arange(6, dtype="<f4").tobytes()
    handmade = {
        "handmade_reordered": header("{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}") + f4,
        "handmade_double_quotes": header('{"descr": "<f4", "fortran_order": False, "shape": (2, 3,), }') + f4,
        "handmade_whitespace": header("  {\n 'descr' : '<f4' ,\t'fortran_order':False,'shape':( 2 ,3 ) }  ") + f4,
        "handmade_align16": header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", align=16) + f4,
        "handmade_no_newline": header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", newline=False) + f4,
        "handmade_int8_lt": header("{'descr': '<i1', 'fortran_order': False, 'shape': (6,), }") + bytes(range(6)),
        "handmade_bool_nonzero": header("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }") + b"\x00\x02\xff",
    }
    for name, data in handmade.items():
        write(os.path.join(OUT, name + ".npy"), data)

    good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    valid = header(good) + f4
    malformed = {
        "bad_magic": b"\x93NUMPX" + valid[6:],
        "bad_version": valid[:6] + b"\x04\x00" + valid[8:],
        "bad_minor_version": valid[:6] + b"\x01\x01" + valid[8:],
        "truncated_preamble": valid[:9],
        "truncated_header": valid[:40],
        "header_beyond_file": valid[:8] + struct.pack("<H", 0xFFFF) + valid[10:],
        "empty_header": header("", newline=False)[:8] + b"\x00\x00",
        "not_a_dict": header("['descr', 'shape']") + f4,
        "missing_key": header("{'descr': '<f4', 'fortran_order': False, }") + f4,
        "unknown_key": header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1, }") + f4,
        "duplicate_key": header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }") + f4,
        "missing_colon": header("{'descr' '<f4', 'fortran_order': False, 'shape': (2, 3), }") + f4,
        "unterminated_string": header("{'descr': '<f4\n, 'fortran_order': False, 'shape': (2, 3), }") + f4,
        "unclosed_dict": header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), ") + f4,
        "trailing_garbage": header(good + " x") + f4,
        "bad_bool": header("{'descr': '<f4', 'fortran_order': false, 'shape': (2, 3), }") + f4,
        "bool_as_int": header("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }") + f4,
        "shape_not_tuple": header("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }") + f4,
        "shape_int_in_parens": header("{'descr': '<f4', 'fortran_order': False, 'shape': (6), }") + f4,
        "shape_float": header("{'descr': '<f4', 'fortran_order': False, 'shape': (2.0, 3), }") + f4,
        "negative_shape": header("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, -3), }") + f4,
        "shape_overflow": header("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }") + f4,
        "shape_entry_huge": header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, ), }") + f4,
        "data_truncated": valid[:-4],
        "data_trailing": valid + b"\x00\x00\x00\x00",
        "bad_descr": header("{'descr': '<x4', 'fortran_order': False, 'shape': (2, 3), }") + f4,
        "descr_not_string": header("{'descr': 4, 'fortran_order': False, 'shape': (2, 3), }") + f4,
        "big_endian": header("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }") + f4,
        "native_order": header("{'descr': '=f4', 'fortran_order': False, 'shape': (2, 3), }") + f4,
        "complex": header("{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }") + f4,
        "object": header("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }") + bytes(16),
        "unicode_string": header("{'descr': '<U1', 'fortran_order': False, 'shape': (2, 3), }") + f4,
        "structured": header("{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': False, 'shape': (3,), }") + f4,
        "escape_in_string": header("{'descr': '<f\\x34', 'fortran_order': False, 'shape': (2, 3), }") + f4,
    }
    for name, data in malformed.items():
        write(os.path.join(BAD, name + ".npy"), data)

    # numpy must load every valid file. Of the malformed ones, numpy also rejects all but these: it keeps
    # the last of duplicate keys, ignores trailing data, reads '=f4' as native, evaluates escapes, and
    # loads big-endian, complex, unicode and structured arrays, which blend deliberately does not.
    for name in sorted(os.listdir(OUT)):
        if name.endswith(".npy"):
            np.load(os.path.join(OUT, name))
    numpy_accepts = {"duplicate_key", "data_trailing", "native_order", "complex", "unicode_string", "big_endian",
                     "structured", "escape_in_string"}
    for name in sorted(malformed):
        try:
            np.load(os.path.join(BAD, name + ".npy"), allow_pickle=False)
            accepted = True
        except Exception:
            accepted = False
        assert accepted == (name in numpy_accepts), f"numpy {'accepts' if accepted else 'rejects'} {name}"

    # Seed corpus for the fuzzer.
    for name in os.listdir(FUZZ):
        os.remove(os.path.join(FUZZ, name))
    seeds = ["dtype_float32", "dtype_bool", "version2_float64", "version3_int32", "scalar_float64",
             "empty_float32_0x3", "fortran_int32_2x3x4", "handmade_whitespace", "handmade_reordered"]
    for name in seeds:
        shutil.copy(os.path.join(OUT, name + ".npy"), os.path.join(FUZZ, name + ".npy"))
    for name in ["structured", "duplicate_key", "negative_shape", "trailing_garbage", "big_endian"]:
        shutil.copy(os.path.join(BAD, name + ".npy"), os.path.join(FUZZ, "malformed_" + name + ".npy"))


if __name__ == "__main__":
    main()
