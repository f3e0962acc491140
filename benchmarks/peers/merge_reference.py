#!/usr/bin/python3
"""Independent float64 reference implementation of blend's data-free merge methods.

Every function below follows ../../../shared/METHODS.md section 1 (the contract) and, where that file
says "as mergekit defines them", mergekit's formulas (see MERGEKIT_NOTES.md beside this file for the
exact mergekit algorithms, its defaults, precision, randomness and bugs). Nothing here is derived from
blend's C++ code, and no mergekit code is copied: the formulas are re-written from their definitions.

All arithmetic is float64 numpy. Inputs are float32 or float64 .npy files (a bf16 tensor arrives as
its float32 values); the result is written as float64.

Random methods (dare_*, della*) take their keep-masks as INPUTS (one boolean array per non-base
model, same shape as the tensor), so blend and this script can be compared given the same mask. The
keep probabilities (dare: density everywhere; della: per-row rank-linear) are computed here too and
can be written with --probs-out for statistical checks. Without --mask, a mask is drawn with numpy's
generator seeded by params["seed"] (default 0) -- NOT blend's counter-based generator.

Usage:
  /usr/bin/python3 merge_reference.py METHOD --inputs a.npy b.npy ... [--base base.npy]
        [--params JSON] [--mask m1.npy m2.npy ...] [--subsample idx.npy] [--probs-out p.npy]
        --out out.npy
  /usr/bin/python3 merge_reference.py --self-test
  /usr/bin/python3 merge_reference.py --list

METHOD is one of: linear task_arithmetic ties dare_linear dare_ties breadcrumbs breadcrumbs_ties
della della_linear slerp nuslerp multislerp karcher model_stock sce nearswap ram ramplus_tl
arcee_fusion passthrough ema swa.
  - Methods with a base (GTA family, slerp, model_stock, sce, nearswap, ram*, arcee_fusion, and
    optionally nuslerp / multislerp) take it with --base; --inputs are the other models in config
    order. linear and karcher have no base: a base listed in the config is one more --inputs entry.
  - ema / swa: --inputs are the checkpoints theta_1..theta_T in training order; the result is the
    final running average.
  - --params is a JSON object with mergekit's parameter names (CLI.md). Per-model parameters
    (weight, density, gamma, epsilon for della*) are a number (all models) or a list (one per input).
Exit codes: 0 ok, 2 invalid parameter / usage, 3 unreadable input or shape mismatch, 1 self-test failure.
"""
import argparse
import json
import math
import sys

import numpy as np

F64 = np.float64


class ParamError(ValueError):
    """An invalid parameter value (exit 2)."""


class InputError(ValueError):
    """A bad input tensor: shape mismatch, NaN/Inf, unreadable file (exit 3)."""


# ============================================================================================
# Shared selection rules
# ============================================================================================

def rank_desc(a):
    """Rank of every entry of |a| in the single total order used by all selection rules.

    Rank 0 is the "largest" entry. Entry j outranks entry i iff |a_j| > |a_i|, or |a_j| == |a_i| and
    j < i (the lowest flat index counts as larger among equal magnitudes -- METHODS.md's stable rule).
    Returns an int64 array of a's shape.
    """
    mag = np.abs(np.asarray(a, dtype=F64)).ravel()
    order = np.argsort(-mag, kind="stable")  # descending |a|, ties by ascending flat index
    ranks = np.empty(mag.size, dtype=np.int64)
    ranks[order] = np.arange(mag.size)
    return ranks.reshape(np.shape(a))


def topk_count(density, n):
    """k = floor(density * n), with density * n evaluated in double precision exactly as Python's
    int(density * n) (so density 0.29, n 100 gives 28, not 29)."""
    return int(math.floor(float(density) * float(n)))


def magnitude_mask(d, density):
    """Magnitude top-k ("magnitude", ties): keep exactly k = floor(density*n) entries with the largest
    |d|; among equal magnitudes the lowest flat index first. density >= 1 keeps all; k == 0 keeps none
    (mergekit asserts k > 0 instead)."""
    d = np.asarray(d, dtype=F64)
    if density >= 1:
        return np.ones(d.shape, dtype=bool)
    k = topk_count(density, d.size)
    return rank_desc(d) < k


def breadcrumbs_mask(d, density, gamma):
    """Model Breadcrumbs ("magnitude_outliers"): n = numel, target = floor(density*n),
    n_top = floor(gamma*n), n_bot = n - target - n_top; if n_bot < 0 then n_top += n_bot, n_bot = 0.
    Drop the n_top largest |d| and the n_bot smallest; i.e. keep ranks [n_top, n_top + target) in the
    rank_desc order. If n_top == 0, drop no large ones: keep the `target` largest (mergekit zeroes the
    whole tensor there via indices[n_bot:-0]; METHODS.md deliberately does not). density >= 1 keeps all.
    """
    d = np.asarray(d, dtype=F64)
    if density >= 1:
        return np.ones(d.shape, dtype=bool)
    n = d.size
    target = topk_count(density, n)
    n_top = topk_count(gamma, n)
    n_bot = n - target - n_top
    if n_bot < 0:
        n_top += n_bot
        n_bot = 0
    r = rank_desc(d)
    return (r >= n_top) & (r < n - n_bot)


def della_keep_probs(d, density, epsilon):
    """DELLA (MAGPRUNE) keep probabilities, per row (rows along the LAST axis; a 1-D tensor is one row;
    a 0-D tensor is one 1-element row). Within a row of m entries, with r = ascending magnitude rank
    (0 = smallest |d|; among equal magnitudes the lower index counts as larger, as in rank_desc):
        p = (density - epsilon) + 2 * epsilon * r / (m - 1)
    i.e. linear from density-epsilon (smallest) to density+epsilon (largest). A 1-element row keeps with
    probability `density` (mergekit yields 0/0 = NaN there and torch.bernoulli fails).
    density >= 1 -> all 1; density == 0 -> all 0; otherwise density-epsilon <= 0 or
    density+epsilon >= 1 is an error.
    (mergekit ranks along dim 1 for >= 3-D tensors; METHODS.md says the last axis -- we follow METHODS.)
    """
    d = np.asarray(d, dtype=F64)
    if density >= 1:
        return np.ones(d.shape, dtype=F64)
    if density == 0:
        return np.zeros(d.shape, dtype=F64)
    if density < 0:
        raise ParamError(f"density must be >= 0, got {density}")
    if density - epsilon <= 0 or density + epsilon >= 1:
        raise ParamError(
            f"della: density +/- epsilon must lie in (0, 1) (density {density}, epsilon {epsilon})")
    rows = d.reshape(-1, d.shape[-1]) if d.ndim >= 1 else d.reshape(1, 1)
    m = rows.shape[1]
    probs = np.empty(rows.shape, dtype=F64)
    if m == 1:
        probs[:] = density
    else:
        for i in range(rows.shape[0]):
            r_asc = (m - 1) - rank_desc(rows[i])
            probs[i] = (density - epsilon) + 2.0 * epsilon * (r_asc / (m - 1))
    return probs.reshape(d.shape)


def dare_keep_probs(d, density):
    """DARE keep probability: Bernoulli(density) for every entry; density >= 1 keeps all."""
    d = np.asarray(d, dtype=F64)
    if density < 0:
        raise ParamError(f"density must be >= 0, got {density}")
    return np.full(d.shape, min(float(density), 1.0), dtype=F64)


def draw_mask(probs, rng):
    """A Bernoulli draw of a keep-mask from keep probabilities (u < p with u ~ U[0,1)). Only for this
    script's own statistics: blend uses its counter-based generator keyed by (seed, tensor, model)."""
    return rng.random(np.shape(probs)) < probs


def rescale_kept(d, mask, mode, probs=None):
    """Apply a keep-mask and rescale (the `rescale` parameter):
      none            -> d * mask
      l1              -> (d * mask) * sum|d| / sum|d*mask|, skipped (plain d*mask) when either sum < 1e-7
                         (mergekit's rescaled_masked_tensor with RescaleNorm.l1, eps 1e-7; the sums are
                         over the whole tensor)
      inverse_density -> each kept entry / its keep probability (DARE: density; DELLA: p_j; for the
                         deterministic magnitude / breadcrumbs rules `probs` is density everywhere)
    """
    d = np.asarray(d, dtype=F64)
    kept = np.where(mask, d, 0.0)
    if mode == "none":
        return kept
    if mode == "l1":
        before = np.abs(d).sum()
        after = np.abs(kept).sum()
        if before < 1e-7 or after < 1e-7:
            return kept
        return kept * (before / after)
    if mode == "inverse_density":
        p = np.broadcast_to(np.asarray(probs, dtype=F64), d.shape)
        out = np.zeros(d.shape, dtype=F64)
        sel = mask & (p > 0)
        out[sel] = d[sel] / p[sel]
        return out
    raise ParamError(f"unknown rescale mode {mode!r}")


def parse_rescale(value):
    """mergekit's boolean (true means l1) or one of l1 / inverse_density / none."""
    if value is True:
        return "l1"
    if value is False or value is None:
        return "none"
    if value in ("l1", "inverse_density", "none"):
        return value
    raise ParamError(f"rescale must be a boolean or one of l1, inverse_density, none; got {value!r}")


# ============================================================================================
# Weighted average
# ============================================================================================

def linear(xs, weights, normalize=True):
    """linear (model soup): result = sum_i w_i X_i / sum_i w_i when normalize (default true), else
    sum_i w_i X_i. If normalize and |sum w| < 1e-8: error "weights sum to zero" (mergekit yields
    inf/NaN)."""
    xs = [np.asarray(x, dtype=F64) for x in xs]
    w = np.asarray(weights, dtype=F64)
    acc = np.zeros(xs[0].shape, dtype=F64)
    for wi, x in zip(w, xs):
        acc += wi * x
    if normalize:
        s = w.sum()
        if abs(s) < 1e-8:
            raise ParamError("weights sum to zero")
        acc = acc / s
    return acc


# ============================================================================================
# Generalized task arithmetic
# ============================================================================================

GTA_METHODS = {
    # name: (sparsification rule, consensus default, normalize default, rescale default)
    "task_arithmetic": (None, None, False, "none"),
    "ties": ("magnitude", "sum", True, "none"),
    "dare_linear": ("random", None, False, "l1"),
    "dare_ties": ("random", "sum", False, "l1"),
    "breadcrumbs": ("magnitude_outliers", None, False, "none"),
    "breadcrumbs_ties": ("magnitude_outliers", "sum", False, "none"),
    "della": ("della_magprune", "sum", True, "l1"),
    "della_linear": ("della_magprune", None, False, "l1"),
}


def keep_probs_for(rule, d, density, gamma=0.01, epsilon=0.15):
    """The keep probability of every entry under a sparsification rule (1/0 for the deterministic
    rules, density / rank-linear for the random ones)."""
    if rule is None:
        return np.ones(np.shape(d), dtype=F64)
    if rule == "magnitude":
        return magnitude_mask(d, density).astype(F64)
    if rule == "magnitude_outliers":
        return breadcrumbs_mask(d, density, gamma).astype(F64)
    if rule == "random":
        return dare_keep_probs(d, density)
    if rule == "della_magprune":
        return della_keep_probs(d, density, epsilon)
    raise ParamError(rule)


def sparsify(rule, d, density, rescale, gamma=0.01, epsilon=0.15, mask=None, rng=None):
    """Step 1 of the GTA engine: sparsify one task vector d.
    magnitude -> magnitude_mask; random (DARE) -> Bernoulli(density); magnitude_outliers -> breadcrumbs;
    della_magprune -> Bernoulli(della_keep_probs); then rescale_kept(mode). density >= 1 returns d
    unchanged for every rule (no mask, no rescale), as mergekit. density < 0 is an error.
    For the random rules `mask` (bool, d's shape) is the Bernoulli outcome; when None it is drawn
    with `rng`."""
    d = np.asarray(d, dtype=F64)
    if rule is None or density >= 1:
        return d.copy()
    if density < 0:
        raise ParamError(f"density must be >= 0, got {density}")
    if rule in ("magnitude", "magnitude_outliers"):
        m = keep_probs_for(rule, d, density, gamma, epsilon) > 0
        return rescale_kept(d, m, rescale, np.full(d.shape, float(density)))
    probs = keep_probs_for(rule, d, density, gamma, epsilon)
    if mask is None:
        mask = draw_mask(probs, rng if rng is not None else np.random.default_rng(0))
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != d.shape:
        raise InputError(f"mask shape {mask.shape} differs from tensor shape {d.shape}")
    return rescale_kept(d, mask, rescale, probs)


def consensus_mask(wd, method):
    """TIES sign election on the weighted deltas wd (shape (N, ...)):
    s = +1 if sum_i wd_i >= 0 else -1 ("sum"), or by the sum of signs ("count": s = +1 if
    sum_i sign(wd_i) >= 0). mask_i = (sign(wd_i) == s); zeros never match."""
    sg = np.sign(wd)
    if method == "sum":
        s = np.where(wd.sum(axis=0) >= 0, 1.0, -1.0)
    elif method == "count":
        s = np.where(sg.sum(axis=0) >= 0, 1.0, -1.0)
    else:
        raise ParamError(f"consensus must be sum or count, got {method!r}")
    return sg == s


def gta(method, base, xs, weight, density=1.0, gamma=0.01, epsilon=0.15, lambda_=1.0,
        normalize=None, rescale=None, consensus="default", masks=None, rng=None):
    """Generalized task arithmetic (task_arithmetic, ties, dare_*, breadcrumbs*, della*):
      1. d_i = X_i - B, sparsified by the method's rule (see sparsify) with per-model density
         (default 1), gamma (0.01), epsilon (0.15), then rescaled (default l1 for dare_*/della*, none
         otherwise).
      2. wd_i = w_i * d_i.
      3. With consensus (ties, dare_ties, breadcrumbs_ties, della; `sum` default or `count`):
         mask_i = consensus_mask; mixed = sum_i wd_i mask_i; divisor = sum_i w_i mask_i (== 0 -> 1).
         Without: mixed = sum_i wd_i; divisor = sum_i w_i (|.| < 1e-8 -> 1).
      4. If normalize (default true for ties and della only): mixed /= divisor.
      5. result = B + lambda * mixed.
    weight/density/gamma/epsilon: scalar or one value per model. masks: list of bool arrays (random
    rules only) or None."""
    rule, cons_default, norm_default, resc_default = GTA_METHODS[method]
    base = np.asarray(base, dtype=F64)
    n = len(xs)
    per = lambda v: list(v) if isinstance(v, (list, tuple, np.ndarray)) else [v] * n
    weight, density, gamma, epsilon = per(weight), per(density), per(gamma), per(epsilon)
    for name, v in (("weight", weight), ("density", density), ("gamma", gamma), ("epsilon", epsilon)):
        if len(v) != n:
            raise ParamError(f"{name}: {len(v)} values for {n} models")
    normalize = norm_default if normalize is None else bool(normalize)
    rescale = resc_default if rescale is None else parse_rescale(rescale)
    consensus = cons_default if consensus == "default" else consensus
    if masks is not None and rule not in ("random", "della_magprune"):
        raise ParamError(f"{method} is deterministic: it takes no mask")
    if masks is not None and len(masks) != n:
        raise ParamError(f"{len(masks)} masks for {n} models")
    if rng is None:
        rng = np.random.default_rng(0)
    deltas = []
    for i, x in enumerate(xs):
        x = np.asarray(x, dtype=F64)
        if x.shape != base.shape:
            raise InputError(f"model {i}: shape {x.shape} differs from the base's {base.shape}")
        deltas.append(sparsify(rule, x - base, density[i], rescale, gamma[i], epsilon[i],
                               None if masks is None else masks[i], rng))
    w = np.asarray(weight, dtype=F64).reshape((n,) + (1,) * base.ndim)
    d = np.stack(deltas) if n else np.zeros((0,) + base.shape)
    wd = w * d
    if consensus is not None:
        m = consensus_mask(wd, consensus)
        mixed = (wd * m).sum(axis=0)
        divisor = (w * m).sum(axis=0)
        divisor = np.where(divisor == 0, 1.0, divisor)
    else:
        mixed = wd.sum(axis=0)
        divisor = np.broadcast_to(w.sum(axis=0), base.shape)
        divisor = np.where(np.abs(divisor) < 1e-8, 1.0, divisor)
    if normalize:
        mixed = mixed / divisor
    return base + float(lambda_) * mixed


def gta_keep_probs(method, base, xs, density=1.0, gamma=0.01, epsilon=0.15):
    """Keep probabilities (N, *shape) of each model's task-vector entries under the method's rule."""
    rule = GTA_METHODS[method][0]
    n = len(xs)
    per = lambda v: list(v) if isinstance(v, (list, tuple, np.ndarray)) else [v] * n
    density, gamma, epsilon = per(density), per(gamma), per(epsilon)
    base = np.asarray(base, dtype=F64)
    return np.stack([keep_probs_for(rule, np.asarray(x, F64) - base, density[i], gamma[i], epsilon[i])
                     for i, x in enumerate(xs)])


# ============================================================================================
# Spherical methods
# ============================================================================================

def slerp(base, x, t):
    """slerp (2 models, t; t = 0 gives the base v0 = B, t = 1 gives v1 = X). Flatten;
    u = v/|v| when |v| > 1e-8 (else u = v); dot = u0.u1; if |dot| > 0.9995 -> lerp (1-t) v0 + t v1;
    else theta = acos(dot), result = sin((1-t) theta)/sin(theta) v0 + sin(t theta)/sin(theta) v1 on the
    unnormalized v."""
    v0 = np.asarray(base, dtype=F64)
    v1 = np.asarray(x, dtype=F64)
    t = float(t)
    n0, n1 = np.linalg.norm(v0.ravel()), np.linalg.norm(v1.ravel())
    u0 = v0 / n0 if n0 > 1e-8 else v0
    u1 = v1 / n1 if n1 > 1e-8 else v1
    dot = float(np.sum(u0 * u1))
    if abs(dot) > 0.9995:
        return (1 - t) * v0 + t * v1
    theta = math.acos(dot)
    s = math.sin(theta)
    return (math.sin((1 - t) * theta) / s) * v0 + (math.sin(t * theta) / s) * v1


def nuslerp_t(wa, wb):
    """nuslerp's interpolation factor: t = w_b / (w_a + w_b), 0.5 if |w_a + w_b| < 1e-6."""
    s = wa + wb
    return 0.5 if abs(s) < 1e-6 else wb / s


def nuslerp(a, b, weights, base=None, flatten=True, row_wise=False):
    """nuslerp: exactly two models a, b (config order) with weights (w_a, w_b); t = nuslerp_t.
    With a base: result = B + nuslerp(t, a - B, b - B). Vectors: nuslerp_flatten (default true) -> the
    whole tensor is one vector; else each row along the last axis, or with nuslerp_row_wise: true each
    vector along axis 0 (mergekit swaps axes 0 and -1; for a matrix these are its columns).
    Per vector: u = v / max(|v|, 1e-7); theta = acos(clamp(u0.u1, -1, 1));
    result = (sin((1-t) theta) v0 + sin(t theta) v1) / sin(theta), or (1-t) v0 + t v1 where
    |sin theta| < 1e-8 (colinear)."""
    a = np.asarray(a, dtype=F64)
    b = np.asarray(b, dtype=F64)
    if a.shape != b.shape:
        raise InputError(f"nuslerp: shapes {a.shape} and {b.shape} differ")
    t = nuslerp_t(float(weights[0]), float(weights[1]))
    if base is not None:
        base = np.asarray(base, dtype=F64)
        return base + nuslerp(a - base, b - base, weights, None, flatten, row_wise)
    shape = a.shape
    if flatten or a.ndim == 0:
        v0, v1 = a.reshape(1, -1), b.reshape(1, -1)
    elif row_wise:
        v0, v1 = np.swapaxes(a, 0, -1), np.swapaxes(b, 0, -1)
    else:
        v0, v1 = a, b
    tshape = v0.shape
    v0 = v0.reshape(-1, tshape[-1])
    v1 = v1.reshape(-1, tshape[-1])
    n0 = np.maximum(np.linalg.norm(v0, axis=-1, keepdims=True), 1e-7)
    n1 = np.maximum(np.linalg.norm(v1, axis=-1, keepdims=True), 1e-7)
    cos = np.clip(np.sum((v0 / n0) * (v1 / n1), axis=-1, keepdims=True), -1.0, 1.0)
    theta = np.arccos(cos)
    sin = np.sin(theta)
    colinear = np.abs(sin) < 1e-8
    safe = np.where(colinear, 1.0, sin)
    res = (np.sin((1 - t) * theta) * v0 + np.sin(t * theta) * v1) / safe
    res = np.where(colinear, (1 - t) * v0 + t * v1, res)
    res = res.reshape(tshape)
    if not flatten and row_wise and a.ndim > 0:
        res = np.swapaxes(res, 0, -1)
    return res.reshape(shape)


def multislerp(xs, weights, base=None, normalize_weights=True, eps=1e-8):
    """multislerp (mergekit multislerp.py): barycentric interpolation on the hypersphere.
    One input -> returned as is. v_i = X_i (- B with a base), flattened; w = weights, divided by their
    sum when normalize_weights (default true; |sum| < 1e-8 is an error here -- mergekit yields inf/NaN).
    n_i = |v_i|; u_i = v_i / (n_i + eps)            (eps = 1e-8, added, not clamped)
    m = sum_i w_i u_i; if |m| < eps: two inputs -> sum_i w_i v_i (+ B) (linear fallback), more -> error;
    m = m / |m|; tangent_i = u_i - (u_i.m) m; T = sum_i w_i tangent_i; tn = |T| + eps;
    r = m cos(tn) + T sin(tn) / tn; result = r * sum_i w_i n_i (+ B)."""
    if len(xs) == 1:
        return np.asarray(xs[0], dtype=F64).copy()
    base = None if base is None else np.asarray(base, dtype=F64)
    vs = np.stack([np.asarray(x, dtype=F64) for x in xs])
    shape = vs.shape[1:]
    if base is not None:
        vs = vs - base
    flat = vs.reshape(len(xs), -1)
    w = np.asarray(weights, dtype=F64)
    if normalize_weights:
        s = w.sum()
        if abs(s) < 1e-8:
            raise ParamError("weights sum to zero")
        w = w / s
    norms = np.linalg.norm(flat, axis=1)
    units = flat / (norms[:, None] + eps)
    mean = (w[:, None] * units).sum(axis=0)
    mnorm = np.linalg.norm(mean)
    if mnorm < eps:
        if len(xs) == 2:
            res = (w[0] * vs[0] + w[1] * vs[1]).reshape(shape)
            return res + base if base is not None else res
        raise ParamError("multislerp: the weighted sum of the unit inputs is zero (antipodal inputs)")
    mean = mean / mnorm
    dots = units @ mean
    tangents = units - dots[:, None] * mean[None, :]
    tres = (w[:, None] * tangents).sum(axis=0)
    tn = np.linalg.norm(tres) + eps
    res = mean * math.cos(tn) + tres * (math.sin(tn) / tn)
    res = (res * float((norms * w).sum())).reshape(shape)
    return res + base if base is not None else res


def karcher(xs, max_iter=10, tol=1e-5):
    """karcher (mergekit karcher.py): Riemannian (Karcher) mean on the unit sphere with uniform weights
    alpha_i = 1/N over ALL inputs (a base listed in the config is just one more input).
    n_i = |X_i| (flattened), u_i = X_i / n_i (0 when n_i == 0). Valid inputs: n_i > tol; none -> zeros.
    a_i = alpha_i / sum_valid alpha. Start: u = sum a_i u_i normalised (if its norm < tol: u = first
    valid u_i). Repeat max_iter (10) times: T = sum over valid i with theta_i = acos(clamp(u.u_i,-1,1))
    >= tol of a_i * theta_i / sin(theta_i) * (u_i - cos_i u); stop if |T| < tol (1e-5); else
    u = cos|T| u + sin|T| T/|T|, then u /= |u| if |u| > tol. Result = (sum_i alpha_i n_i) * u
    (all inputs, including those with tiny norms)."""
    xs = [np.asarray(x, dtype=F64) for x in xs]
    if len(xs) == 1:
        return xs[0].copy()
    shape = xs[0].shape
    alphas = [1.0 / len(xs)] * len(xs)
    norms, units = [], []
    for x in xs:
        n = float(np.linalg.norm(x.ravel()))
        norms.append(n)
        units.append(np.zeros(x.size) if n == 0.0 else x.ravel() / n)
    valid = [i for i, n in enumerate(norms) if n > tol]
    if not valid:
        return np.zeros(shape, dtype=F64)
    asum = sum(alphas[i] for i in valid)
    a = [alphas[i] / asum for i in valid]
    us = [units[i] for i in valid]
    u = sum(ai * ui for ai, ui in zip(a, us))
    nu = float(np.linalg.norm(u))
    u = us[0].copy() if nu < tol else u / nu
    for _ in range(int(max_iter)):
        T = np.zeros_like(u)
        for ai, ui in zip(a, us):
            c = min(max(float(u @ ui), -1.0), 1.0)
            th = math.acos(c)
            if th < tol:
                continue
            T += ai * (th / math.sin(th)) * (ui - c * u)
        nT = float(np.linalg.norm(T))
        if nT < tol:
            break
        u = math.cos(nT) * u + math.sin(nT) * (T / nT)
        nu = float(np.linalg.norm(u))
        if nu > tol:
            u = u / nu
    s = sum(al * n for al, n in zip(alphas, norms))
    return (s * u).reshape(shape)


# ============================================================================================
# Other mergekit methods
# ============================================================================================

def model_stock(base, xs, filter_wise=False):
    """model_stock (mergekit model_stock.py): N = number of non-base models (>= 2 required).
    Offsets o_i = X_i - B: flattened to one vector, or with filter_wise each row along the last axis
    (a 1-D tensor is one row). cos_ij = (o_i.o_j) / max(|o_i||o_j|, 1e-6), clamped to [-1, 1];
    cos = mean over pairs i < j; t = N cos / (1 + (N-1) cos) (per row with filter_wise), except
    t = 0 (keep the base) where |1 + (N-1) cos| < 1e-6 (mergekit 0.1.5's singularity rule; 0.1.4
    divided by zero there); result = t * mean_i(X_i) + (1 - t) * B."""
    base = np.asarray(base, dtype=F64)
    xs = [np.asarray(x, dtype=F64) for x in xs]
    if len(xs) < 2:
        raise ParamError("model_stock needs a base plus at least two models")
    for x in xs:
        if x.shape != base.shape:
            raise InputError(f"model_stock: shape {x.shape} differs from the base's {base.shape}")
    shape = base.shape
    if filter_wise and base.ndim >= 1:
        rows = lambda v: v.reshape(-1, shape[-1])
    else:
        rows = lambda v: v.reshape(1, -1)
    b = rows(base)
    ws = [rows(x) for x in xs]
    offs = [w - b for w in ws]
    coss = []
    for i in range(len(offs)):
        for j in range(i + 1, len(offs)):
            num = np.sum(offs[i] * offs[j], axis=-1)
            den = np.maximum(np.linalg.norm(offs[i], axis=-1) * np.linalg.norm(offs[j], axis=-1), 1e-6)
            coss.append(np.clip(num / den, -1.0, 1.0))
    cos = np.mean(np.stack(coss), axis=0)[:, None]
    n = len(xs)
    den = 1 + (n - 1) * cos
    singular = np.abs(den) < 1e-6
    t = np.where(singular, 0.0, (n * cos) / np.where(singular, 1.0, den))
    avg = sum(ws) / n
    return (t * avg + (1 - t) * b).reshape(shape)


def sce(base, xs, select_topk=1.0):
    """sce (mergekit sce.py), Select-Calculate-Erase:
      tv_i = X_i - B.
      Select (only if select_topk < 1): var = population variance over models of each position;
        select_topk <= 0 -> all positions zeroed; else k = floor(count_nonzero(var) * select_topk);
        k == 0 -> all zeroed; else keep the k positions of largest var (ties: lowest flat index first,
        rank_desc order); tv_i *= mask.
      Calculate: w_i = mean(tv_i^2); if |sum w| < 1e-6 (absolute!) -> w_i = 1/N else w_i /= sum w.
      Erase: TIES "sum" sign election on the UNWEIGHTED tv_i: e_i = (sign(tv_i) == s),
        s = +1 if sum_i tv_i >= 0.
      result = B + sum_i w_i e_i tv_i / max(sum_i w_i e_i, 1e-6)."""
    base = np.asarray(base, dtype=F64)
    if not xs:
        return base.copy()
    tv = np.stack([np.asarray(x, dtype=F64) - base for x in xs])
    n = len(xs)
    if select_topk < 1:
        if select_topk <= 0:
            keep = np.zeros(base.shape, dtype=bool)
        else:
            var = tv.var(axis=0)
            k = topk_count(select_topk, int(np.count_nonzero(var)))
            keep = (rank_desc(var) < k) if k > 0 else np.zeros(base.shape, dtype=bool)
        tv = tv * keep
    ms = (tv ** 2).reshape(n, -1).mean(axis=1) if base.size else np.zeros(n)
    s = float(ms.sum())
    w = np.full(n, 1.0 / n) if abs(s) < 1e-6 else ms / s
    w = w.reshape((n,) + (1,) * base.ndim)
    e = consensus_mask(tv, "sum")
    ew = w * e
    merged = (tv * ew).sum(axis=0)
    return base + merged / np.maximum(ew.sum(axis=0), 1e-6)


def nearswap(base, x, t):
    """nearswap (mergekit nearswap.py): a = B, b = the other model;
    w = clamp(t / max(|a - b|, 1e-6), 0, 1); result = w b + (1 - w) a. t = 0 gives the base."""
    a = np.asarray(base, dtype=F64)
    b = np.asarray(x, dtype=F64)
    w = np.clip(float(t) / np.maximum(np.abs(a - b), 1e-6), 0.0, 1.0)
    return w * b + (1 - w) * a


def _ram_prepare(base, xs, epsilon):
    base = np.asarray(base, dtype=F64)
    tv = np.stack([np.asarray(x, dtype=F64) - base for x in xs]).reshape(len(xs), -1)
    active = np.abs(tv) > epsilon
    count = active.sum(axis=0)
    return base, tv, active, count


def ram(base, xs, epsilon=1e-5):
    """ram (mergekit ram.py, Reinforced Agent Merging): d_i = X_i - B; model i changes an entry when
    |d_i| > epsilon (default 1e-5). Entry changed by exactly one model -> B + its d; by several ->
    B + mean of their d (models at or below epsilon excluded from numerator and count); by none -> B
    (even if some |d_i| are nonzero but <= epsilon)."""
    if not xs:
        return np.asarray(base, dtype=F64).copy()
    base, tv, active, count = _ram_prepare(base, xs, epsilon)
    tvz = np.where(active, tv, 0.0)
    merged = tvz.sum(axis=0) / np.maximum(count, 1)
    return base + merged.reshape(base.shape)


def ramplus_tl(base, xs, r=0.1, alpha=0.2, epsilon=1e-5):
    """ramplus_tl (mergekit ram.py, RAM+ tensor-local): as ram, but each model's UNIQUE contributions
    (entries only that model changes) are scaled by lambda_i = 1 + r * clamp(rho_i, 0, alpha), where
    rho_i = shared_i / max(unique_i, epsilon), shared_i = number of entries model i changes that
    several models change, unique_i = number of entries only model i changes (counts within this
    tensor). r (default 0.1) is the rescaling strength, alpha (default 0.2) caps rho, so
    lambda_i <= 1 + r*alpha = 1.02 by default. A model with unique_i == 0 and shared_i > 0 gets
    rho = shared/epsilon (clamped to alpha) -- it has no unique entries, so lambda does not matter.
    Shared entries: mean of the active d (as ram); inactive entries: B."""
    if not xs:
        return np.asarray(base, dtype=F64).copy()
    base, tv, active, count = _ram_prepare(base, xs, epsilon)
    unique = count == 1
    shared = count > 1
    n_shared = (active & shared).sum(axis=1).astype(F64)
    n_unique = (active & unique).sum(axis=1).astype(F64)
    rho = n_shared / np.maximum(n_unique, epsilon)
    lam = 1.0 + r * np.clip(rho, 0.0, alpha)
    tvz = np.where(active, tv, 0.0)
    merged = (tvz * unique * lam[:, None]).sum(axis=0) + (tvz * shared).sum(axis=0) / np.maximum(count, 1)
    return base + merged.reshape(base.shape)


def arcee_quantile_index(q, n):
    """mergekit's approximate quantile index: floor(q * (n - 1)) (q a float32 tensor times an int,
    truncated with .long(); exact for n <= 1e6 and q in {0.25, 0.5, 0.75})."""
    return int(np.floor(np.float32(q) * np.float32(n - 1)))


def arcee_threshold(importance, subsample=None):
    """Dynamic threshold of arcee_fusion: flatten the importance scores; if numel > 1e6 take the
    1,000,000 entries at `subsample` (mergekit: torch.randperm(numel)[:1e6], unseeded global RNG;
    blend: its seeded generator; here: the given indices, else numpy's generator with seed 0);
    sort ascending; Q(q) = sorted[floor(q (n-1))]; threshold = Q(0.5) + 1.5 (Q(0.75) - Q(0.25))."""
    flat = np.asarray(importance, dtype=F64).ravel()
    if flat.size > 1e6:
        if subsample is None:
            subsample = np.random.default_rng(0).permutation(flat.size)[:1000000]
        flat = flat[np.asarray(subsample, dtype=np.int64)]
    s = np.sort(flat)
    n = s.size
    med = s[arcee_quantile_index(0.5, n)]
    q1 = s[arcee_quantile_index(0.25, n)]
    q3 = s[arcee_quantile_index(0.75, n)]
    return med + 1.5 * (q3 - q1)


def _softmax_last(x):
    z = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def arcee_importance(base, x, eps=1e-8):
    """importance = |X - B| * KL_row, KL_row = sum_j p_j log(p_j / q_j) over the last axis with
    p = softmax(X) + 1e-8, q = softmax(B) + 1e-8 (softmax along the last axis; a 1-D tensor has one
    row, so one KL value for the whole vector)."""
    b = np.asarray(base, dtype=F64)
    x = np.asarray(x, dtype=F64)
    p = _softmax_last(x) + eps
    q = _softmax_last(b) + eps
    kl = np.sum(p * np.log(p / q), axis=-1, keepdims=True)
    return np.abs(x - b) * kl


def arcee_fusion(base, x, subsample=None):
    """arcee_fusion (mergekit arcee_fusion.py): two models, a = B (base) and b = X.
    importance = arcee_importance(B, X); threshold = arcee_threshold(importance);
    mask = importance >= threshold; result = B + (X - B) * mask."""
    b = np.asarray(base, dtype=F64)
    x = np.asarray(x, dtype=F64)
    imp = arcee_importance(b, x)
    thr = arcee_threshold(imp, subsample)
    return b + (x - b) * (imp >= thr)


def passthrough(x, scale=None):
    """passthrough: exactly one input; result = X * scale when `scale` is set (default: none, X as is)."""
    x = np.asarray(x, dtype=F64)
    return x.copy() if scale is None else x * float(scale)


# ============================================================================================
# Training-time averaging
# ============================================================================================

def ema_decay(step, decay=0.9999, warmup=False, update_after_step=0, warmup_gamma=1.0,
              warmup_power=2.0 / 3.0, min_decay=0.0):
    """timm ModelEmaV3.get_decay: step' = max(0, step - update_after_step - 1); step' <= 0 -> 0 (the
    update copies theta); with warm-up decay_t = max(min(decay, 1 - (1 + step'/gamma)^(-power)),
    min_decay) (gamma 1, power 2/3); without warm-up decay_t = decay."""
    s = max(0, int(step) - int(update_after_step) - 1)
    if s <= 0:
        return 0.0
    if warmup:
        return max(min(1.0 - (1.0 + s / warmup_gamma) ** (-warmup_power), decay), min_decay)
    return float(decay)


def ema(thetas, decay=0.9999, warmup=False, update_after_step=0, warmup_gamma=1.0,
        warmup_power=2.0 / 3.0, min_decay=0.0, first_step=1):
    """EMA over checkpoints theta_1..theta_T given at steps first_step, first_step+1, ... (timm's
    training loop passes step = num_updates, 1 at the first update):
    avg = decay_t * avg + (1 - decay_t) * theta (decay_t = ema_decay(step); 0 at the first update, so
    avg starts as a copy of theta_1)."""
    avg = None
    for i, th in enumerate(thetas):
        th = np.asarray(th, dtype=F64)
        dt = ema_decay(first_step + i, decay, warmup, update_after_step, warmup_gamma, warmup_power,
                       min_decay)
        avg = th.copy() if avg is None or dt == 0.0 else dt * avg + (1.0 - dt) * th
    return avg


def swa(thetas):
    """SWA (torch.optim.swa_utils.AveragedModel): the first update copies; then
    avg += (theta - avg) / (n + 1), n = number of models averaged so far."""
    avg = None
    for n, th in enumerate(thetas):
        th = np.asarray(th, dtype=F64)
        avg = th.copy() if avg is None else avg + (th - avg) / (n + 1)
    return avg


# ============================================================================================
# Dispatch
# ============================================================================================

METHODS = list(GTA_METHODS) + ["linear", "slerp", "nuslerp", "multislerp", "karcher", "model_stock",
                               "sce", "nearswap", "ram", "ramplus_tl", "arcee_fusion", "passthrough",
                               "ema", "swa"]

KNOWN_PARAMS = {
    "linear": {"weight", "normalize"},
    "slerp": {"t"},
    "nuslerp": {"weight", "nuslerp_flatten", "nuslerp_row_wise"},
    "multislerp": {"weight", "normalize_weights", "eps"},
    "karcher": {"max_iter", "tol"},
    "model_stock": {"filter_wise"},
    "sce": {"select_topk", "int8_mask"},
    "nearswap": {"t"},
    "ram": {"epsilon"},
    "ramplus_tl": {"r", "alpha", "epsilon"},
    "arcee_fusion": set(),
    "passthrough": {"scale"},
    "ema": {"decay", "warmup", "update_after_step", "warmup_gamma", "warmup_power", "min_decay",
            "first_step"},
    "swa": set(),
}
for _m in GTA_METHODS:
    KNOWN_PARAMS[_m] = {"weight", "density", "gamma", "epsilon", "lambda", "normalize", "rescale",
                        "consensus", "int8_mask", "seed"}

NEEDS_BASE = set(GTA_METHODS) | {"slerp", "model_stock", "sce", "nearswap", "ram", "ramplus_tl",
                                  "arcee_fusion"}


def _require(params, key, method):
    if key not in params:
        raise ParamError(f"{method}: missing required parameter '{key}'")
    return params[key]


def run_method(method, xs, base=None, params=None, masks=None, subsample=None):
    """Run METHOD on in-memory arrays; returns (result, keep_probs or None)."""
    params = dict(params or {})
    if method not in METHODS:
        raise ParamError(f"unknown method {method!r}")
    unknown = set(params) - KNOWN_PARAMS[method]
    if unknown:
        raise ParamError(f"{method}: unknown parameter(s) {sorted(unknown)}")
    if method in NEEDS_BASE and base is None:
        raise ParamError(f"{method} needs --base")
    if not xs:
        raise ParamError("no --inputs")
    shape = np.shape(xs[0])
    for i, x in enumerate(list(xs) + ([base] if base is not None else [])):
        if np.shape(x) != shape:
            raise InputError(f"input {i}: shape {np.shape(x)} differs from {shape}")
    if method in GTA_METHODS:
        rule = GTA_METHODS[method][0]
        dflt_eps = 0.15
        density = params.get("density", 1.0)
        gamma = params.get("gamma", 0.01)
        epsilon = params.get("epsilon", dflt_eps)
        cons = params.get("consensus", "default")
        if cons in ("none", False):
            cons = None
        res = gta(method, base, xs, _require(params, "weight", method), density, gamma, epsilon,
                  params.get("lambda", 1.0), params.get("normalize"), params.get("rescale"), cons,
                  masks, np.random.default_rng(int(params.get("seed", 0))))
        probs = None
        if rule in ("random", "della_magprune"):
            probs = gta_keep_probs(method, base, xs, density, gamma, epsilon)
        return res, probs
    if masks is not None:
        raise ParamError(f"{method} takes no mask")
    if method == "linear":
        return linear(xs, _per_model(_require(params, "weight", method), len(xs)),
                      params.get("normalize", True)), None
    if method == "slerp":
        _exactly(method, xs, 1)
        return slerp(base, xs[0], _require(params, "t", method)), None
    if method == "nuslerp":
        _exactly(method, xs, 2)
        return nuslerp(xs[0], xs[1], _per_model(_require(params, "weight", method), 2), base,
                       params.get("nuslerp_flatten", True), params.get("nuslerp_row_wise", False)), None
    if method == "multislerp":
        return multislerp(xs, _per_model(_require(params, "weight", method), len(xs)), base,
                          params.get("normalize_weights", True), params.get("eps", 1e-8)), None
    if method == "karcher":
        inputs = ([base] if base is not None else []) + list(xs)
        return karcher(inputs, params.get("max_iter", 10), params.get("tol", 1e-5)), None
    if method == "model_stock":
        return model_stock(base, xs, params.get("filter_wise", False)), None
    if method == "sce":
        return sce(base, xs, params.get("select_topk", 1.0)), None
    if method == "nearswap":
        _exactly(method, xs, 1)
        return nearswap(base, xs[0], _require(params, "t", method)), None
    if method == "ram":
        return ram(base, xs, params.get("epsilon", 1e-5)), None
    if method == "ramplus_tl":
        return ramplus_tl(base, xs, params.get("r", 0.1), params.get("alpha", 0.2),
                          params.get("epsilon", 1e-5)), None
    if method == "arcee_fusion":
        _exactly(method, xs, 1)
        return arcee_fusion(base, xs[0], subsample), None
    if method == "passthrough":
        _exactly(method, xs, 1)
        return passthrough(xs[0], params.get("scale")), None
    if method == "ema":
        return ema(xs, params.get("decay", 0.9999), params.get("warmup", False),
                   params.get("update_after_step", 0), params.get("warmup_gamma", 1.0),
                   params.get("warmup_power", 2.0 / 3.0), params.get("min_decay", 0.0),
                   params.get("first_step", 1)), None
    if method == "swa":
        return swa(xs), None
    raise ParamError(method)


def _per_model(v, n):
    v = list(v) if isinstance(v, (list, tuple)) else [v] * n
    if len(v) != n:
        raise ParamError(f"{len(v)} weights for {n} models")
    return v


def _exactly(method, xs, n):
    if len(xs) != n:
        raise ParamError(f"{method} takes exactly {n} non-base input(s), got {len(xs)}")


def load_npy(path, what="input"):
    try:
        a = np.load(path, allow_pickle=False)
    except Exception as e:  # noqa: BLE001
        raise InputError(f"cannot read {what} {path}: {e}") from e
    if what == "mask":
        if a.dtype != bool and a.dtype.kind not in "iuf":
            raise InputError(f"{path}: mask dtype {a.dtype} (expected bool, integer or float)")
        return a != 0
    if a.dtype not in (np.float32, np.float64):
        raise InputError(f"{path}: dtype {a.dtype} (expected float32 or float64)")
    a = a.astype(F64)
    if not np.all(np.isfinite(a)):
        raise InputError(f"{path}: NaN or Inf in {what}")
    return a


# ============================================================================================
# Self-test
# ============================================================================================

def self_test(verbose=True):
    failures = []

    def check(name, got, want, atol=1e-12, rtol=1e-12):
        got = np.asarray(got, dtype=F64)
        want = np.asarray(want, dtype=F64)
        ok = got.shape == want.shape and np.allclose(got, want, atol=atol, rtol=rtol)
        if verbose:
            print(("PASS " if ok else "FAIL ") + name)
        if not ok:
            failures.append(name)
            print(f"     got  {got.tolist()}\n     want {want.tolist()}")

    def check_true(name, cond):
        if verbose:
            print(("PASS " if cond else "FAIL ") + name)
        if not cond:
            failures.append(name)

    def check_raises(name, exc, fn):
        try:
            fn()
        except exc:
            check_true(name, True)
            return
        except Exception as e:  # noqa: BLE001
            print(f"     raised {type(e).__name__}: {e}")
        check_true(name, False)

    B0 = np.zeros(6)
    m1 = np.array([1, -2, 0.5, 0, 3, -0.1])
    m2 = np.array([-0.5, -1, 2, 1.5, -3.5, 0.2])

    # --- golden values from METHODS.md / issue 4
    check("ties density 1, sum, weights 1, normalize",
          gta("ties", B0, [m1, m2], [1, 1], 1.0), [1, -1.5, 1.25, 1.5, -3.5, 0.2])
    check("ties density 0.5, normalize",
          gta("ties", B0, [m1, m2], [1, 1], 0.5), [1, -2, 2, 1.5, -3.5, 0])
    # count consensus: signs per entry (m1,m2): (+,-) (-,-) (+,+) (0,+) (+,-) (-,+): sums 0,-2,2,1,0,0
    check("ties density 1, count consensus",
          gta("ties", B0, [m1, m2], [1, 1], 1.0, consensus="count"),
          [1, -1.5, 1.25, 1.5, 3, 0.2])
    check("ties density 1, normalize false",
          gta("ties", B0, [m1, m2], [1, 1], 1.0, normalize=False), [1, -3, 2.5, 1.5, -3.5, 0.2])
    # weights 2,1: wd1 = [2,-4,1,0,6,-0.2], wd2 = m2; sums [1.5,-5,3,1.5,2.5,0] -> s=[+,-,+,+,+,+]
    check("ties weighted election (weights 2, 1)",
          gta("ties", B0, [m1, m2], [2, 1], 1.0),
          [2 / 2, (-4 - 1) / 3, (1 + 2) / 3, 1.5 / 1, 6 / 2, 0.2 / 1])
    check("task_arithmetic lambda 0.5",
          gta("task_arithmetic", np.ones(6), [m1 + 1, m2 + 1], [1, 0.5], lambda_=0.5),
          1 + 0.5 * (m1 + 0.5 * m2))
    check("linear normalize", linear([np.array([1.0, 2.0]), np.array([3.0, 4.0])], [1, 3]), [2.5, 3.5])
    check("linear no normalize",
          linear([np.array([1.0, 2.0]), np.array([3.0, 4.0])], [1, 3], normalize=False), [10, 14])
    check_raises("linear weights sum to zero -> error", ParamError,
                 lambda: linear([np.ones(2), np.ones(2)], [1, -1]))

    # --- selection rules
    check("magnitude ties keep lowest index", magnitude_mask(np.array([1.0, -1, 1, 0.5]), 0.5),
          [1, 1, 0, 0])
    check_true("kept count = floor(0.29*100) = 28",
               int(magnitude_mask(np.arange(100.0), 0.29).sum()) == 28 and topk_count(0.29, 100) == 28)
    rng = np.random.default_rng(1)
    ok = True
    for dens in (0.0, 0.1, 0.33, 0.5, 0.7, 0.999):
        for n in (1, 7, 100, 1000):
            v = rng.standard_normal(n)
            ok &= int(magnitude_mask(v, dens).sum()) == int(dens * n)
    check_true("kept count = floor(density*n) for many densities/sizes", ok)
    check("magnitude density 0 keeps none", magnitude_mask(np.array([1.0, 2.0]), 0.0), [0, 0])
    d10 = np.array([10.0, -9, 8, 7, -6, 5, 4, 3, 2, 1])
    # n 10, gamma 0.1 -> n_top 1, density 0.5 -> target 5, n_bot 4: keep -9, 8, 7, -6, 5
    check("breadcrumbs drops top gamma and bottom", breadcrumbs_mask(d10, 0.5, 0.1),
          [0, 1, 1, 1, 1, 1, 0, 0, 0, 0])
    # n_top = floor(0.01*10) = 0 -> keep the 5 largest (mergekit would zero everything)
    check("breadcrumbs n_top == 0 keeps the largest", breadcrumbs_mask(d10, 0.5, 0.01),
          [1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    # gamma + density > 1: target 8, n_top 5 -> n_bot -3 -> n_top 2, n_bot 0: keep ranks 2..9
    check("breadcrumbs gamma+density > 1", breadcrumbs_mask(d10, 0.8, 0.5),
          [0, 0, 1, 1, 1, 1, 1, 1, 1, 1])
    check("breadcrumbs ties: equal magnitudes, lower index ranks larger",
          breadcrumbs_mask(np.array([1.0, 1, 1, 1, 1, 1, 1, 1, 1, 1]), 0.5, 0.1),
          [0, 1, 1, 1, 1, 1, 0, 0, 0, 0])
    check("della row probabilities", della_keep_probs(np.array([[3.0, -1, 2], [0.0, 0.0, 5.0]]), 0.5, 0.15),
          [[0.65, 0.35, 0.5], [0.5, 0.35, 0.65]])
    check("della 1-element rows keep with p = density", della_keep_probs(np.ones((4, 1)), 0.4, 0.1),
          np.full((4, 1), 0.4))
    check("della 1-D is one row", della_keep_probs(np.array([1.0, 3.0]), 0.5, 0.1), [0.4, 0.6])
    check_raises("della density - epsilon <= 0 -> error", ParamError,
                 lambda: della_keep_probs(np.ones(3), 0.1, 0.15))
    check_raises("della density + epsilon >= 1 -> error", ParamError,
                 lambda: della_keep_probs(np.ones(3), 0.9, 0.1))
    check("della density 0 -> zeros (no error)", della_keep_probs(np.ones(3), 0.0, 0.15), [0, 0, 0])
    check("della density 1 -> ones (no error)", della_keep_probs(np.ones(3), 1.0, 0.15), [1, 1, 1])

    # --- rescale
    d = np.array([1.0, -2.0, 3.0, -4.0])
    mk = np.array([True, False, True, False])
    check("rescale l1", rescale_kept(d, mk, "l1"), [1 * 10 / 4, 0, 3 * 10 / 4, 0])
    check("rescale none", rescale_kept(d, mk, "none"), [1, 0, 3, 0])
    check("rescale inverse_density", rescale_kept(d, mk, "inverse_density", 0.5), [2, 0, 6, 0])
    check("rescale l1 skipped below 1e-7", rescale_kept(d * 1e-9, mk, "l1"), [1e-9, 0, 3e-9, 0],
          atol=0)
    # dare with a given mask, l1 default, no consensus, normalize false
    mA = np.array([True, False, True, True, False, True])
    mB = np.array([False, True, True, False, True, True])
    l1a = np.abs(m1).sum() / np.abs(m1 * mA).sum()
    l1b = np.abs(m2).sum() / np.abs(m2 * mB).sum()
    check("dare_linear with given masks (l1 rescale)",
          gta("dare_linear", B0, [m1, m2], [1, 1], 0.5, masks=[mA, mB]), m1 * mA * l1a + m2 * mB * l1b)
    check("dare_linear density 1 ignores the mask",
          gta("dare_linear", B0, [m1, m2], [1, 1], 1.0, masks=[mA, mB]), m1 + m2)
    # DARE statistics with numpy's generator: kept fraction within 3 sigma of density over 1000 seeds
    n, dens = 1000, 0.3
    fr = [draw_mask(dare_keep_probs(np.ones(n), dens), np.random.default_rng(s)).mean() for s in range(1000)]
    sig = math.sqrt(dens * (1 - dens) / n)
    # pooled over the 1000 seeds (1e6 draws): within 3 sigma of density; per seed: at most 1% outside
    # 3 sigma (0.27% expected)
    pooled_sig = sig / math.sqrt(len(fr))
    outside = sum(abs(f - dens) > 3 * sig for f in fr)
    check_true("dare kept fraction within 3 sigma of density (1000 seeds)",
               abs(np.mean(fr) - dens) <= 3 * pooled_sig and outside <= 10)
    v = np.random.default_rng(5).standard_normal(1000)
    sp = sparsify("random", v, 0.3, "l1", rng=np.random.default_rng(3))
    check_true("dare l1 rescale preserves the L1 norm", abs(np.abs(sp).sum() - np.abs(v).sum()) < 1e-9)

    # --- lambda 0 / identical inputs
    rng = np.random.default_rng(7)
    Bx = rng.standard_normal((3, 4))
    X1 = rng.standard_normal((3, 4))
    X2 = rng.standard_normal((3, 4))
    for meth in GTA_METHODS:
        extra = {"epsilon": 0.1} if meth.startswith("della") else {}
        masks = [np.ones((3, 4), bool)] * 2 if GTA_METHODS[meth][0] in ("random", "della_magprune") else None
        check(f"{meth}: lambda 0 gives the base",
              gta(meth, Bx, [X1, X2], [0.7, 0.3], 0.5, lambda_=0.0, masks=masks, **extra), Bx)
    for meth in ("task_arithmetic", "ties", "dare_linear", "dare_ties", "della", "della_linear"):
        check(f"{meth}: identical inputs (density 1, weights sum 1) give themselves",
              gta(meth, Bx, [X1, X1], [0.5, 0.5], 1.0), X1)
    check("linear identical inputs", linear([X1, X1, X1], [1, 2, 3]), X1)

    # --- slerp
    check("slerp t=0 gives the base", slerp(Bx, X1, 0.0), Bx)
    check("slerp t=1 gives the other", slerp(Bx, X1, 1.0), X1, atol=1e-12)
    check("slerp identical inputs", slerp(X1, X1, 0.3), X1)
    check("slerp orthogonal midpoint", slerp(np.array([1.0, 0]), np.array([0.0, 1]), 0.5),
          [math.sqrt(0.5), math.sqrt(0.5)])
    check("slerp orthogonal scaled", slerp(np.array([2.0, 0]), np.array([0.0, 1]), 1 / 3),
          [2 * math.cos(math.pi / 6), math.sin(math.pi / 6)])
    check("slerp colinear -> lerp", slerp(np.array([1.0, 1]), np.array([2.0, 2]), 0.25), [1.25, 1.25])
    check("slerp antiparallel -> lerp", slerp(np.array([1.0, 1]), np.array([-2.0, -2]), 0.5), [-0.5, -0.5])

    # --- nuslerp
    A = np.array([[1.0, 0.0], [0.0, 2.0]])
    Bm = np.array([[0.0, 1.0], [0.0, 3.0]])
    check("nuslerp weights [1, 0] gives a", nuslerp(X1, X2, [1, 0]), X1)
    check("nuslerp weights [0, 1] gives b", nuslerp(X1, X2, [0, 1]), X2, atol=1e-12)
    check("nuslerp weights sum ~0 -> t = 0.5", nuslerp_t(1.0, -1.0), 0.5)
    check("nuslerp row-wise (flatten false)", nuslerp(A, Bm, [1, 1], flatten=False),
          [[math.sqrt(0.5), math.sqrt(0.5)], [0.0, 2.5]])
    # columns: col0 a=(1,0), b=(0,0): b is the zero vector, u_b = 0, theta = pi/2 -> sin(pi/4) (1,0);
    # col1 a=(0,2), b=(1,3): the ordinary slerp of the two columns
    col1 = slerp(np.array([0.0, 2.0]), np.array([1.0, 3.0]), 0.5)
    check("nuslerp column-wise (row_wise true)", nuslerp(A, Bm, [1, 1], flatten=False, row_wise=True),
          [[math.sqrt(0.5), col1[0]], [0.0, col1[1]]])
    check("nuslerp with base", nuslerp(Bx + 1, Bx + 2, [1, 1], base=Bx), Bx + 1.5)
    check("nuslerp flatten orthogonal", nuslerp(np.array([1.0, 0]), np.array([0.0, 1]), [1, 1]),
          [math.sqrt(0.5), math.sqrt(0.5)])

    # --- multislerp / karcher
    check("multislerp identical inputs", multislerp([X1, X1, X1], [1, 1, 1]), X1, atol=1e-7)
    check("multislerp orthogonal pair", multislerp([np.array([1.0, 0]), np.array([0.0, 1])], [1, 1]),
          [math.sqrt(0.5), math.sqrt(0.5)], atol=1e-7)
    check("multislerp antipodal pair -> linear fallback",
          multislerp([np.array([1.0, 0]), np.array([-1.0, 0])], [1, 1]), [0, 0])
    check_raises("multislerp antipodal with 3 inputs -> error", ParamError,
                 lambda: multislerp([np.array([1.0, 0]), np.array([-1.0, 0]), np.array([0.0, 0])],
                                    [1, 1, 0]))
    check("multislerp with base", multislerp([Bx + X1, Bx + X1], [1, 2], base=Bx), Bx + X1, atol=1e-7)
    check("karcher identical inputs", karcher([X1, X1, X1]), X1)
    check("karcher orthogonal pair", karcher([np.array([1.0, 0]), np.array([0.0, 1])]),
          [math.sqrt(0.5), math.sqrt(0.5)])
    check("karcher all zero -> zeros", karcher([np.zeros(3), np.zeros(3)]), [0, 0, 0])
    check("karcher scale is the mean norm incl. zero inputs",
          karcher([np.array([2.0, 0]), np.zeros(2)]), [1.0, 0])
    # three unit vectors at 0, 60, 120 degrees in a plane: Karcher mean at 60 degrees
    tri = [np.array([math.cos(a), math.sin(a)]) for a in (0.0, math.pi / 3, 2 * math.pi / 3)]
    check("karcher three planar unit vectors", karcher(tri, max_iter=50, tol=1e-12),
          [0.5, math.sqrt(3) / 2], atol=1e-9)

    # --- model stock
    check("model_stock orthogonal offsets -> base",
          model_stock(np.zeros(2), [np.array([1.0, 0]), np.array([0.0, 1])]), [0, 0])
    c = 1 / math.sqrt(2)
    tt = 2 * c / (1 + c)
    check("model_stock two models at 45 degrees",
          model_stock(np.zeros(2), [np.array([1.0, 1.0]), np.array([1.0, 0.0])]),
          tt * np.array([1.0, 0.5]))
    check("model_stock identical inputs", model_stock(Bx, [X1, X1, X1]), X1)
    check("model_stock singular t (cos = -1, N = 2) keeps the base",
          model_stock(np.zeros(2), [np.array([1.0, 1.0]), np.array([-1.0, -1.0])]), [0, 0])
    fw = model_stock(np.zeros((2, 2)), [np.array([[1.0, 0], [1, 1]]), np.array([[0.0, 1], [1, 1]])],
                     filter_wise=True)
    check("model_stock filter_wise per row", fw, [[0, 0], [1, 1]])
    check("model_stock filter_wise 1-D = one row",
          model_stock(np.zeros(2), [np.array([1.0, 1.0]), np.array([1.0, 0.0])], filter_wise=True),
          tt * np.array([1.0, 0.5]))

    # --- sce
    w1, w2 = 14.26 / 6, 19.79 / 6
    s = w1 + w2
    w1, w2 = w1 / s, w2 / s
    check("sce golden (select_topk 1)", sce(B0, [m1, m2]),
          [1, (-2 * w1 - 1 * w2) / (w1 + w2), (0.5 * w1 + 2 * w2) / (w1 + w2), 1.5, -3.5, 0.2])
    # var per position of (m1, m2): (0.75^2, 0.5^2, 0.75^2, 0.75^2, 3.25^2, 0.15^2); k = floor(6*0.5) = 3
    # -> positions 4, 0, 2 (0 and 2 and 3 tie at 0.5625: lowest indices 0, 2 win)
    kept = np.array([1, 0, 1, 0, 1, 0], bool)
    t1, t2 = m1 * kept, m2 * kept
    a1, a2 = np.mean(t1 ** 2), np.mean(t2 ** 2)
    a1, a2 = a1 / (a1 + a2), a2 / (a1 + a2)
    check("sce select_topk 0.5", sce(B0, [m1, m2], 0.5),
          [1, 0, (0.5 * a1 + 2 * a2) / (a1 + a2), 0, -3.5, 0])
    check("sce tiny deltas -> uniform weights",
          sce(B0, [m1 * 1e-4, m2 * 1e-4]), gta("ties", B0, [m1 * 1e-4, m2 * 1e-4], [1, 1], 1.0))
    check("sce identical inputs", sce(Bx, [X1, X1]), X1)

    # --- nearswap / ram / ramplus_tl
    check("nearswap t=0 gives the base", nearswap(Bx, X1, 0.0), Bx)
    check("nearswap golden", nearswap(np.zeros(3), np.array([0.5, 2.0, 1e-7]), 1.0), [0.5, 1.0, 1e-7])
    check("nearswap identical inputs", nearswap(X1, X1, 0.3), X1)
    rb = np.zeros(4)
    r1 = np.array([1.0, 0.0, 2.0, 0.0])
    r2 = np.array([3.0, 0.0, 0.0, 1e-6])
    check("ram golden", ram(rb, [r1, r2]), [2.0, 0.0, 2.0, 0.0])
    check("ramplus_tl golden", ramplus_tl(rb, [r1, r2]), [2.0, 0.0, 2.0 * 1.02, 0.0])
    r3 = np.array([1.0, 2.0, 3.0, 4.0, 0.0])
    r4 = np.array([1.0, 0.0, 0.0, 0.0, 0.0])
    # model 3: shared 1, unique 3 -> rho 1/3 -> clamp 0.2 -> 1.02; model 4: shared 1, unique 0
    check("ramplus_tl alpha clamp", ramplus_tl(np.zeros(5), [r3, r4], r=0.5, alpha=0.25),
          [1.0, 2 * 1.125, 3 * 1.125, 4 * 1.125, 0.0])
    check("ram identical inputs", ram(Bx, [X1, X1]), X1)

    # --- arcee fusion
    check("arcee threshold 0..99", arcee_threshold(np.arange(100.0)), 49 + 1.5 * (74 - 24))
    check("arcee threshold with an outlier", arcee_threshold(np.array([0.0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1000])),
          5 + 1.5 * (7 - 2))
    check("arcee_fusion identical inputs", arcee_fusion(Bx, Bx), Bx)
    af_b = np.zeros((1, 11))
    af_x = np.zeros((1, 11))
    af_x[0, 10] = 5.0
    af_x[0, 3] = 0.01
    # one row -> one KL; importance = |d| * KL: zeros, 0.01 KL, 5 KL; sorted quartiles are 0 -> thr 0
    # -> every entry passes (importance >= 0): result = X
    check("arcee_fusion threshold 0 keeps everything", arcee_fusion(af_b, af_x), af_x)
    imp = arcee_importance(af_b, af_x)
    check_true("arcee importance: one KL per row", np.allclose(imp[0, 10] / 5.0, imp[0, 3] / 0.01))
    check_true("arcee subsample applies above 1e6 only",
               arcee_quantile_index(0.75, 1000000) == 749999 and arcee_quantile_index(0.5, 2) == 0)

    # --- passthrough / ema / swa
    check("passthrough scale", passthrough(X1, 0.5), 0.5 * X1)
    check("passthrough no scale", passthrough(X1), X1)
    check_true("ema first update copies", ema_decay(1) == 0.0 and ema_decay(1, warmup=True) == 0.0)
    check("ema warm-up decay at step 2", ema_decay(2, warmup=True), 1 - 2 ** (-2 / 3))
    check("ema warm-up capped by decay", ema_decay(10 ** 9, decay=0.999, warmup=True), 0.999)
    check("ema update_after_step", [ema_decay(s, update_after_step=3) for s in (3, 4, 5)], [0, 0, 0.9999])
    th = [np.array([1.0]), np.array([3.0]), np.array([5.0])]
    dd = 1 - 2 ** (-2 / 3)
    d3 = 1 - 3 ** (-2 / 3)
    check("ema sequence with warm-up", ema(th, warmup=True),
          [d3 * (dd * 1 + (1 - dd) * 3) + (1 - d3) * 5])
    check("ema sequence no warm-up", ema(th, decay=0.5), [0.5 * (0.5 * 1 + 0.5 * 3) + 0.5 * 5])
    check("swa is the running mean", swa(th), [3.0])

    # --- CLI-level parameter errors
    check_raises("missing weight -> error", ParamError,
                 lambda: run_method("ties", [m1, m2], B0, {"density": 0.5}))
    check_raises("unknown parameter -> error", ParamError,
                 lambda: run_method("slerp", [m1], B0, {"t": 0.5, "bogus": 1}))
    check_raises("shape mismatch -> error", InputError,
                 lambda: run_method("task_arithmetic", [m1, np.zeros(5)], B0, {"weight": 1}))

    if verbose:
        print(f"{'OK' if not failures else 'FAILED'}: {len(failures)} failure(s)")
    return not failures


def main(argv=None):
    ap = argparse.ArgumentParser(prog="merge_reference.py", description=__doc__.split("\n")[0])
    ap.add_argument("method", nargs="?")
    ap.add_argument("--inputs", nargs="+", default=[])
    ap.add_argument("--base")
    ap.add_argument("--params", default="{}")
    ap.add_argument("--mask", nargs="+")
    ap.add_argument("--subsample", help="int64 .npy of indices for arcee_fusion's quantile sample")
    ap.add_argument("--probs-out", help="write keep probabilities (N, *shape) for dare_*/della*")
    ap.add_argument("--out")
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args(argv)
    if a.self_test:
        return 0 if self_test() else 1
    if a.list:
        print("\n".join(METHODS))
        return 0
    prog = "merge_reference.py"
    if not a.method or not a.out:
        print(f"{prog}: error: METHOD and --out are required", file=sys.stderr)
        return 2
    try:
        try:
            params = json.loads(a.params)
        except json.JSONDecodeError as e:
            raise ParamError(f"--params is not JSON: {e}") from e
        if not isinstance(params, dict):
            raise ParamError("--params must be a JSON object")
        xs = [load_npy(p) for p in a.inputs]
        base = load_npy(a.base, "base") if a.base else None
        masks = [load_npy(p, "mask") for p in a.mask] if a.mask else None
        sub = np.load(a.subsample) if a.subsample else None
        res, probs = run_method(a.method, xs, base, params, masks, sub)
        np.save(a.out, np.asarray(res, dtype=F64))
        if a.probs_out:
            if probs is None:
                raise ParamError(f"{a.method} has no keep probabilities")
            np.save(a.probs_out, probs)
    except ParamError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except InputError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
