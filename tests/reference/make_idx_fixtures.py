#!/usr/bin/python3
"""Writes the IDX fixtures of tests/io/idx.cpp with numpy (Debian 12's python3-numpy):

    /usr/bin/python3 tests/reference/make_idx_fixtures.py

tests/io/data/idx/<name>.idx        valid IDX files: header packed with struct ('>I' extents), data
                                    from numpy's big-endian dtypes ('>i2', '>f4', ...).
tests/io/data/idx/<name>.npy        the same array saved by np.save (little-endian): what blend's
                                    parse_idx must produce, byte for byte (numpy does the byte swap,
                                    independently of blend).
tests/io/data/idx/malformed/*.idx   files blend must reject; the expected message fragments are in the
                                    test.
tests/fuzz/corpus/idx/              seed corpus for tests/fuzz/idx.cpp (copies of all of the above).

Format: Y. LeCun et al., "THE MNIST DATABASE", section "FILE FORMATS FOR THE MNIST DATABASE".
"""
import os
import shutil
import struct

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "io", "data", "idx")
BAD = os.path.join(OUT, "malformed")
FUZZ = os.path.join(ROOT, "fuzz", "corpus", "idx")

CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}


def idx_bytes(array):
    """IDX encoding of a numpy array: 0, 0, type code, rank, big-endian extents, big-endian data."""
    kind = array.dtype.str[1:]
    header = bytes([0, 0, CODES[kind], array.ndim]) + b"".join(struct.pack(">I", e) for e in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes(order="C")


VALID = {
    "u8_2x3": np.array([[0, 1, 2], [127, 128, 255]], dtype=np.uint8),
    "i8_4": np.array([-128, -1, 0, 127], dtype=np.int8),
    "i16_2x2": np.array([[-300, 1], [256, -32768]], dtype=np.int16),
    "i32_3": np.array([-(2**31), 1, 2**31 - 1], dtype=np.int32),
    "f32_2x1x2": np.array([[[1.5, -0.25]], [[3.0e10, np.float32(2.0**-149)]]], dtype=np.float32),
    "f64_2": np.array([np.pi, -1e-300], dtype=np.float64),
    "u8_0x5": np.zeros((0, 5), dtype=np.uint8),
    "u8_images_2x4x4": (np.arange(32, dtype=np.uint32) * 37 % 256).astype(np.uint8).reshape(2, 4, 4),
}


def malformed():
    good = idx_bytes(VALID["i16_2x2"])
    return {
        "too_short": b"\x00\x00\x08",
        "bad_magic": b"\x01\x00" + good[2:],
        "unknown_type": b"\x00\x00\x0a\x01" + struct.pack(">I", 1) + b"\x00",
        "no_dimensions": b"\x00\x00\x08\x00\x2a",
        "extents_truncated": b"\x00\x00\x08\x03" + struct.pack(">I", 2) + b"\x00\x00",
        "negative_extent": b"\x00\x00\x08\x01" + struct.pack(">I", 0x80000000),
        "data_truncated": good[:-1],
        "trailing_bytes": good + b"\x00",
        "size_overflow": b"\x00\x00\x0e\x03" + struct.pack(">III", 0x7FFFFFFF, 0x7FFFFFFF, 0x7FFFFFFF),
    }


def main():
    for d in (OUT, BAD, FUZZ):
        os.makedirs(d, exist_ok=True)
    for name, array in VALID.items():
        data = idx_bytes(array)
        with open(os.path.join(OUT, name + ".idx"), "wb") as f:
            f.write(data)
        np.save(os.path.join(OUT, name + ".npy"), array)
        # numpy reads it back: the IDX data equals the array
        back = np.frombuffer(data, dtype=array.dtype.newbyteorder(">"), offset=4 + 4 * array.ndim)
        assert np.array_equal(back.reshape(array.shape), array, equal_nan=True)
        shutil.copy(os.path.join(OUT, name + ".idx"), os.path.join(FUZZ, name + ".idx"))
    for name, data in malformed().items():
        with open(os.path.join(BAD, name + ".idx"), "wb") as f:
            f.write(data)
        shutil.copy(os.path.join(BAD, name + ".idx"), os.path.join(FUZZ, "malformed_" + name + ".idx"))


if __name__ == "__main__":
    main()
