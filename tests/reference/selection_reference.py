#!/usr/bin/env python3
"""Fixtures for tests/ensemble/selection.cpp, written by AutoGluon's own `EnsembleSelection`.

Run with a Python that has autogluon.core (e.g. `python3 -m venv --system-site-packages $VENV &&
$VENV/bin/pip install autogluon.core`; written with autogluon.core 1.6.3):

    $VENV/bin/python tests/reference/selection_reference.py

For every case it writes tests/ensemble/data/selection/<case>_preds.npy (M, N, C) or (M, N) float64,
<case>_labels.npy (int64 classes or float64 targets) and <case>.json with AutoGluon's result: `weights`
(use_best, the default), `kept` (len(indices_)), and `order`/`trajectory` of a second run with use_best off
(every step). AutoGluon breaks ties by a random draw; blend prefers chosen models then the lowest index.
The script records every draw among more than one candidate and refuses to write a case where one happened,
so each fixture is a case where both rules agree.
"""
import json
import pathlib

import numpy as np
from autogluon.core.metrics import get_metric
from autogluon.core.models.greedy_ensemble.ensemble_selection import EnsembleSelection
from sklearn.datasets import load_breast_cancer, load_digits, load_diabetes
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

OUT = pathlib.Path(__file__).resolve().parent.parent / "ensemble" / "data" / "selection"


class RecordingRandomState(np.random.RandomState):
    """numpy's RandomState that remembers whether `choice` ever had more than one candidate."""

    draws = 0

    def choice(self, a, *args, **kwargs):
        if len(a) > 1:
            RecordingRandomState.draws += 1
        return super().choice(a, *args, **kwargs)


def run_autogluon(preds, labels, problem_type, metric, size, use_best):
    es = EnsembleSelection(ensemble_size=size, problem_type=problem_type, metric=get_metric(metric, problem_type),
                           random_state=RecordingRandomState(0))
    es.use_best = use_best
    es.fit([p for p in preds], labels)
    return es


def write_case(name, preds, labels, problem_type, metric, size=25):
    RecordingRandomState.draws = 0
    best = run_autogluon(preds, labels, problem_type, metric, size, True)
    full = run_autogluon(preds, labels, problem_type, metric, size, False)
    if RecordingRandomState.draws:
        raise SystemExit(f"{name}: AutoGluon drew among tied candidates; choose another case")
    np.save(OUT / f"{name}_preds.npy", np.ascontiguousarray(np.stack(preds)))
    np.save(OUT / f"{name}_labels.npy", labels)
    result = {"problem_type": problem_type, "metric": metric, "size": size,
              "weights": [float(w) for w in best.weights_], "kept": len(best.indices_),
              "order": [int(i) for i in full.indices_], "trajectory": [float(t) for t in full.trajectory_]}
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(name, "kept", result["kept"], "order", result["order"])


def classifiers():
    return [LogisticRegression(max_iter=200, C=0.05), LogisticRegression(max_iter=2000, C=10.0), GaussianNB(),
            DecisionTreeClassifier(max_depth=4, random_state=0), DecisionTreeClassifier(max_depth=8, random_state=1),
            RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0), KNeighborsClassifier(5),
            KNeighborsClassifier(15)]


def real_classification(name, loader, metric):
    x, y = loader(return_X_y=True)
    x = (x - x.mean(0)) / (x.std(0) + 1e-9)
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=240, random_state=0, stratify=y)
    preds = [m.fit(x_tr, y_tr).predict_proba(x_va) for m in classifiers()]
    binary = preds[0].shape[1] == 2
    preds = [p[:, 1].copy() if binary else p for p in preds]
    write_case(name, preds, y_va.astype(np.int64), "binary" if binary else "multiclass", metric)


def synthetic_multiclass(name, metric, seed, members=12, rows=400, classes=5):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, rows)
    preds = []
    for m in range(members):
        logits = rng.normal(0, 1.0, (rows, classes))
        logits[np.arange(rows), labels] += rng.uniform(0.2, 1.5)
        p = np.exp(logits)
        preds.append(p / p.sum(1, keepdims=True))
    write_case(name, preds, labels.astype(np.int64), "multiclass", metric)


def real_regression(name):
    x, y = load_diabetes(return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=150, random_state=0)
    models = [Ridge(alpha=0.1), Ridge(alpha=10.0), DecisionTreeRegressor(max_depth=3, random_state=0),
              RandomForestRegressor(n_estimators=20, max_depth=4, random_state=0), KNeighborsRegressor(7)]
    preds = [m.fit(x_tr, y_tr).predict(x_va).astype(np.float64) for m in models]
    write_case(name, preds, y_va.astype(np.float64), "regression", "root_mean_squared_error")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    real_classification("digits_log_loss", load_digits, "log_loss")
    real_classification("cancer_log_loss", load_breast_cancer, "log_loss")
    synthetic_multiclass("synthetic_log_loss", "log_loss", seed=1)
    real_regression("diabetes_rmse")


if __name__ == "__main__":
    main()
