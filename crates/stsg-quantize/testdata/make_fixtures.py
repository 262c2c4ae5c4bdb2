"""Writes pca_fixture.json: a small correlated matrix and its PCA computed with numpy's SVD.

The data are float32 (stored as exact decimal values of the float32 numbers); the reference is
computed in float64 on the centred data: components are the right singular vectors and the
explained variance is S^2 / (n - 1), as in scikit-learn's PCA. Run with
/work/venv/bin/python crates/stsg-quantize/testdata/make_fixtures.py
"""

import json
import os

import numpy as np


def main():
    rng = np.random.default_rng(4)
    n, d, n_components = 240, 12, 5
    # Distinct variances along random directions, plus an offset, so components are well separated.
    scales = np.array([9.0, 6.0, 4.0, 2.5, 1.5, 1.0, 0.7, 0.5, 0.3, 0.2, 0.1, 0.05])
    basis, _ = np.linalg.qr(rng.normal(size=(d, d)))
    latent = rng.normal(size=(n, d)) * scales
    data = (latent @ basis.T + rng.normal(0.0, 5.0, size=d)).astype(np.float32)

    x = data.astype(np.float64)
    centred = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    variance = s**2 / (n - 1)

    fixture = {
        "generator": f"make_fixtures.py, numpy {np.__version__}",
        "n_components": n_components,
        "data": [[float(v) for v in row] for row in data],
        "mean": [float(v) for v in x.mean(axis=0)],
        "components": [[float(v) for v in row] for row in vt[:n_components]],
        "explained_variance": [float(v) for v in variance[:n_components]],
        "explained_variance_ratio": [float(v) for v in (variance / variance.sum())[:n_components]],
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pca_fixture.json")
    with open(path, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
