"""Side-by-side data and faiss timings for the stsg-quantize k-means and assignment.

Writes the shared input data as .npy files (so the Rust example reads the very same points),
then times faiss-cpu on it:

  * k-means: faiss.Kmeans on TRAIN (default 200,000 x 20, K 1024, 20 iterations);
  * assignment: IndexFlatL2 search (k=1) of ASSIGN points (default 1,000,000 x 128) against
    16,383 centroids.

Usage (from the workspace root):

  /work/venv/bin/python crates/stsg-quantize/bench/faiss_kmeans.py --data-dir /tmp/stsg-quantize-bench
  cargo run --release -p stsg-quantize --example kmeans_vs_faiss -- /tmp/stsg-quantize-bench

Each result is printed as one JSON line: wall-clock `seconds` and process CPU time
`cpu_seconds` (user + system over all threads), which is the fairer figure on a shared machine.
"""

import argparse
import json
import os
import time

import numpy as np


def mixture(rng, n, d, n_centres):
    """Gaussian mixture: n points around n_centres random centres (unit noise, centres ~ N(0, 3^2))."""
    centres = rng.normal(0.0, 3.0, size=(n_centres, d)).astype(np.float32)
    which = rng.integers(0, n_centres, size=n)
    return (centres[which] + rng.normal(0.0, 1.0, size=(n, d))).astype(np.float32)


def write_data(data_dir, n_train, d_train, n_assign, d_assign, k_assign):
    os.makedirs(data_dir, exist_ok=True)
    rng = np.random.default_rng(20250708)
    files = {
        "kmeans_train.npy": lambda: mixture(rng, n_train, d_train, 2000),
        "assign_points.npy": lambda: mixture(rng, n_assign, d_assign, 4000),
        "assign_centroids.npy": lambda: mixture(rng, k_assign, d_assign, 4000),
    }
    for name, make in files.items():
        path = os.path.join(data_dir, name)
        array = make()
        np.save(path, np.ascontiguousarray(array, dtype=np.float32))


def inertia(index_cls, points, centroids):
    index = index_cls(centroids.shape[1])
    index.add(centroids)
    distances, _ = index.search(points, 1)
    return float(distances[:, 0].astype(np.float64).sum())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="/tmp/stsg-quantize-bench")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--k", type=int, default=1024)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--n-train", type=int, default=200_000)
    parser.add_argument("--d-train", type=int, default=20)
    parser.add_argument("--n-assign", type=int, default=1_000_000)
    parser.add_argument("--d-assign", type=int, default=128)
    parser.add_argument("--k-assign", type=int, default=16_383)
    parser.add_argument("--skip-write", action="store_true", help="reuse the .npy files in --data-dir")
    parser.add_argument("--only", choices=["kmeans", "assign"], help="run one of the two timings")
    args = parser.parse_args()

    import faiss

    faiss.omp_set_num_threads(args.threads)
    if not args.skip_write:
        write_data(args.data_dir, args.n_train, args.d_train, args.n_assign, args.d_assign, args.k_assign)

    if args.only in (None, "kmeans"):
        x = np.load(os.path.join(args.data_dir, "kmeans_train.npy"))
        km = faiss.Kmeans(x.shape[1], args.k, niter=args.iters, seed=1234, max_points_per_centroid=256)
        start, cpu_start = time.perf_counter(), time.process_time()
        km.train(x)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        print(json.dumps({
            "tool": f"faiss-cpu {faiss.__version__}",
            "task": "kmeans",
            "n": x.shape[0], "d": x.shape[1], "k": args.k, "iters": args.iters,
            "threads": args.threads,
            "seconds": round(seconds, 3),
            "cpu_seconds": round(cpu, 3),
            "last_iteration_inertia": float(km.obj[-1]),
            "final_inertia": inertia(faiss.IndexFlatL2, x, km.centroids),
        }), flush=True)

    if args.only in (None, "assign"):
        points = np.load(os.path.join(args.data_dir, "assign_points.npy"))
        centroids = np.load(os.path.join(args.data_dir, "assign_centroids.npy"))
        index = faiss.IndexFlatL2(centroids.shape[1])
        index.add(centroids)
        start, cpu_start = time.perf_counter(), time.process_time()
        distances, labels = index.search(points, 1)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        np.save(os.path.join(args.data_dir, "faiss_assign_labels.npy"), labels[:, 0].astype(np.int64))
        print(json.dumps({
            "tool": f"faiss-cpu {faiss.__version__}",
            "task": "assign",
            "n": points.shape[0], "d": points.shape[1], "k": centroids.shape[0],
            "threads": args.threads,
            "seconds": round(seconds, 3),
            "cpu_seconds": round(cpu, 3),
            "points_per_second": round(points.shape[0] / seconds),
            "distance_sum": float(distances[:, 0].astype(np.float64).sum()),
        }), flush=True)


if __name__ == "__main__":
    main()
