"""Deterministic tensors shared by make_safetensors_fixtures.py and check_safe_open.py.

The C++ side recomputes the same values in tests/io/safetensors_patterns.hpp; keep the two in step.

  integer dtypes, shape [3, 4]: [min, max, 0, 1] then, for i = 4..11, (i * 0x9E3779B97F4A7C15) mod 2^64
                                truncated to the dtype's width (two's complement for signed types)
  BOOL, shape [2, 3]:           i % 3 == 0
  float dtypes, shape [4, 4]:   [0, -0, 1, -1, +inf, -inf, nan, smallest subnormal, max, -max,
                                 smallest normal, -smallest subnormal, 0.375, -0.75, 1.5, -3]
                                (F8_E4M3 has no infinities: slots 4 and 5 hold +-max/2 = +-224)
  "scalar": F64, shape [], 0.1;  "empty": F32, shape [0, 3]
  escapes: U8 tensors [i, 255 - i] named ESCAPE_NAMES[i], metadata {"note": ESCAPE_NOTE}
  sharded model (BF16): element j of the t-th tensor (0-based, in model order) is
                                (((j + 7 t) * 37) mod 101 - 50) / 64
"""
import numpy as np
import ml_dtypes

# safetensors dtype code -> numpy dtype, in blend's enum order (include/blend/core/dtype.hpp)
DTYPES = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype(np.uint8),
    "I8": np.dtype(np.int8),
    "I16": np.dtype(np.int16),
    "U16": np.dtype(np.uint16),
    "F16": np.dtype(np.float16),
    "BF16": np.dtype(ml_dtypes.bfloat16),
    "I32": np.dtype(np.int32),
    "U32": np.dtype(np.uint32),
    "F32": np.dtype(np.float32),
    "F64": np.dtype(np.float64),
    "I64": np.dtype(np.int64),
    "U64": np.dtype(np.uint64),
    "F8_E4M3": np.dtype(ml_dtypes.float8_e4m3fn),
    "F8_E5M2": np.dtype(ml_dtypes.float8_e5m2),
}
FLOATS = {"F16", "BF16", "F32", "F64", "F8_E4M3", "F8_E5M2"}
GOLDEN = 0x9E3779B97F4A7C15


def finfo(dt):
    return ml_dtypes.finfo(dt) if dt.name in ("bfloat16", "float8_e4m3fn", "float8_e5m2") else np.finfo(dt)


def dtype_tensor(code):
    """The fixture tensor of one dtype (see the module comment)."""
    dt = DTYPES[code]
    if code == "BOOL":
        return np.array([i % 3 == 0 for i in range(6)], dtype=dt).reshape(2, 3)
    if code in FLOATS:
        fi = finfo(dt)
        sub, big, normal = float(fi.smallest_subnormal), float(fi.max), float(fi.smallest_normal)
        inf = big / 2 if code == "F8_E4M3" else np.inf
        values = [0.0, -0.0, 1.0, -1.0, inf, -inf, np.nan, sub, big, -big, normal, -sub, 0.375, -0.75, 1.5, -3.0]
        return np.array(values, dtype=np.float64).astype(dt).reshape(4, 4)
    ii = np.iinfo(dt)
    head = np.array([ii.min, ii.max, 0, 1], dtype=dt)
    tail = np.array([(i * GOLDEN) % 2**64 for i in range(4, 12)], dtype=np.uint64).astype(dt)  # wraps
    return np.concatenate([head, tail]).reshape(3, 4)


def all_dtypes_tensors():
    """name -> array: one tensor per dtype (named by its lower-case code), "scalar" and "empty"."""
    tensors = {code.lower(): dtype_tensor(code) for code in DTYPES}
    tensors["scalar"] = np.array(0.1, dtype=np.float64)
    tensors["empty"] = np.zeros((0, 3), dtype=np.float32)
    return tensors


# A small Llama-shaped BF16 model, names in sorted order (so the Python library's within-file order,
# which sorts same-dtype tensors by name, equals the model order). lm_head is larger than the shard
# limit and comes first, where huggingface_hub and blend agree on its own-shard placement.
SHARD_LIMIT = 1000
MODEL_SHAPES = [
    ("lm_head.weight", (64, 8)),
    ("model.embed_tokens.weight", (32, 8)),
    ("model.layers.0.input_layernorm.weight", (8,)),
    ("model.layers.0.mlp.down_proj.weight", (8, 24)),
    ("model.layers.0.mlp.up_proj.weight", (24, 8)),
    ("model.layers.0.self_attn.q_proj.weight", (8, 8)),
    ("model.layers.1.input_layernorm.weight", (8,)),
    ("model.layers.1.mlp.down_proj.weight", (8, 24)),
    ("model.layers.1.mlp.up_proj.weight", (24, 8)),
    ("model.layers.1.self_attn.q_proj.weight", (8, 8)),
    ("model.norm.weight", (8,)),
]


def model_tensors():
    """name -> BF16 array of the sharded model, in model order."""
    out = {}
    for t, (name, shape) in enumerate(MODEL_SHAPES):
        n = int(np.prod(shape))
        values = [(((j + 7 * t) * 37) % 101 - 50) / 64 for j in range(n)]
        out[name] = np.array(values, dtype=np.float64).astype(ml_dtypes.bfloat16).reshape(shape)
    return out


# Tensor names and a metadata value that need JSON escapes or are not ASCII.
ESCAPE_NAMES = ['we"ird\\name', "tab\tname", "ctrl\x01name", "del\x7fname", "\u00fcn\u00efc\u00f6d\u00e9", "emoji\U0001F600", "slash/name"]
ESCAPE_NOTE = 'quote" backslash\\ slash/ nl\n tab\t cr\r bs\b ff\f c1\x01 c31\x1f del\x7f \u00e9 \u65e5\u672c \U0001F600'


def escape_tensors():
    """name -> U8 array [i, 255 - i] for the i-th of ESCAPE_NAMES."""
    return {name: np.array([i, 255 - i], dtype=np.uint8) for i, name in enumerate(ESCAPE_NAMES)}
