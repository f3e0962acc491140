#!/usr/bin/env python3
"""Writes the merge benchmark workload (issue "Safetensors I/O and the streaming merge engine").

1 base + 3 fine-tuned models, bf16, Llama-style tensor names, 12 layers, hidden 1024, intermediate 2816,
vocabulary 8192, untied lm_head: 171,000,000-odd parameters, about 342 MB per model. Fine-tunes are the
base plus small Gaussian noise (std 1e-3; the base is N(0, 0.02), norms 1.0). Each model is a Hugging
Face style directory: model.safetensors + config.json.

Usage: /usr/bin/python3 benchmarks/make_workload.py OUT_DIR [--layers 12] [--seed 0]
Needs numpy only. The safetensors files are written by hand following the public format (8-byte
little-endian header length, JSON header, data), so the generator does not depend on the library.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

HIDDEN, INTERMEDIATE, VOCAB = 1024, 2816, 8192


def tensor_shapes(layers):
    yield "model.embed_tokens.weight", (VOCAB, HIDDEN)
    for i in range(layers):
        p = f"model.layers.{i}."
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            yield p + f"self_attn.{proj}.weight", (HIDDEN, HIDDEN)
        yield p + "mlp.gate_proj.weight", (INTERMEDIATE, HIDDEN)
        yield p + "mlp.up_proj.weight", (INTERMEDIATE, HIDDEN)
        yield p + "mlp.down_proj.weight", (HIDDEN, INTERMEDIATE)
        yield p + "input_layernorm.weight", (HIDDEN,)
        yield p + "post_attention_layernorm.weight", (HIDDEN,)
    yield "model.norm.weight", (HIDDEN,)
    yield "lm_head.weight", (VOCAB, HIDDEN)


def to_bf16_bits(x):
    """float32 -> bfloat16 bit patterns, round to nearest even (no NaNs occur here)."""
    bits = x.astype(np.float32).view(np.uint32)
    rounding = ((bits >> 16) & 1) + np.uint32(0x7FFF)
    return ((bits + rounding) >> 16).astype(np.uint16)


def write_model(directory, layers, rng, base):
    """Writes one model; `base` maps name -> float32 array (None: this is the base, generate it)."""
    os.makedirs(directory, exist_ok=True)
    shapes = list(tensor_shapes(layers))
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in shapes:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    generated = {}
    path = os.path.join(directory, "model.safetensors")
    with open(path + ".partial", "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name, shape in shapes:
            if base is None:
                values = np.ones(shape, np.float32) if name.endswith("norm.weight") else \
                    rng.normal(0.0, 0.02, size=shape).astype(np.float32)
                generated[name] = values
            else:
                values = base[name] + rng.normal(0.0, 1e-3, size=shape).astype(np.float32)
            f.write(to_bf16_bits(values).tobytes())
    os.replace(path + ".partial", path)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": HIDDEN,
              "intermediate_size": INTERMEDIATE, "num_hidden_layers": layers, "num_attention_heads": 16,
              "num_key_value_heads": 16, "vocab_size": VOCAB, "tie_word_embeddings": False,
              "torch_dtype": "bfloat16", "rms_norm_eps": 1e-5}
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    return generated


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    base = write_model(os.path.join(args.out_dir, "base"), args.layers, rng, None)
    for k in (1, 2, 3):
        write_model(os.path.join(args.out_dir, f"ft{k}"), args.layers, rng, base)
    print(f"workload written to {args.out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
