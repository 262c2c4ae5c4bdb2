"""Write the scikit-learn reference values that the stsg-head tests compare against.

Run from anywhere with the workspace venv:

    /work/venv/bin/python crates/stsg-head/testdata/make_fixtures.py

Outputs, beside this script:
- metrics.json: ground truth, float32 scores and the expected per-class ROC-AUC, macro ROC-AUC
  (classes with a positive and a negative), micro ROC-AUC, top-1 accuracy and padded cmAP.
- logistic.json: small training sets with the probabilities of scikit-learn's
  LogisticRegression (lbfgs, tight tolerance) on held-out rows.

Every score and feature is a float32 value, written with Python's exact float repr, so the Rust
tests read the very same numbers. Fixed seeds throughout.
"""

import json
import pathlib

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, average_precision_score, roc_auc_score
from sklearn.preprocessing import StandardScaler

HERE = pathlib.Path(__file__).resolve().parent


def as_list(a):
    return [[float(v) for v in row] for row in np.asarray(a)]


def padded_cmap(y, s, padding):
    """BirdCLEF 2023 metric: pad rows of ones to both matrices, then macro average precision."""
    ones = np.ones((padding, y.shape[1]))
    return average_precision_score(np.vstack([y, ones]), np.vstack([s, ones]), average="macro")


def metric_case(name, y, s):
    y = y.astype(np.float64)
    s = s.astype(np.float32)
    s64 = s.astype(np.float64)
    per_class = []
    for k in range(y.shape[1]):
        col = y[:, k]
        if col.min() == col.max():
            per_class.append(None)
        else:
            per_class.append(roc_auc_score(col, s64[:, k]))
    scored = [k for k, v in enumerate(per_class) if v is not None]
    macro = roc_auc_score(y[:, scored], s64[:, scored], average="macro")
    labelled = y.sum(axis=1) > 0
    best = s64.argmax(axis=1)
    top1 = float(np.mean(y[labelled, best[labelled]] == 1))
    case = {
        "name": name,
        "y_true": as_list(y),
        "scores": as_list(s),
        "per_class_auc": per_class,
        "macro_auc": macro,
        "micro_auc": roc_auc_score(y, s64, average="micro"),
        "top1_accuracy": top1,
        "padded_cmap_5": padded_cmap(y, s64, 5),
        "padded_cmap_1": padded_cmap(y, s64, 1),
    }
    if (y.sum(axis=1) == 1).all():
        # One-hot truth: top-1 accuracy is plain accuracy of the argmax.
        sk_top1 = accuracy_score(y.argmax(axis=1), best)
        assert abs(sk_top1 - top1) < 1e-15, (sk_top1, top1)
    return case


def metric_cases():
    rng = np.random.default_rng(20250601)
    cases = []

    # Continuous scores, multi-label truth, few ties.
    y = (rng.random((200, 8)) < 0.2).astype(float)
    s = rng.random((200, 8)) * 0.6 + 0.4 * y * rng.random((200, 8))
    cases.append(metric_case("continuous", y, s))

    # Scores rounded to one decimal: many ties across positives and negatives. Column 3 has no
    # positive and column 7 no negative, so both are left out of the macro average.
    y = (rng.random((300, 10)) < 0.15).astype(float)
    y[:, 3] = 0
    y[:, 7] = 1
    s = np.round(rng.random((300, 10)) * 0.7 + 0.3 * y, 1)
    cases.append(metric_case("rounded_ties", y, s))

    # Only three distinct score values.
    y = (rng.random((120, 5)) < 0.3).astype(float)
    s = rng.integers(0, 3, size=(120, 5)) / 2.0
    s = np.where(y == 1, np.maximum(s, rng.integers(0, 3, size=(120, 5)) / 2.0), s)
    cases.append(metric_case("three_levels", y, s))

    # One-hot truth for top-1 accuracy, with tied maxima in some rows.
    labels = rng.integers(0, 6, size=150)
    y = np.eye(6)[labels]
    s = np.round(rng.random((150, 6)) + 0.5 * y, 1)
    cases.append(metric_case("one_hot", y, s))
    return cases


def logistic_cases():
    rng = np.random.default_rng(7)
    n_train, n_test, d, c = 200, 50, 5, 4
    centres = rng.normal(size=(c, d))
    cases = []

    def features(n, labels, shift):
        x = rng.normal(size=(n, d)) + labels @ centres * 0.8 + shift
        return x.astype(np.float32)

    # Multi-label targets, one binary sklearn model per class.
    y_train = (rng.random((n_train, c)) < [0.4, 0.25, 0.1, 0.05]).astype(float)
    y_train[0, 3] = 1.0
    y_test = (rng.random((n_test, c)) < 0.3).astype(float)
    shift = np.array([3.0, -2.0, 0.5, 10.0, 0.0])
    x_train = features(n_train, y_train, shift)
    x_test = features(n_test, y_test, shift)
    for name, C, balanced, standardize in [
        ("sigmoid_c1", 1.0, False, False),
        ("sigmoid_c0.05_balanced", 0.05, True, False),
        ("sigmoid_c0.3_standardized", 0.3, False, True),
    ]:
        xt, xe = x_train.astype(np.float64), x_test.astype(np.float64)
        if standardize:
            scaler = StandardScaler().fit(xt)
            xt, xe = scaler.transform(xt), scaler.transform(xe)
        proba = np.zeros((n_test, c))
        for k in range(c):
            model = LogisticRegression(
                C=C,
                tol=1e-12,
                max_iter=100_000,
                class_weight="balanced" if balanced else None,
            ).fit(xt, y_train[:, k])
            proba[:, k] = model.predict_proba(xe)[:, 1]
        cases.append(
            {
                "name": name,
                "kind": "sigmoid",
                "C": C,
                "balanced": balanced,
                "standardize": standardize,
                "x_train": as_list(x_train),
                "y_train": as_list(y_train),
                "x_test": as_list(x_test),
                "proba": as_list(proba),
            }
        )

    # Single-label targets, multinomial model.
    labels = rng.choice(c, size=n_train, p=[0.4, 0.3, 0.2, 0.1])
    y_train = np.eye(c)[labels]
    x_train = features(n_train, y_train, 0.0)
    x_test = features(n_test, np.eye(c)[rng.integers(0, c, size=n_test)], 0.0)
    for name, C, balanced in [("softmax_c0.5", 0.5, False), ("softmax_c2_balanced", 2.0, True)]:
        model = LogisticRegression(
            C=C,
            tol=1e-12,
            max_iter=100_000,
            class_weight="balanced" if balanced else None,
        ).fit(x_train.astype(np.float64), labels)
        proba = model.predict_proba(x_test.astype(np.float64))
        cases.append(
            {
                "name": name,
                "kind": "softmax",
                "C": C,
                "balanced": balanced,
                "standardize": False,
                "x_train": as_list(x_train),
                "y_train": as_list(y_train),
                "x_test": as_list(x_test),
                "proba": as_list(proba),
            }
        )
    return cases


def main():
    version = {"scikit-learn": sklearn.__version__, "numpy": np.__version__}
    for file, cases in [("metrics.json", metric_cases()), ("logistic.json", logistic_cases())]:
        path = HERE / file
        path.write_text(json.dumps({"versions": version, "cases": cases}, separators=(",", ":")))
        print(f"wrote {path} ({path.stat().st_size} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
