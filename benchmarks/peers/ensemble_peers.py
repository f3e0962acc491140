#!/usr/bin/env python3
"""Peers of blend's ensembling and metrics, timed on the same files blend reads (benchmarks/ensemble_vs_peers.sh).

    ensemble_peers.py make DIR          write the inputs (numpy, seeded)
    ensemble_peers.py eval DIR          scikit-learn metrics of DIR/eval_*.npy          -> JSON
    ensemble_peers.py vote DIR          scikit-learn VotingClassifier soft and hard     -> JSON (+ DIR/peer_*.npy)
    ensemble_peers.py stack DIR         scikit-learn LogisticRegression as the stacking meta-learner -> JSON
    ensemble_peers.py crps DIR          scoringrules / properscoring crps_ensemble      -> JSON

Every timing includes loading the .npy inputs (blend's command-line timings do too) and is the best of
`--repeat` runs, measured in-process with time.perf_counter (Python's own start-up is excluded, which
favours the peer). VotingClassifier runs its real predict_proba/predict code over pre-fitted stand-in
estimators that return the stored member predictions, so only the combining step is timed.
"""
import argparse
import json
import sys
import time

import numpy as np


def best_of(repeat, fn):
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def make(d):
    rng = np.random.default_rng(7)
    n, c = 50_000, 10
    np.save(f"{d}/eval_preds.npy", rng.dirichlet(np.ones(c), size=n).astype(np.float32))
    np.save(f"{d}/eval_labels.npy", rng.integers(0, c, size=n).astype(np.int64))
    np.save(f"{d}/eval_binary_preds.npy", rng.uniform(size=n).astype(np.float32))
    np.save(f"{d}/eval_binary_labels.npy", rng.integers(0, 2, size=n).astype(np.int64))
    m, n_vote = 10, 20_000
    np.save(f"{d}/vote_members.npy", rng.dirichlet(np.ones(c), size=(m, n_vote)).astype(np.float32))
    # Stacking: members' out-of-fold probabilities on 5k training rows and their test predictions.
    n_train, n_test, members = 5_000, 5_000, 5
    labels = rng.integers(0, c, size=n_train + n_test)
    logits = rng.normal(size=(members, n_train + n_test, c))
    logits[:, np.arange(n_train + n_test), labels] += rng.uniform(0.5, 2.0, size=(members, 1))
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.save(f"{d}/stack_train.npy", probs[:, :n_train])
    np.save(f"{d}/stack_test.npy", probs[:, n_train:])
    np.save(f"{d}/stack_labels.npy", labels[:n_train].astype(np.int64))
    # CRPS: 20k observations, ensembles of 50 members.
    np.save(f"{d}/crps_obs.npy", rng.normal(size=20_000))
    np.save(f"{d}/crps_members.npy", rng.normal(size=(20_000, 50)))


def sk_eval(d, repeat):
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, log_loss, roc_auc_score

    def multiclass():
        p = np.load(f"{d}/eval_preds.npy").astype(np.float64)
        y = np.load(f"{d}/eval_labels.npy")
        pred = p.argmax(1)
        onehot = np.eye(p.shape[1])[y]
        return {"accuracy": accuracy_score(y, pred), "balanced_accuracy": balanced_accuracy_score(y, pred),
                "nll": log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=np.arange(p.shape[1])),
                "brier": float(((p - onehot) ** 2).sum(1).mean())}

    def binary():
        p = np.load(f"{d}/eval_binary_preds.npy").astype(np.float64)
        y = np.load(f"{d}/eval_binary_labels.npy")
        return {"accuracy": accuracy_score(y, p > 0.5), "roc_auc": roc_auc_score(y, p)}

    t_multi, multi = best_of(repeat, multiclass)
    t_bin, binr = best_of(repeat, binary)
    return {"multiclass": {"seconds": t_multi, **multi}, "binary": {"seconds": t_bin, **binr}}


class _Stored:
    """A pre-fitted stand-in estimator: predict_proba returns the stored member predictions."""

    def __init__(self, p):
        self.p = p
        self.classes_ = np.arange(p.shape[1])

    def predict_proba(self, x):
        return self.p

    def predict(self, x):
        return self.p.argmax(1)


def sk_vote(d, repeat):
    from sklearn.ensemble import VotingClassifier
    from sklearn.preprocessing import LabelEncoder

    def fitted(voting):
        members = np.load(f"{d}/vote_members.npy").astype(np.float64)
        vc = VotingClassifier([(f"m{i}", None) for i in range(len(members))], voting=voting)
        vc.estimators_ = [_Stored(p) for p in members]
        vc.le_ = LabelEncoder().fit(np.arange(members.shape[2]))
        vc.classes_ = vc.le_.classes_
        return vc, np.zeros((members.shape[1], 1))

    def soft():
        vc, x = fitted("soft")
        return vc.predict_proba(x)

    def hard():
        vc, x = fitted("hard")
        return vc.predict(x)

    t_soft, p = best_of(repeat, soft)
    t_hard, labels = best_of(repeat, hard)
    np.save(f"{d}/peer_soft.npy", p)
    np.save(f"{d}/peer_hard.npy", labels.astype(np.int64))
    return {"soft": {"seconds": t_soft}, "hard": {"seconds": t_hard}}


def sk_stack(d, repeat):
    from sklearn.linear_model import LogisticRegression

    def run():
        train = np.load(f"{d}/stack_train.npy")
        test = np.load(f"{d}/stack_test.npy")
        y = np.load(f"{d}/stack_labels.npy")
        x_train = np.concatenate(list(train), axis=1)  # members' columns side by side, as StackingClassifier
        x_test = np.concatenate(list(test), axis=1)
        model = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(x_train, y)
        return model.predict_proba(x_test)

    t, p = best_of(repeat, run)
    np.save(f"{d}/peer_stack.npy", p)
    return {"seconds": t}


def crps(d, repeat):
    out = {}
    try:
        import scoringrules as sr

        t, v = best_of(repeat, lambda: sr.crps_ensemble(np.load(f"{d}/crps_obs.npy"), np.load(f"{d}/crps_members.npy")))
        out["scoringrules"] = {"seconds": t, "mean": float(np.mean(v))}
    except ImportError:
        pass
    try:
        import properscoring as ps

        t, v = best_of(repeat, lambda: ps.crps_ensemble(np.load(f"{d}/crps_obs.npy"), np.load(f"{d}/crps_members.npy")))
        out["properscoring"] = {"seconds": t, "mean": float(np.mean(v))}
    except ImportError:
        pass
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["make", "eval", "vote", "stack", "crps"])
    parser.add_argument("dir")
    parser.add_argument("--repeat", type=int, default=5)
    a = parser.parse_args()
    if a.what == "make":
        make(a.dir)
        return
    result = {"eval": sk_eval, "vote": sk_vote, "stack": sk_stack, "crps": crps}[a.what](a.dir, a.repeat)
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
