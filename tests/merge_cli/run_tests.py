#!/usr/bin/python3
"""End-to-end tests of blend-merge (CLI.md), run by CTest; needs only numpy (no PyPI packages).

  run_tests.py --blend-merge PATH [-k SUBSTRING]

For every config of examples/configs/, run from tests/merge_cli/data/ (which holds the tiny models):
  - blend's output has exactly the tensors (names, order, dtypes, shapes) of the independent float64
    reference (data/reference/, benchmarks/peers/merge_reference.py via make_fixtures.py) and its values
    agree within float32 rounding (1 bf16 ulp for bf16 outputs);
  - mergekit 0.1.5's output (data/mergekit/) has the same tensor names, shapes and dtypes, the same
    config.json layer count and architecture, and — for the deterministic methods — the same values
    within the tolerances of docs/methods.md (MERGEKIT_TOL below);
  - random methods (dare_*, della*) give byte-identical files for --threads 1 and 2, and differ for
    another --seed.
Then the CLI contract: exit codes and one-line errors (CLI.md), nothing under a final name after a
failure, --dry-run, --force, --out-shard-size, Hugging Face cache ids, the gradient of CLI.md, and
SIGKILL during writing. Prints one line per check; exits 1 when any fails.
"""
import argparse
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
except ImportError:  # CTest counts exit 77 as skipped
    print("numpy is missing: skipped")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DATA = os.path.join(HERE, "data")
CONFIGS = os.path.join(ROOT, "examples", "configs")
sys.path.insert(0, HERE)
import safetensors_np as st  # noqa: E402

RANDOM = {"dare_linear", "dare_ties", "della", "della_linear"}
# Max |blend - mergekit| / (1 + |mergekit|) on these float32 models: mergekit computes in float32 here, so
# the two agree to a few float32 ulps (measured: at most 1.2e-7); per-config overrides would go here.
MERGEKIT_TOL = {}
DEFAULT_TOL = 2e-6

failures = []


def check(ok, what):
    print(f"{'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        failures.append(what)
    return ok


def run(blend, args, cwd=DATA, env=None):
    return subprocess.run([blend] + args, cwd=cwd, capture_output=True, text=True, env=env)


def final_names(out_dir):
    if not os.path.isdir(out_dir):
        return []
    return sorted(f for f in os.listdir(out_dir) if not f.startswith(".blend-tmp-"))


def close(a, b, dtype, tol):
    if dtype == "BF16":
        return np.all(np.abs(a - b) <= np.abs(b) * 2.0 ** -8 * 1.0001 + 1e-30)
    return np.all(np.abs(a - b) <= tol * (1 + np.abs(b)))


def compare(label, out, expected, tol, values=True, order=True):
    names, exp_names = list(out), list(expected)
    if not check(names == exp_names if order else sorted(names) == sorted(exp_names),
                 f"{label}: tensor names{' and order' if order else ''}"):
        return
    bad = [n for n in names if out[n][0] != expected[n][0] or out[n][1].shape != expected[n][1].shape]
    check(not bad, f"{label}: dtypes and shapes {bad[:3]}")
    if values and not bad:
        worst = max(float(np.max(np.abs(out[n][1] - expected[n][1]) / (1 + np.abs(expected[n][1])))) for n in names)
        off = [n for n in names if not close(out[n][1], expected[n][1], out[n][0], tol)]
        check(not off, f"{label}: values (max rel diff {worst:.2e}) {off[:3]}")


def test_configs(blend, tmp, only):
    for path in sorted(glob.glob(os.path.join(CONFIGS, "*.yml"))):
        name = os.path.basename(path)[:-4]
        if only and only not in name:
            continue
        out = os.path.join(tmp, "out-" + name)
        r = run(blend, [path, out, "--quiet"])
        if not check(r.returncode == 0, f"{name}: blend-merge exits 0 ({r.stderr.strip()})"):
            continue
        got = st.read_model(out)
        reference = os.path.join(DATA, "reference", name + ".safetensors")
        if os.path.exists(reference):
            compare(f"{name} vs reference", got, st.read(reference)[0], 2e-6)
        mk = os.path.join(DATA, "mergekit", name + ".safetensors")
        if os.path.exists(mk):
            compare(f"{name} vs mergekit", got, st.read(mk)[0], MERGEKIT_TOL.get(name, DEFAULT_TOL),
                    values=name not in RANDOM, order=False)
            with open(os.path.join(out, "config.json")) as f:
                ours = json.load(f)
            with open(os.path.join(DATA, "mergekit", name + ".config.json")) as f:
                theirs = json.load(f)
            keys = ["architectures", "num_hidden_layers", "hidden_size", "vocab_size", "model_type"]
            check(all(ours.get(k) == theirs.get(k) for k in keys), f"{name}: config.json {keys} as mergekit's")
        check(os.path.exists(os.path.join(out, "tokenizer_config.json")), f"{name}: tokenizer files copied")
        if name in RANDOM:
            again = os.path.join(tmp, "again-" + name)
            r2 = run(blend, [path, again, "--quiet", "--threads", "1"])
            r3 = run(blend, [path, os.path.join(tmp, "seed-" + name), "--quiet", "--seed", "1", "--threads", "2"])
            same = r2.returncode == 0 and open(os.path.join(out, "model.safetensors"), "rb").read() == \
                open(os.path.join(again, "model.safetensors"), "rb").read()
            check(same, f"{name}: byte-identical for --threads 1 and the default")
            differ = r3.returncode == 0 and open(os.path.join(out, "model.safetensors"), "rb").read() != \
                open(os.path.join(tmp, "seed-" + name, "model.safetensors"), "rb").read()
            check(differ, f"{name}: --seed 1 gives other masks")


def write_config(tmp, name, text):
    path = os.path.join(tmp, name + ".yml")
    with open(path, "w") as f:
        f.write(text)
    return path


def broken_models(tmp):
    """models/missing: ft1 without one tensor; models/wide: ft1 with one tensor of another shape."""
    tensors = st.read(os.path.join(DATA, "models", "ft1", "model.safetensors"))[0]
    for kind in ["missing", "wide"]:
        d = os.path.join(tmp, "models", kind)
        os.makedirs(d, exist_ok=True)
        out = []
        for n, (t, v) in tensors.items():
            if n == "model.layers.1.mlp.up_proj.weight":
                if kind == "missing":
                    continue
                v = np.zeros((v.shape[0], v.shape[1] + 1))
            out.append((n, t, v))
        st.write(os.path.join(d, "model.safetensors"), out)
    for m in ["base", "ft1", "ft2", "ft3"]:
        os.symlink(os.path.join(DATA, "models", m), os.path.join(tmp, "models", m))


def test_errors(blend, tmp):
    work = os.path.join(tmp, "errors")
    os.makedirs(work)
    broken_models(work)
    lin = "merge_method: linear\nmodels:\n  - model: models/base\n    parameters: {weight: 1}\n  - model: %s\n    parameters: {weight: %s}\n"
    cases = [
        ("unknown key", lin % ("models/ft1", "1") + "foo: 1\n", 2, "foo: unknown key"),
        ("unknown method", "merge_method: bogus\nmodels:\n  - model: models/base\n", 2, "unknown method 'bogus'"),
        ("unknown parameter", lin % ("models/ft1", "1") + "parameters: {wieght: 1}\n", 2, "parameters.wieght: unknown parameter"),
        ("YAML syntax", "merge_method: linear\nmodels: [\n", 2, "YAML syntax error"),
        ("missing model", lin % ("models/nope", "1"), 3, "model 'models/nope'"),
        ("missing tensor", lin % ("models/missing", "1"), 3, "model.layers.1.mlp.up_proj.weight' not found"),
        ("shape mismatch", lin % ("models/wide", "1"), 3, "has shape [12, 9]"),
        ("weights sum to zero", lin % ("models/ft1", "-1"), 2, "weights sum to zero"),
        ("missing weight", "merge_method: linear\nmodels:\n  - model: models/base\n  - model: models/ft1\n", 2,
         "parameter 'weight' of model 'models/base' is required"),
        ("missing t", "merge_method: slerp\nbase_model: models/base\nmodels:\n  - model: models/base\n  - model: models/ft1\n",
         2, "parameter 't' is required"),
        ("slice lengths", "merge_method: linear\nparameters: {weight: 1}\nslices:\n  - sources:\n"
         "      - {model: models/base, layer_range: [0, 2]}\n      - {model: models/ft1, layer_range: [0, 3]}\n",
         2, "sources differ in length"),
        ("layer range", "merge_method: passthrough\nslices:\n  - sources:\n      - {model: models/base, layer_range: [2, 9]}\n",
         2, "has 4 layers"),
        ("tokenizer", lin % ("models/ft1", "1") + "tokenizer_source: base\n", 2, "tokenizer_source: not supported yet"),
        ("lora", lin % ("models/ft1+loras/x", "1"), 2, "LoRA reference 'models/ft1+loras/x' is not supported yet"),
        ("bad value", lin % ("models/ft1", "abc"), 2, "parameter 'weight' must be a number, got 'abc'"),
        ("bad dtype", lin % ("models/ft1", "1") + "dtype: int8\n", 2, "unknown dtype 'int8'"),
    ]
    for label, text, code, needle in cases:
        path = write_config(work, label.replace(" ", "_"), text)
        out = os.path.join(work, "out-" + label.replace(" ", "_"))
        r = run(blend, [path, out], cwd=work)
        lines = r.stderr.splitlines()
        check(r.returncode == code and len(lines) == 1 and lines[0].startswith("blend-merge: error: ") and needle in lines[0],
              f"error {label}: exit {r.returncode} (want {code}), stderr {r.stderr.strip()!r}")
        check(final_names(out) == [] and not (os.path.isdir(out) and os.listdir(out)), f"error {label}: nothing written")
    good = write_config(work, "good", lin % ("models/ft1", "1"))
    for label, args, code in [("no arguments", [], 2), ("unknown option", [good, "x", "--frobnicate"], 2),
                              ("bad shard size", [good, "x", "--out-shard-size", "12Q"], 2),
                              ("missing config", ["nope.yml", "x"], 3)]:
        r = run(blend, args, cwd=work)
        check(r.returncode == code and len(r.stderr.splitlines()) == 1, f"usage {label}: exit {r.returncode} (want {code})")
    check(run(blend, ["--help"]).returncode == 0, "--help exits 0")
    with open(os.path.join(work, "a_file"), "w") as f:
        f.write("x")
    r = run(blend, [good, os.path.join(work, "a_file", "out")], cwd=work)
    check(r.returncode == 1 and len(r.stderr.splitlines()) == 1 and "cannot create directory" in r.stderr,
          f"write failure (OUT_DIR under a file): exit {r.returncode} (want 1), {r.stderr.strip()!r}")
    out = os.path.join(work, "forced")
    check(run(blend, [good, out], cwd=work).returncode == 0, "first run into OUT_DIR")
    r = run(blend, [good, out], cwd=work)
    check(r.returncode == 2 and "not empty" in r.stderr, "non-empty OUT_DIR without --force: exit 2")
    check(run(blend, [good, out, "--force"], cwd=work).returncode == 0, "--force replaces the model")


def test_options(blend, tmp):
    linear = os.path.join(CONFIGS, "linear.yml")
    single, sharded = os.path.join(tmp, "single"), os.path.join(tmp, "sharded")
    run(blend, [linear, single])
    r = run(blend, [linear, sharded, "--out-shard-size", "4K"])
    files = final_names(sharded)
    shards = [f for f in files if f.startswith("model-")]
    check(r.returncode == 0 and len(shards) > 1 and "model.safetensors.index.json" in files
          and shards[0] == f"model-00001-of-{len(shards):05d}.safetensors", f"--out-shard-size 4K: {len(shards)} shards + index")
    if r.returncode == 0:
        with open(os.path.join(sharded, "model.safetensors.index.json")) as f:
            index = json.load(f)
        a, b = st.read_model(single), st.read_model(sharded)
        check(index["metadata"]["total_size"] == sum(v.size * 4 for _, v in a.values()), "index total_size")
        check(list(a) == list(b) and all(np.array_equal(a[n][1], b[n][1]) for n in a), "sharded output equals the single file")
    dry = os.path.join(tmp, "dry")
    r = run(blend, [os.path.join(CONFIGS, "slerp.yml"), dry, "--dry-run"])
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and not os.path.exists(dry) and len(lines) == 40, "--dry-run prints 39 tensors + a total, writes nothing")
    # layer 1 of 4: t = 1/3 -> self_attn 0.5 + (0.3 - 0.5) / 3, mlp 0.5 + (0.7 - 0.5) / 3, the rest 0.5
    want = {"model.layers.1.self_attn.q_proj.weight": 0.4333333333333333, "model.layers.1.mlp.up_proj.weight": 0.5666666666666667,
            "model.layers.1.input_layernorm.weight": 0.5, "model.embed_tokens.weight": 0.5}
    for tensor, t in want.items():
        line = next((x for x in lines if x.startswith(tensor + " ")), "")
        value = float(line.split("t=")[1].split()[0]) if "t=" in line else None
        check(value is not None and abs(value - t) < 1e-12, f"dry run: {tensor} t = {value} (want {t})")
    hf = os.path.join(tmp, "hf")
    snap = os.path.join(hf, "hub", "models--org--tiny", "snapshots", "0123abc")
    os.makedirs(snap)
    os.makedirs(os.path.join(hf, "hub", "models--org--tiny", "refs"))
    with open(os.path.join(hf, "hub", "models--org--tiny", "refs", "main"), "w") as f:
        f.write("0123abc")
    for f in os.listdir(os.path.join(DATA, "models", "ft1")):
        shutil.copy(os.path.join(DATA, "models", "ft1", f), snap)
    cfg = write_config(tmp, "hub", "merge_method: linear\nmodels:\n  - model: models/base\n    parameters: {weight: 0.5}\n"
                                   "  - model: org/tiny\n    parameters: {weight: 0.5}\n")
    r = run(blend, [cfg, os.path.join(tmp, "hub-out")], env=dict(os.environ, HF_HOME=hf))
    check(r.returncode == 0, f"Hugging Face id from the cache ({r.stderr.strip()})")


def test_sigkill(blend, tmp):
    """SIGKILL at several moments of a larger merge: never a file under a final name."""
    work = os.path.join(tmp, "big")
    rng = np.random.default_rng(1)
    for m in ["a", "b"]:
        os.makedirs(os.path.join(work, m))
        st.write(os.path.join(work, m, "model.safetensors"),
                 [(f"model.layers.{i}.mlp.weight", "F32", rng.random((1024, 1024), dtype=np.float32)) for i in range(24)])
    cfg = write_config(work, "sce", "merge_method: sce\nbase_model: a\nmodels:\n  - model: b\n  - model: a\n"
                                    "parameters: {select_topk: 0.5}\n")
    killed = 0
    for delay in [0.0, 0.02, 0.05, 0.1, 0.2, 0.4]:
        out = os.path.join(work, f"out-{delay}")
        p = subprocess.Popen([blend, cfg, out, "--threads", "1"], cwd=work, stderr=subprocess.DEVNULL)
        start = time.time()
        while time.time() - start < 5 and not (os.path.isdir(out) and os.listdir(out)):
            time.sleep(0.001)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        rc = p.wait()
        if rc == -signal.SIGKILL:
            killed += 1
            check(final_names(out) == [], f"SIGKILL after {delay}s: no file under a final name ({final_names(out)})")
    check(killed >= 3, f"SIGKILL landed mid-run {killed} times")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--blend-merge", required=True)
    parser.add_argument("-k", default="")
    args = parser.parse_args()
    blend = os.path.abspath(args.blend_merge)
    with tempfile.TemporaryDirectory(prefix="blend-merge-cli-") as tmp:
        test_configs(blend, tmp, args.k)
        if not args.k:
            test_errors(blend, tmp)
            test_options(blend, tmp)
            test_sigkill(blend, tmp)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
