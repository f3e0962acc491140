#!/work/venv-mk/bin/python
"""Writes the fixtures of blend-merge's end-to-end tests (tests/merge_cli/data/), for every config of
examples/configs/:

  models/{base,ft1,ft2,ft3}/   tiny Llama-shaped float32 models (4 layers, hidden 8, vocab 16) with a
                               config.json and tokenizer side files; fine-tunes = base + sparse noise.
  reference/NAME.safetensors   the independent float64 reference (benchmarks/peers/merge_reference.py,
                               planned per tensor by `plan()` below — written from mergekit's planning
                               rules, not from blend's C++), stored in the config's output dtype
                               (float32 values of the float64 result, or bf16 rounded to nearest-even).
                               Not written for the random methods (dare_*, della*): their masks come from
                               different generators.
  mergekit/NAME.safetensors    mergekit 0.1.5's own output (`mergekit-yaml --random-seed 0`), tensors in
  mergekit/NAME.config.json    mergekit's order and dtypes, and the config.json it wrote.

Run with the virtual environment holding mergekit 0.1.5 (it also has numpy and PyYAML):
  /work/venv-mk/bin/python tests/merge_cli/make_fixtures.py
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DATA = os.path.join(HERE, "data")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "benchmarks", "peers"))
import merge_reference as ref  # noqa: E402
import safetensors_np as st  # noqa: E402

MERGEKIT = os.environ.get("MERGEKIT_YAML", "/work/venv-mk/bin/mergekit-yaml")
RANDOM = {"dare_linear", "dare_ties", "della", "della_linear"}
LAYERS, HIDDEN, INTER, VOCAB = 4, 8, 12, 16


def tiny_model(rng):
    tensors = [("model.embed_tokens.weight", (VOCAB, HIDDEN))]
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        tensors += [(p + "input_layernorm.weight", (HIDDEN,)), (p + "mlp.down_proj.weight", (HIDDEN, INTER)),
                    (p + "mlp.gate_proj.weight", (INTER, HIDDEN)), (p + "mlp.up_proj.weight", (INTER, HIDDEN)),
                    (p + "post_attention_layernorm.weight", (HIDDEN,)),
                    (p + "self_attn.k_proj.weight", (HIDDEN, HIDDEN)), (p + "self_attn.o_proj.weight", (HIDDEN, HIDDEN)),
                    (p + "self_attn.q_proj.weight", (HIDDEN, HIDDEN)), (p + "self_attn.v_proj.weight", (HIDDEN, HIDDEN))]
    tensors += [("model.norm.weight", (HIDDEN,)), ("lm_head.weight", (VOCAB, HIDDEN))]
    return [(name, rng.normal(0.0, 0.5, shape).astype(np.float32)) for name, shape in tensors]


def write_models():
    rng = np.random.default_rng(20261127)
    base = tiny_model(rng)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": HIDDEN,
              "intermediate_size": INTER, "num_attention_heads": 2, "num_key_value_heads": 2,
              "num_hidden_layers": LAYERS, "vocab_size": VOCAB, "max_position_embeddings": 64,
              "rms_norm_eps": 1e-6, "tie_word_embeddings": False, "torch_dtype": "float32"}
    for k, name in enumerate(["base", "ft1", "ft2", "ft3"]):
        d = os.path.join(DATA, "models", name)
        os.makedirs(d, exist_ok=True)
        tensors = base if k == 0 else [
            (n, (v + rng.normal(0.0, 0.05, v.shape) * (rng.random(v.shape) < 0.7)).astype(np.float32)) for n, v in base]
        st.write(os.path.join(d, "model.safetensors"), [(n, "F32", v) for n, v in tensors])
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(dict(config, _name_or_path=name), f, indent=2)
            f.write("\n")
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump({"model_max_length": 64, "source": name}, f)
        with open(os.path.join(d, "special_tokens_map.json"), "w") as f:
            json.dump({"bos_token": "<s>", "eos_token": "</s>"}, f)


# ---- an independent planner (mergekit's rules: plan.py, config.py evaluate_setting) -------------------
LAYER_RE = re.compile(r"(^|\.)(layers|h|blocks)\.(\d+)\.")
BASE_METHODS = set(ref.GTA_METHODS) | {"slerp", "nuslerp", "multislerp", "model_stock", "sce", "nearswap", "ram",
                                       "ramplus_tl", "arcee_fusion"}
PER_MODEL = {"weight", "density", "gamma", "scale"}


def layer_of(name):
    m = LAYER_RE.search(name)
    return (int(m.group(3)), m.start(3), m.end(3)) if m else None


def evaluate(setting, tensor, t):
    if isinstance(setting, dict):
        setting = [setting]
    if not isinstance(setting, list):
        return setting
    if not setting:
        return None
    if all(not isinstance(e, dict) for e in setting):
        scaled = t * (len(setting) - 1)
        i0 = int(scaled)
        i1 = min(len(setting) - 1, i0 + 1)
        return (1 - (scaled - i0)) * setting[i0] + (scaled - i0) * setting[i1]
    for e in setting:
        if e.get("filter") in (None, "*") or e["filter"] in tensor:
            return evaluate(e["value"], tensor, t)
    return None


def lookup(levels, key, tensor, t):
    for level in levels:
        if level and key in level:
            v = evaluate(level[key], tensor, t)
            if v is not None:
                return v
    return None


def plan(cfg, models):
    """[(out_name, method inputs: [(model, tensor)], base index or None, shared params, per-model params)]"""
    method = cfg["merge_method"]
    base = cfg.get("base_model")
    uses_base = method in BASE_METHODS or method == "karcher"
    if "models" in cfg:
        sources = [{"model": m["model"], "parameters": m.get("parameters") or {}} for m in cfg["models"]]
        if uses_base and base and base not in [s["model"] for s in sources]:
            sources.append({"model": base, "parameters": {}})
        slices = [{"sources": sources}]
    else:
        slices = cfg["slices"]
    count = {m: 1 + max(layer_of(n)[0] for n in models[m] if layer_of(n)) for m in models}
    out = []

    def add(sl, out_name, in_names, t):
        srcs = sl["sources"]
        b = None
        if method in BASE_METHODS and base:
            b = [s["model"] for s in srcs].index(base)
        shared = {}
        for key in ["t", "lambda", "normalize", "rescale", "select_topk", "epsilon", "r", "alpha", "max_iter", "tol",
                    "nuslerp_flatten", "nuslerp_row_wise", "filter_wise", "normalize_weights", "eps"]:
            v = lookup([sl.get("parameters"), cfg.get("parameters")], key, out_name, t)
            if v is not None:
                shared[key] = v
        per = []
        for j, s in enumerate(srcs):
            if j == b:
                continue
            levels = [x.get("parameters") for x in srcs if x["model"] == s["model"]] + [sl.get("parameters"), cfg.get("parameters")]
            per.append({k: v for k in PER_MODEL for v in [lookup(levels, k, in_names[j], t)] if v is not None})
        out.append((out_name, [(s["model"], in_names[j]) for j, s in enumerate(srcs)], b, shared, per))

    def outside(sl, before):
        srcs = sl["sources"]
        refm = base if (method in BASE_METHODS and base in [s["model"] for s in srcs]) else srcs[0]["model"]
        for n in models[refm]:
            if layer_of(n) is None and (("embed" in n or "wte" in n or "wpe" in n) == before):
                add(sl, n, [n] * len(srcs), 0.0)

    outside(slices[0], True)
    k_out = 0
    for sl in slices:
        ranges = [s.get("layer_range") or [0, count[s["model"]]] for s in sl["sources"]]
        n = ranges[0][1] - ranges[0][0]
        refm_j = 0
        if method in BASE_METHODS and base in [s["model"] for s in sl["sources"]]:
            refm_j = [s["model"] for s in sl["sources"]].index(base)
        for k in range(n):
            t = k / (n - 1) if n > 1 else 1.0
            src_layer = ranges[refm_j][0] + k
            for name in models[sl["sources"][refm_j]["model"]]:
                pos = layer_of(name)
                if not pos or pos[0] != src_layer:
                    continue
                ins = [name[:pos[1]] + str(r[0] + k) + name[pos[2]:] for r in ranges]
                add(sl, name[:pos[1]] + str(k_out) + name[pos[2]:], ins, t)
            k_out += 1
    outside(slices[-1], False)
    if "models" in cfg:
        order = list(models[base if (uses_base and base) else cfg["models"][0]["model"]])
        out.sort(key=lambda e: order.index(e[0]))
    return out, k_out


def reference(cfg, models):
    method = cfg["merge_method"]
    tensors, _ = plan(cfg, models)
    result = []
    for name, inputs, b, shared, per in tensors:
        arrays = [models[m][n] for m, n in inputs]
        base = arrays[b] if b is not None else None
        xs = [a for j, a in enumerate(arrays) if j != b]
        params = dict(shared)
        for key in PER_MODEL:
            if any(key in p for p in per):
                params[key] = [p[key] for p in per]
        if method == "passthrough" and "scale" in params:
            params["scale"] = params["scale"][0]
        if method == "karcher" and base is not None:
            xs, base = [base] + xs, None
        value, _ = ref.run_method(method, xs, base, params)
        result.append((name, value))
    return result


def main():
    write_models()
    models = {}
    for name in ["base", "ft1", "ft2", "ft3"]:
        tensors = st.read(os.path.join(DATA, "models", name, "model.safetensors"))[0]
        models[f"models/{name}"] = {n: v for n, (_, v) in tensors.items()}
    os.makedirs(os.path.join(DATA, "reference"), exist_ok=True)
    os.makedirs(os.path.join(DATA, "mergekit"), exist_ok=True)
    for path in sorted(glob.glob(os.path.join(ROOT, "examples", "configs", "*.yml"))):
        name = os.path.basename(path)[:-4]
        with open(path) as f:
            cfg = yaml.safe_load(f)
        out_type = {"bfloat16": "BF16", "float32": "F32", "float64": "F64"}[cfg.get("out_dtype", cfg.get("dtype", "float32"))]
        if cfg["merge_method"] not in RANDOM:
            st.write(os.path.join(DATA, "reference", name + ".safetensors"),
                     [(n, out_type, v) for n, v in reference(cfg, models)])
        with tempfile.TemporaryDirectory() as tmp:
            with open(path) as f:  # mergekit takes "models/x" for a hub id: give it absolute paths
                text = f.read().replace("models/", os.path.join(DATA, "models") + "/")
            with open(os.path.join(tmp, "config.yml"), "w") as f:
                f.write(text)
            env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
            run = subprocess.run([MERGEKIT, os.path.join(tmp, "config.yml"), os.path.join(tmp, "out"), "--random-seed", "0", "--no-copy-tokenizer",
                                  "--quiet"], cwd=DATA, capture_output=True, text=True, env=env)
            if run.returncode != 0:
                print(f"{name}: mergekit failed:\n{run.stderr[-2000:]}")
                continue
            tensors = st.read_model(os.path.join(tmp, "out"))
            st.write(os.path.join(DATA, "mergekit", name + ".safetensors"), [(n, t, v) for n, (t, v) in tensors.items()])
            shutil.copy(os.path.join(tmp, "out", "config.json"), os.path.join(DATA, "mergekit", name + ".config.json"))
        print(f"{name}: ok")


if __name__ == "__main__":
    main()
