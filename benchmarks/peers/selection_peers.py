#!/usr/bin/env python3
"""Peers of blend's greedy ensemble selection (benchmarks/selection.sh).

    selection_peers.py make DIR [--models 100 --rows 20000 --classes 10]   writes DIR/preds.npy, DIR/labels.npy
    selection_peers.py numpy DIR [--steps 25]                              times the numpy loop
    selection_peers.py autogluon DIR [--steps 25]                          times autogluon.core's EnsembleSelection

The workload: members are softmax(noise + strength * onehot(y)) with a noise part shared by groups of
members (so ensembles of different members help) and per-member strengths, float64, seeded.
`numpy` is a loop written here with AutoGluon's semantics (running mean, row renormalisation, 6-decimal
rounding after the first step, ties: chosen members first then lowest index, use_best) and the true-class
log loss TabRepo uses (`-log(p[arange(n), y])`, clipped), each candidate built in full. Each timing mode
prints JSON {"seconds_per_step", "steps", "weights", "order"}; file loading is excluded.
"""
import argparse
import json
import pathlib
import time

import numpy as np


def make(out, models, rows, classes):
    rng = np.random.default_rng(2024)
    labels = rng.integers(0, classes, rows)
    groups = rng.normal(0.0, 1.0, (8, rows, classes))
    preds = np.empty((models, rows, classes))
    for m in range(models):
        logits = 0.7 * groups[m % 8] + rng.normal(0.0, 1.0, (rows, classes))
        logits[np.arange(rows), labels] += rng.uniform(0.5, 2.0)
        logits -= logits.max(1, keepdims=True)
        p = np.exp(logits)
        preds[m] = p / p.sum(1, keepdims=True)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "preds.npy", preds)
    np.save(out / "labels.npy", labels.astype(np.int64))


def numpy_loop(preds, labels, steps):
    """AutoGluon's greedy loop with TabRepo's true-class log loss."""
    n = len(labels)
    rows = np.arange(n)
    ensemble_mean = np.zeros(preds[0].shape)
    counts = np.zeros(len(preds), dtype=int)
    order, trajectory = [], []
    round_scores = False
    for i in range(steps):
        s = len(order)
        if s:
            ensemble_mean *= (s - 1) / s
            ensemble_mean += preds[order[-1]] / s
        weighted = (s / (s + 1)) * ensemble_mean
        scores = np.empty(len(preds))
        for j, pred in enumerate(preds):
            fant = weighted + pred / (s + 1)
            true_class = fant[rows, labels] / fant.sum(1)
            scores[j] = -np.log(np.clip(true_class, 1e-15, 1 - 1e-15)).mean()
        if round_scores:
            scores = scores.round(6)
        best_score = np.nanmin(scores)
        tied = np.flatnonzero(np.isclose(scores, best_score, atol=0, rtol=1e-12))
        chosen = [j for j in tied if counts[j]] if s else []
        best = int(chosen[0] if chosen else tied[0])
        score = scores[best]
        if i == 0 and abs(score) > 1e-4:
            round_scores = True
            score = round(score, 6)
        order.append(best)
        counts[best] += 1
        trajectory.append(float(score))
    kept = int(np.argmin(trajectory)) + 1
    weights = np.bincount(order[:kept], minlength=len(preds)) / kept
    return weights, order


def autogluon(preds, labels, steps):
    from autogluon.core.metrics import log_loss
    from autogluon.core.models.greedy_ensemble.ensemble_selection import EnsembleSelection
    es = EnsembleSelection(ensemble_size=steps, problem_type="multiclass", metric=log_loss,
                           random_state=np.random.RandomState(0))
    es.use_best = False
    es.fit(list(preds), labels)
    order = [int(i) for i in es.indices_]
    trajectory = list(es.trajectory_)
    kept = int(np.argmin(trajectory)) + 1
    return np.bincount(order[:kept], minlength=len(preds)) / kept, order


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["make", "numpy", "autogluon"])
    parser.add_argument("dir", type=pathlib.Path)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--steps", type=int, default=25)
    args = parser.parse_args()
    if args.mode == "make":
        make(args.dir, args.models, args.rows, args.classes)
        return
    preds = np.load(args.dir / "preds.npy")
    labels = np.load(args.dir / "labels.npy")
    run = numpy_loop if args.mode == "numpy" else autogluon
    start = time.perf_counter()
    weights, order = run(preds, labels, args.steps)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds_per_step": seconds / len(order), "steps": len(order),
                      "weights": [float(w) for w in weights], "order": order}))


if __name__ == "__main__":
    main()
