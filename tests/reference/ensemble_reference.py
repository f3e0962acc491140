#!/usr/bin/python3
"""Writes the golden fixtures of tests/ensemble/*.cpp and tests/ensemble_cli/ (Debian 12: numpy 1.24,
scipy 1.10, scikit-learn 1.2.1):

    /usr/bin/python3 tests/reference/ensemble_reference.py

tests/ensemble/data/
  digits_members.npy   (3, 200, 10) f64  predict_proba of a fitted sklearn VotingClassifier's estimators
                                          (LogisticRegression, GaussianNB, DecisionTree) on load_digits
  digits_labels.npy    (200,) i64        true test labels
  digits_soft.npy      (200, 10) f64     VotingClassifier(voting="soft", weights=[2, 1, 1]).predict_proba
  digits_hard.npy      (200,) i64        VotingClassifier(voting="hard").predict (equal weights)
  digits_hard_w.npy    (200,) i64        VotingClassifier(voting="hard", weights=[2, 1, 1.5]).predict
  synth_probs.npy      (10, 30, 4) f64   random probabilities (two members rounded to 1 decimal: rank ties)
  synth_logits.npy     (10, 30, 4) f64   random logits
  synth_weights.npy    (10,) f64
  synth_<method>.npy                      an independent numpy implementation of every combine method on
                                          the above (logit on synth_logits, the others on synth_probs)
  bin_probs.npy, bin_logits.npy (10, 30, 1) f64 and bin_<method>.npy: the same for single-column members
  calib_logits.npy     (300, 5) f64 / calib_labels.npy (300,) i64: an over-confident synthetic model
  calib_temperature.npy (1,) scipy minimize_scalar of the NLL over log T
  calib_vector.npy     (2, 5)  scipy BFGS on the vector-scaling NLL: [scale; bias shifted to mean 0]
  cancer_probs.npy     (143,) f32 / cancer_labels.npy (143,) i32: LogisticRegression on breast_cancer
  eval_digits.json, eval_cancer.json: the eval metrics computed here with sklearn (ECE with numpy)
"""
import json
import os

import numpy as np
from scipy import optimize, special, stats
from sklearn import datasets, metrics
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ensemble", "data")
os.makedirs(OUT, exist_ok=True)


def save(name, array):
    np.save(os.path.join(OUT, name), array)


# ---- scikit-learn VotingClassifier on load_digits --------------------------------------------------
X, y = datasets.load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=200, random_state=0, stratify=y)
estimators = [("lr", LogisticRegression(max_iter=5000)), ("nb", GaussianNB()),
              ("dt", DecisionTreeClassifier(max_depth=5, random_state=0))]
soft = VotingClassifier(estimators, voting="soft", weights=[2, 1, 1]).fit(X_train, y_train)
members = np.stack([e.predict_proba(X_test) for e in soft.estimators_])
for e, p in zip(soft.estimators_, members):  # a member's vote is the argmax of its probabilities
    assert (np.argmax(p, axis=1) == e.predict(X_test)).all()
hard = VotingClassifier(estimators, voting="hard").fit(X_train, y_train)
hard_w = VotingClassifier(estimators, voting="hard", weights=[2, 1, 1.5]).fit(X_train, y_train)
for e, p in zip(hard.estimators_, members):  # refitted estimators give the same members
    assert np.array_equal(e.predict_proba(X_test), p)
save("digits_members.npy", members)
save("digits_labels.npy", y_test.astype(np.int64))
save("digits_soft.npy", soft.predict_proba(X_test))
save("digits_hard.npy", hard.predict(X_test).astype(np.int64))
save("digits_hard_w.npy", hard_w.predict(X_test).astype(np.int64))


# ---- independent numpy combinators ------------------------------------------------------------------
def renorm(p):
    if p.shape[-1] == 1:
        return p
    s = p.sum(axis=-1, keepdims=True)
    return np.where(s > 0, p / np.where(s > 0, s, 1), 1.0 / p.shape[-1])


def reference(method, P, w):
    """P: (M, N, C), C = 1 for single-column members; returns (N, C) (or (N,) labels for hard)."""
    M, N, C = P.shape
    if method == "soft":
        return np.average(P, axis=0, weights=w)
    if method == "logit":
        z = np.average(P, axis=0, weights=w)
        return special.expit(z) if C == 1 else special.softmax(z, axis=1)
    if method == "geometric":
        if C == 1:
            lp = np.average(np.log(np.clip(P, 1e-15, None)), axis=0, weights=w)
            lq = np.average(np.log(np.clip(1 - P, 1e-15, None)), axis=0, weights=w)
            return np.exp(lp) / (np.exp(lp) + np.exp(lq))
        g = np.exp(np.average(np.log(np.clip(P, 1e-15, None)), axis=0, weights=w))
        return g / g.sum(axis=1, keepdims=True)
    if method == "rank":
        R = np.stack([np.stack([stats.rankdata(P[m, :, c]) for c in range(C)], axis=1) for m in range(M)])
        return renorm(np.average((R - 1) / (N - 1), axis=0, weights=w))
    if method == "median":
        return renorm(np.median(P, axis=0))
    if method == "trimmed":
        return renorm(stats.trim_mean(P, 0.1, axis=0))
    if method == "max":
        return renorm(P.max(axis=0))
    if method == "hard":
        labels = (P[:, :, 0] > 0.5).astype(int) if C == 1 else np.argmax(P, axis=2)
        K = max(C, 2)
        return np.array([np.argmax(np.bincount(labels[:, i], weights=w, minlength=K)) for i in range(N)],
                        dtype=np.int64)
    raise ValueError(method)


rng = np.random.default_rng(20261127)
M, N, C = 10, 30, 4
probs = rng.dirichlet(np.ones(C), size=(M, N))
probs[3] = np.round(probs[3], 1)  # ties within columns: average ranks
probs[7] = np.round(probs[7], 1)
logits = rng.normal(scale=2.0, size=(M, N, C))
weights = rng.uniform(0.2, 3.0, size=M)
bin_probs = rng.uniform(size=(M, N, 1))
bin_probs[2, :5, 0] = [0.0, 1.0, 0.5, 1e-20, 0.5]  # clipping and the 0.5 boundary of the binary vote
bin_probs[4] = np.round(bin_probs[4], 1)
bin_logits = rng.normal(scale=2.0, size=(M, N, 1))
save("synth_probs.npy", probs)
save("synth_logits.npy", logits)
save("synth_weights.npy", weights)
save("bin_probs.npy", bin_probs)
save("bin_logits.npy", bin_logits)
for method in ["soft", "hard", "logit", "geometric", "rank", "median", "trimmed", "max"]:
    save(f"synth_{method}.npy", reference(method, logits if method == "logit" else probs, weights))
    out = reference(method, bin_logits if method == "logit" else bin_probs, weights)
    save(f"bin_{method}.npy", out.reshape(N))

# ---- calibration ------------------------------------------------------------------------------------
n, k = 300, 5
true_logits = rng.normal(size=(n, k)) * np.array([1.0, 1.5, 0.5, 1.0, 2.0]) + np.array([0.3, -0.2, 0.0, 0.5, -0.4])
labels = np.array([rng.choice(k, p=special.softmax(z)) for z in true_logits])
calib_logits = 2.5 * true_logits + rng.normal(scale=0.3, size=(n, k))  # over-confident
save("calib_logits.npy", calib_logits)
save("calib_labels.npy", labels.astype(np.int64))


def nll(z):
    return np.mean(special.logsumexp(z, axis=1) - z[np.arange(len(z)), labels])


res = optimize.minimize_scalar(lambda s: nll(calib_logits / np.exp(s)), bracket=(-2.0, 2.0), tol=1e-14)
T = float(np.exp(res.x))
h = 1e-5
grad = (nll(calib_logits / np.exp(res.x + h)) - nll(calib_logits / np.exp(res.x - h))) / (2 * h)
assert abs(grad) < 1e-7, grad
save("calib_temperature.npy", np.array([T]))


def vector_objective(theta):
    a, b = theta[:k], theta[k:]
    z = calib_logits * a + b
    p = special.softmax(z, axis=1)
    d = p.copy()
    d[np.arange(n), labels] -= 1
    return nll(z), np.concatenate([(d * calib_logits).mean(axis=0), d.mean(axis=0)])


res = optimize.minimize(vector_objective, np.concatenate([np.ones(k), np.zeros(k)]), jac=True, method="BFGS",
                        options={"gtol": 1e-11, "maxiter": 10000})
assert np.abs(vector_objective(res.x)[1]).max() < 1e-8, res
scale, bias = res.x[:k], res.x[k:] - res.x[k:].mean()
save("calib_vector.npy", np.stack([scale, bias]))


# ---- eval metrics (sklearn 1.2.1; ECE with numpy) ---------------------------------------------------
def ece(P, y):
    conf = P.max(axis=1)
    pred = np.argmax(P, axis=1)
    total = 0.0
    for b in range(15):
        lo, hi = b / 15.0, (b + 1) / 15.0
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            total += sel.sum() / len(y) * abs((pred[sel] == y[sel]).mean() - conf[sel].mean())
    return total


def eval_metrics(P, y):
    onehot = np.eye(P.shape[1])[y]
    pred = np.argmax(P, axis=1)
    return {"n": len(y), "accuracy": metrics.accuracy_score(y, pred),
            "balanced_accuracy": metrics.balanced_accuracy_score(y, pred),
            "nll": metrics.log_loss(y, P, labels=np.arange(P.shape[1])),
            "brier": float(((P - onehot) ** 2).sum(axis=1).mean()), "ece": ece(P, y)}


P = soft.predict_proba(X_test)
with open(os.path.join(OUT, "eval_digits.json"), "w") as f:
    json.dump(eval_metrics(P, y_test), f, indent=1)

Xc, yc = datasets.load_breast_cancer(return_X_y=True)
Xa, Xb, ya, yb = train_test_split(Xc, yc, test_size=0.25, random_state=0, stratify=yc)
lr = LogisticRegression(max_iter=10000).fit(Xa, ya)
p1 = lr.predict_proba(Xb)[:, 1].astype(np.float32)
save("cancer_probs.npy", p1)
save("cancer_labels.npy", yb.astype(np.int32))
p1d = p1.astype(np.float64)
P2 = np.stack([1 - p1d, p1d], axis=1)
e = eval_metrics(P2, yb)
pred = (p1d > 0.5).astype(int)  # CLI.md: binary label = p > 0.5
e["accuracy"] = metrics.accuracy_score(yb, pred)
e["balanced_accuracy"] = metrics.balanced_accuracy_score(yb, pred)
e["roc_auc"] = metrics.roc_auc_score(yb, p1d)
with open(os.path.join(OUT, "eval_cancer.json"), "w") as f:
    json.dump(e, f, indent=1)
print("wrote", OUT)
