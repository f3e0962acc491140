#!/usr/bin/python3
"""Independent reference values for blend's 16- and 8-bit float conversions (tests/core/half.cpp,
tests/core/float8.cpp). Not run by the build or CI: run it by hand and paste its output into the tests.

    /usr/bin/python3 tests/reference/dtypes_reference.py

Needs Debian 12's python3-numpy (1.24) and python3-torch (1.13; it has bfloat16 but no float8).
The float8 section also needs ml_dtypes (not packaged in Debian 12); without it that section is skipped.
The constants in the tests were produced with ml_dtypes 0.5.4 from PyPI in a venv that sees the system
packages:  python3 -m venv --system-site-packages v && v/bin/pip install ml_dtypes==0.5.4
           v/bin/python tests/reference/dtypes_reference.py

Checksums are FNV-1a 64 over the little-endian bytes of each result, in input order. NaN results are
canonicalized before hashing, because the tools differ from each other (and from blend) in NaN payloads
and quieting; the C++ tests apply the same canonicalization and check NaN sign/payload themselves:
  - widening to float32: a NaN result gets its quiet bit set (0x00400000), sign and payload kept
    (numpy and torch keep a signaling NaN signaling; blend quiets it);
  - narrowing: any NaN result becomes 0x7E00 (f16), 0x7FC0 (bf16), 0x7F (float8).

Inputs of the narrowing checksums, 2 * 2^20 float32 bit patterns (the tests generate the same):
  wide[i]   = (i * 0x9E3779B1 + 0x7F4A7C15) mod 2^32                     all of float32
  narrow[i] = 0x33000000 + (i * 0x9E3779B1) mod (0x47800000 - 0x33000000)  2^-25 .. 2^16 (f16's range)
"""
import sys

import numpy as np
import torch

try:
    import ml_dtypes
except ImportError:
    ml_dtypes = None

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
MASK64 = (1 << 64) - 1


def fnv1a64(array):
    h = FNV_OFFSET
    for byte in np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes():
        h = ((h ^ byte) * FNV_PRIME) & MASK64
    return h


def quiet_nans_u32(bits):
    bits = bits.copy()
    is_nan = (bits & 0x7FFFFFFF) > 0x7F800000
    bits[is_nan] |= 0x00400000
    return bits


def canonical(bits, is_nan, nan_value):
    bits = bits.copy()
    bits[is_nan] = nan_value
    return bits


def inputs():
    i = np.arange(1 << 20, dtype=np.uint64)
    wide = ((i * 0x9E3779B1 + 0x7F4A7C15) & 0xFFFFFFFF).astype(np.uint32)
    narrow = (0x33000000 + (i * 0x9E3779B1) % (0x47800000 - 0x33000000)).astype(np.uint32)
    return np.concatenate([wide, narrow])


def to_bf16_bits(f32):
    return torch.from_numpy(f32).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)


def bf16_bits_to_f32(bits16):
    return torch.from_numpy(bits16.view(np.int16)).view(torch.bfloat16).to(torch.float32).numpy()


TRICKY = [
    0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x40490FD0,  # 0, -0, 1, -1, 3.14159f
    0x477FE000, 0x477FE100, 0x477FEFFF, 0x477FF000, 0x47800000,  # 65504, 65505, <65520, 65520, 65536
    0x7E967699, 0x7F7FFFFF, 0x7F800000, 0xFF800000,  # 1e38, FLT_MAX, +-Inf
    0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFA00001, 0x7FFFFFFF,  # NaNs (quiet, signaling, payloads)
    0x33800000, 0x33000000, 0x33000001, 0x33C00000, 0xB3000000,  # 2^-24, 2^-25 (tie), just above, 1.5*2^-24
    0x38800000, 0x387FFFFF, 0x387FC000, 0x387FE000,  # 2^-14, below it, f16 subnormal range top
    0x00800000, 0x00000001, 0x007FFFFF, 0x80000001,  # FLT_MIN, f32 subnormals
    0x3F808000, 0x3F818000, 0x3F808001, 0x7F7F8000, 0x7F7F7FFF, 0xFF7F8000,  # bf16 ties / overflow
    0x3F801000, 0x3F803000, 0x3F801001, 0x45001000, 0x45003000,  # f16 ties: 1+2^-11, 1+3*2^-11, 2049, 2051
    0x3DCCCCCD, 0x3EAAAAAB, 0xC0200000, 0x322BCC77, 0x33A10FBA,  # 0.1, 1/3, -2.5, 1e-8, 7.5e-8
    0x43E00000, 0x43E80000, 0x43E80001, 0x43F00000, 0x43EFFFFF,  # 448, 464, 464+, 480, 480-
    0x47600000, 0x476FFFFF, 0x47700000, 0x3B000000, 0x3A800000,  # 57344, <61440, 61440, 2^-9, 2^-10
    0x37800000, 0x37000000, 0x3C800000, 0x3C7FFFFF,  # 2^-16, 2^-17, 2^-6, below 2^-6
]


def main():
    all16 = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)

    f16_wide = all16.view(np.float16).astype(np.float32).view(np.uint32)
    bf16_wide = bf16_bits_to_f32(all16).view(np.uint32)
    print(f"f16_to_f32_all   = 0x{fnv1a64(quiet_nans_u32(f16_wide)):016X}  (numpy {np.__version__})")
    print(f"bf16_to_f32_all  = 0x{fnv1a64(quiet_nans_u32(bf16_wide)):016X}  (torch {torch.__version__})")

    src = inputs()
    f32 = src.view(np.float32)
    src_nan = np.isnan(f32)
    with np.errstate(over="ignore"):
        f16 = f32.astype(np.float16).view(np.uint16)
    bf16 = to_bf16_bits(f32)
    print(f"f32_to_f16_seq   = 0x{fnv1a64(canonical(f16, src_nan, 0x7E00)):016X}")
    print(f"f32_to_bf16_seq  = 0x{fnv1a64(canonical(bf16, src_nan, 0x7FC0)):016X}")

    tricky = np.array(TRICKY, dtype=np.uint32)
    tf = tricky.view(np.float32)
    with np.errstate(over="ignore"):
        t16 = tf.astype(np.float16).view(np.uint16)
    tbf = to_bf16_bits(tf)
    t_e4 = t_e5 = None
    if ml_dtypes is not None:
        all8 = np.arange(256, dtype=np.uint8)
        e4_wide = all8.view(ml_dtypes.float8_e4m3fn).astype(np.float32).view(np.uint32)
        e5_wide = all8.view(ml_dtypes.float8_e5m2).astype(np.float32).view(np.uint32)
        print(f"e4m3_to_f32_all  = 0x{fnv1a64(canonical(e4_wide, np.isnan(e4_wide.view(np.float32)), 0x7FC00000)):016X}"
              f"  (ml_dtypes {ml_dtypes.__version__})")
        print(f"e5m2_to_f32_all  = 0x{fnv1a64(canonical(e5_wide, np.isnan(e5_wide.view(np.float32)), 0x7FC00000)):016X}")
        with np.errstate(over="ignore", invalid="ignore"):
            e4 = f32.astype(ml_dtypes.float8_e4m3fn)
            e5 = f32.astype(ml_dtypes.float8_e5m2)
            t_e4 = tf.astype(ml_dtypes.float8_e4m3fn).view(np.uint8)
            t_e5 = tf.astype(ml_dtypes.float8_e5m2).view(np.uint8)
        e4_bits = canonical(e4.view(np.uint8), np.isnan(e4.astype(np.float32)), 0x7F)
        e5_bits = canonical(e5.view(np.uint8), np.isnan(e5.astype(np.float32)), 0x7F)
        print(f"f32_to_e4m3_seq  = 0x{fnv1a64(e4_bits):016X}")
        print(f"f32_to_e5m2_seq  = 0x{fnv1a64(e5_bits):016X}")
    else:
        print("ml_dtypes not installed: float8 section skipped", file=sys.stderr)

    print("// {float32 bits, f16 (numpy), bf16 (torch), e4m3fn, e5m2 (ml_dtypes)}; NaN results: check isnan")
    for k, bits in enumerate(TRICKY):
        e4 = f"0x{int(t_e4[k]):02X}" if t_e4 is not None else "----"
        e5 = f"0x{int(t_e5[k]):02X}" if t_e5 is not None else "----"
        print(f"{{0x{bits:08X}u, 0x{int(t16[k]):04X}, 0x{int(tbf[k]):04X}, {e4}, {e5}}},  // {float(tf[k])!r}")


if __name__ == "__main__":
    main()
