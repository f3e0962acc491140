#!/usr/bin/env python3
"""Fixtures for tests/ensemble/stacking.cpp and logistic.cpp, from scikit-learn 1.2.1's `StackingClassifier`.

    /usr/bin/python3 tests/reference/stacking_reference.py

For a binary (breast cancer) and a multiclass (wine) data set, with base models LogisticRegression,
GaussianNB, DecisionTree(max_depth=3) and KNN(7), cv=StratifiedKFold(5) and
final_estimator=LogisticRegression(tol=1e-10, max_iter=10000), writes to tests/ensemble/data/stacking/<case>_*.npy:
  x_train, y_train (int64), x_test;
  folds            StratifiedKFold(5)'s test-fold index of every training row;
  fold_preds       (models, 5, N_train, C): model m fitted on the rows outside fold f, predicting every
                   training row (the C++ test replays these as host models);
  train_meta       the final estimator's training input (sklearn's cross_val_predict meta-features);
  test_meta        stack.transform(x_test);
  coef, intercept  the final estimator's solution; test_proba  stack.predict_proba(x_test);
  train_members, test_members  (M, N, C) per-member out-of-fold / test probabilities (all C columns, as
                   `blend-ensemble stack --train-preds/--test-preds` takes them);
  exact_coef, exact_intercept, exact_proba  the same objective solved to convergence by sklearn's newton-cg
                   (tol 1e-14): sklearn 1.2.1's lbfgs stops on its relative-decrease rule (ftol = 64 eps)
                   with a gradient ~1e-4 in the multinomial cases, i.e. coefficients ~1e-5 from the optimum,
                   so blend (Newton to |grad| < 1e-9) is held to 1e-6 against the converged solution and
                   to 1e-4 against the StackingClassifier output itself.
"""
import warnings
import pathlib

import numpy as np
import sklearn
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.ensemble import StackingClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

OUT = pathlib.Path(__file__).resolve().parent.parent / "ensemble" / "data" / "stacking"
assert sklearn.__version__ == "1.2.1", sklearn.__version__


def base_models():
    return [("lr", LogisticRegression(C=0.1, max_iter=5000)), ("nb", GaussianNB()),
            ("tree", DecisionTreeClassifier(max_depth=3, random_state=0)), ("knn", KNeighborsClassifier(7))]


def write(name, **arrays):
    for key, value in arrays.items():
        np.save(OUT / f"{name}_{key}.npy", np.ascontiguousarray(value))


def case(name, loader, test_size):
    x, y = loader(return_X_y=True)
    x = (x - x.mean(0)) / x.std(0)
    x_tr, x_te, y_tr, _ = train_test_split(x, y, test_size=test_size, random_state=0, stratify=y)
    y_tr = y_tr.astype(np.int64)
    cv = StratifiedKFold(5)
    folds = np.empty(len(y_tr), dtype=np.int64)
    for f, (_, test) in enumerate(cv.split(x_tr, y_tr)):
        folds[test] = f
    fold_preds = []
    for _, model in base_models():
        per_fold = []
        for train, _ in cv.split(x_tr, y_tr):
            per_fold.append(clone(model).fit(x_tr[train], y_tr[train]).predict_proba(x_tr))
        fold_preds.append(per_fold)
    final = LogisticRegression(tol=1e-10, max_iter=10000)
    stack = StackingClassifier(base_models(), final_estimator=final, cv=StratifiedKFold(5)).fit(x_tr, y_tr)
    # The final estimator's training input, rebuilt the way StackingClassifier does (cross_val_predict).
    from sklearn.model_selection import cross_val_predict
    train_meta = np.hstack([cross_val_predict(clone(m), x_tr, y_tr, cv=StratifiedKFold(5), method="predict_proba")
                            for _, m in base_models()])
    if len(np.unique(y_tr)) == 2:
        train_meta = train_meta[:, 1::2]
    refit = clone(final).fit(train_meta, y_tr)
    assert np.allclose(refit.coef_, stack.final_estimator_.coef_, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # newton-cg reports non-convergence at tol 1e-14 once at rounding level
        exact = LogisticRegression(tol=1e-14, max_iter=100000, solver="newton-cg").fit(train_meta, y_tr)
    test_meta = stack.transform(x_te)
    write(name, exact_coef=exact.coef_, exact_intercept=exact.intercept_, exact_proba=exact.predict_proba(test_meta))
    # Per-member files for `blend-ensemble stack` (CLI tests): (M, N, C) out-of-fold / test probabilities, the
    # binary members with both columns (the CLI keeps the positive one).
    oof = np.stack([cross_val_predict(clone(m), x_tr, y_tr, cv=StratifiedKFold(5), method="predict_proba")
                    for _, m in base_models()])
    refit = [clone(m).fit(x_tr, y_tr) for _, m in base_models()]
    test_members = np.stack([m.predict_proba(x_te) for m in refit])
    assert np.allclose(oof[:, :, 1:].transpose(1, 0, 2).reshape(len(y_tr), -1) if oof.shape[2] == 2 else
                       oof.transpose(1, 0, 2).reshape(len(y_tr), -1), train_meta, atol=1e-14)
    write(name, train_members=oof, test_members=test_members)
    write(name, x_train=x_tr, y_train=y_tr, x_test=x_te, folds=folds, fold_preds=np.array(fold_preds),
          train_meta=train_meta, test_meta=test_meta, coef=stack.final_estimator_.coef_,
          intercept=stack.final_estimator_.intercept_, test_proba=stack.predict_proba(x_te))
    print(name, x_tr.shape, "meta", train_meta.shape, "iterations", stack.final_estimator_.n_iter_)


def ridge_case():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4))
    y = x @ np.array([1.0, -2.0, 0.5, 0.0]) + 3.0 + rng.normal(scale=0.3, size=60)
    model = Ridge(alpha=1.0).fit(x, y)
    write("ridge", x=x, y=y, coef=model.coef_, intercept=np.array([model.intercept_]))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    case("binary", load_breast_cancer, 0.3)
    case("multiclass", load_wine, 0.3)
    ridge_case()


if __name__ == "__main__":
    main()
