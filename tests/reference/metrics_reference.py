#!/usr/bin/env python3
"""Writes the fixtures of tests/metrics/ (blend/metrics): predictions as .npy files and reference values
as JSON, computed by independent implementations.

Two parts, each run by the interpreter that has its references (CI never runs this script; the outputs
are checked in):

  /usr/bin/python3 tests/reference/metrics_reference.py sklearn
      scikit-learn 1.2.1 (Debian 12's python3-sklearn): predict_proba of a few models on load_digits
      (multiclass) and load_breast_cancer (binary); accuracy_score, balanced_accuracy_score, log_loss
      (eps=1e-15), roc_auc_score, brier_score_loss; plus numpy-only references for the multi-class
      Brier score, the ECE (15 bins, (b/15, (b+1)/15]) and the log-mean-exp NLL of a logit ensemble.
      -> tests/metrics/data/sklearn/

  /work/venv-metrics/bin/python tests/reference/metrics_reference.py crps
      properscoring 0.1 and scoringrules 0.10 (pip install properscoring scoringrules):
      crps_ensemble standard / fair, unweighted / weighted, per observation.
      -> tests/metrics/data/crps/
"""

import json
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent / "metrics" / "data"


def save(directory, name, array):
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / f"{name}.npy", np.ascontiguousarray(array))


def write_json(path, values):
    path.write_text(json.dumps(values, indent=1, sort_keys=True) + "\n")


def ece_numpy(p, y, bins=15):
    """Top-label ECE with bins (b/B, (b+1)/B], edges b/float(B); rows with conf 0 count in N only."""
    if p.ndim == 1:
        conf = np.maximum(p, 1.0 - p)
        pred = (p > 0.5).astype(np.int64)
    else:
        conf = p.max(axis=1)
        pred = p.argmax(axis=1)
    total = 0.0
    for b in range(bins):
        lo, hi = b / float(bins), (b + 1) / float(bins)
        mask = (conf > lo) & (conf <= hi)
        if mask.any():
            total += mask.sum() * abs((pred[mask] == y[mask]).mean() - conf[mask].mean())
    return total / len(y)


def brier_numpy(p, y):
    if p.ndim == 1:
        p = np.stack([1.0 - p, p], axis=1)
    onehot = np.eye(p.shape[1])[y]
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))


def sklearn_part():
    import sklearn
    from sklearn.datasets import load_breast_cancer, load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import (accuracy_score, balanced_accuracy_score, brier_score_loss, log_loss,
                                 roc_auc_score)
    from sklearn.model_selection import train_test_split
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    assert sklearn.__version__ == "1.2.1", sklearn.__version__
    out = ROOT / "sklearn"
    models = {
        "logistic": lambda: make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000)),
        "gaussian_nb": lambda: GaussianNB(),  # saturated 0/1 probabilities: exercises the clipping
        "tree": lambda: DecisionTreeClassifier(max_depth=4, random_state=0),  # many tied scores
        "knn": lambda: KNeighborsClassifier(n_neighbors=4),  # argmax ties (0.5/0.5) and score ties
    }
    values = {"sklearn_version": sklearn.__version__}

    # Multiclass: digits, 300 test rows.
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=300, random_state=0, stratify=y)
    save(out, "digits_labels", y_test.astype(np.int64))
    for name, make in models.items():
        p = make().fit(X_train, y_train).predict_proba(X_test).astype(np.float64)
        save(out, f"digits_{name}", p)
        pred = p.argmax(axis=1)
        values[f"digits_{name}"] = {
            "accuracy": accuracy_score(y_test, pred),
            "balanced_accuracy": balanced_accuracy_score(y_test, pred),
            "log_loss": log_loss(y_test, p, eps=1e-15, labels=list(range(10))),
            "brier": brier_numpy(p, y_test),
            "ece": ece_numpy(p, y_test),
        }
    # float32 predictions: the references see exactly the float32 values (widened to float64).
    p32 = np.load(out / "digits_logistic.npy").astype(np.float32)
    save(out, "digits_logistic_f32", p32)
    p = p32.astype(np.float64)
    values["digits_logistic_f32"] = {
        "accuracy": accuracy_score(y_test, p.argmax(axis=1)),
        "balanced_accuracy": balanced_accuracy_score(y_test, p.argmax(axis=1)),
        "log_loss": log_loss(y_test, p, eps=1e-15, labels=list(range(10))),
        "brier": brier_numpy(p, y_test),
        "ece": ece_numpy(p, y_test),
    }

    # Binary: breast cancer, 200 test rows; predictions stored as positive-class (N,) and as (N, 2).
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=200, random_state=0, stratify=y)
    save(out, "cancer_labels", y_test.astype(np.int32))
    for name, make in models.items():
        p2 = make().fit(X_train, y_train).predict_proba(X_test).astype(np.float64)
        p = p2[:, 1].copy()
        save(out, f"cancer_{name}", p)
        save(out, f"cancer_{name}_2col", p2)
        pred = (p > 0.5).astype(np.int64)
        values[f"cancer_{name}"] = {
            "accuracy": accuracy_score(y_test, pred),
            "balanced_accuracy": balanced_accuracy_score(y_test, pred),
            "log_loss": log_loss(y_test, p, eps=1e-15),
            "log_loss_2col": log_loss(y_test, p2, eps=1e-15),
            "roc_auc": roc_auc_score(y_test, p),
            "brier": 2.0 * brier_score_loss(y_test, p),
            "brier_2col": brier_numpy(p2, y_test),
            "ece": ece_numpy(p, y_test),
            "ece_2col": ece_numpy(p2, y_test),
            "accuracy_2col": accuracy_score(y_test, p2.argmax(axis=1)),
        }

    # Log-mean-exp NLL of a logit ensemble: 3 members, 40 rows, 5 classes; the reference averages the
    # softmax probabilities directly (no log-sum-exp), fine for these moderate logits.
    rng = np.random.default_rng(7)
    logits = rng.normal(scale=3.0, size=(3, 40, 5))
    labels = rng.integers(0, 5, size=40)
    save(out, "logit_members", logits)
    save(out, "logit_labels", labels.astype(np.int64))
    soft = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    mean = soft.mean(axis=0)
    values["logit_ensemble_nll"] = float(-np.mean(np.log(mean[np.arange(40), labels])))
    values["logit_member0_nll"] = float(-np.mean(np.log(soft[0][np.arange(40), labels])))
    write_json(out / "values.json", values)


def crps_part():
    import properscoring
    import scoringrules

    out = ROOT / "crps"
    rng = np.random.default_rng(11)
    n, m = 60, 9
    obs = np.round(rng.normal(size=n), 1)
    members = np.round(rng.normal(loc=0.3, scale=1.2, size=(n, m)), 1)  # rounding makes ties
    members[0] = obs[0]  # every member equals the observation: CRPS 0
    members[1, :] = members[1, 0]  # a point forecast: CRPS |x - y|
    weights = rng.uniform(0.0, 1.0, size=(n, m))
    weights[2, :4] = 0.0  # zero weights
    shared = rng.uniform(0.1, 2.0, size=m)
    save(out, "observations", obs)
    save(out, "members", members)
    save(out, "weights", weights)
    save(out, "shared_weights", shared)
    results = {
        "properscoring_standard": properscoring.crps_ensemble(obs, members),
        "properscoring_weighted": properscoring.crps_ensemble(obs, members, weights=weights),
        "properscoring_shared": properscoring.crps_ensemble(obs, members, weights=np.broadcast_to(shared, (n, m))),
        "scoringrules_nrg": scoringrules.crps_ensemble(obs, members, estimator="nrg"),
        "scoringrules_nrg_weighted": scoringrules.crps_ensemble(obs, members, ens_w=weights, estimator="nrg"),
        "scoringrules_fair": scoringrules.crps_ensemble(obs, members, estimator="fair"),
        "scoringrules_fair_weighted": scoringrules.crps_ensemble(obs, members, ens_w=weights, estimator="fair"),
    }
    values = {"properscoring_version": getattr(properscoring, "__version__", "0.1"),
              "scoringrules_version": scoringrules.__version__}
    for name, per_row in results.items():
        per_row = np.asarray(per_row, dtype=np.float64)
        save(out, name, per_row)
        values[name] = float(per_row.mean())
    # properscoring's public examples (METHODS.md §2).
    values["public"] = {
        "0_[0,1]": float(properscoring.crps_ensemble(0.0, [0.0, 1.0])),
        "2_[0,1]": float(properscoring.crps_ensemble(2.0, [0.0, 1.0])),
        "0_[-1,1]": float(properscoring.crps_ensemble(0.0, [-1.0, 1.0])),
        "0_[0,0,1]": float(properscoring.crps_ensemble(0.0, [0.0, 0.0, 1.0])),
        "1_[0,2]_w[0.8,0.2]": float(properscoring.crps_ensemble(1.0, [0.0, 2.0], weights=[0.8, 0.2])),
    }
    write_json(out / "values.json", values)


if __name__ == "__main__":
    parts = {"sklearn": sklearn_part, "crps": crps_part}
    if len(sys.argv) != 2 or sys.argv[1] not in parts:
        sys.exit(f"usage: {sys.argv[0]} sklearn|crps")
    parts[sys.argv[1]]()
