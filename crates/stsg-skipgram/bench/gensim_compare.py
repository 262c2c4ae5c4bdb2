"""Compare stsg-skipgram with gensim 4.4 on the same token files: quality and speed.

Usage (from the workspace root, with the venv's Python):

    python crates/stsg-skipgram/bench/gensim_compare.py planted   # planted-structure corpus
    python crates/stsg-skipgram/bench/gensim_compare.py real      # tokens from birdclef-mini audio
    python crates/stsg-skipgram/bench/gensim_compare.py speed     # tokens/s, 1 and 2 threads

Each command writes its token file to OUT_DIR (default /tmp/stsg-skipgram-compare), trains
gensim in this process and our `train_tokens` example (built with `cargo build --release -p
stsg-skipgram --example train_tokens`) on the same file with the same parameters, and merges
its figures into crates/stsg-skipgram/bench/results.json.

Quality measures:
- planted: tokens 0..1999 form 40 groups of 50 (Zipf-like frequencies inside a group); 200
  sequences of 400 tokens follow a Markov chain that stays in the current group with
  probability 0.7. Score: mean fraction of each token's 10 nearest
  neighbours (cosine) that share its group.
- real: MFCC-20 of log-Mel frames (32 kHz, frame 8000, hop 4000, n_fft 8192, 128 Mel) of the
  birdclef-mini train_audio and train_soundscapes files, k-means (faiss, K = 256) into tokens,
  one sequence per file. Scores: (1) Spearman correlation between the two models' pairwise
  cosine similarities over the 100 most frequent tokens, against the same correlation between
  two gensim runs with different seeds (the noise floor); (2) per model, the mean overlap of
  each frequent token's 10 nearest neighbours with its 10 most frequent co-occurring tokens
  (within +-8 frames).
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
RESULTS = Path(__file__).resolve().parent / "results.json"
OUT_DIR = Path(os.environ.get("OUT_DIR", "/tmp/stsg-skipgram-compare"))
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
EXAMPLE = TARGET / "release" / "examples" / "train_tokens"
# Worker threads of both trainers in the quality runs. `THREADS=2` checks the Hogwild mode, and
# its results are stored under "<command>_2_threads".
THREADS = int(os.environ.get("THREADS", "1"))
DATA = Path(os.environ.get("STSG_DATA_DIR", ROOT.parent / "shared" / "data")) / "birdclef-mini"


def write_tokens(path, sequences):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        for seq in sequences:
            f.write(" ".join(str(int(t)) for t in seq) + "\n")


def read_tokens(path):
    with open(path) as f:
        return [line.split() for line in f if line.strip()]


def train_gensim(token_path, params, threads, seed):
    from gensim.models import Word2Vec
    from gensim.models.callbacks import CallbackAny2Vec

    sentences = read_tokens(token_path)
    model = Word2Vec(
        vector_size=params["dim"], window=params["window"], negative=params["negative"],
        ns_exponent=params["ns_exponent"], sample=params["sample"], min_count=1, sg=1, hs=0,
        alpha=0.025, min_alpha=0.0001, seed=seed, workers=threads, shrink_windows=True,
        sorted_vocab=1, compute_loss=True,
    )
    model.build_vocab(sentences)

    class EpochLoss(CallbackAny2Vec):
        # gensim's running loss is cumulative over one train() call, so take differences.
        def __init__(self):
            self.cumulative = [0.0]

        def on_epoch_end(self, model):
            self.cumulative.append(model.get_latest_training_loss())

    epoch_loss = EpochLoss()
    start = time.perf_counter()
    model.train(
        sentences, total_examples=model.corpus_count, epochs=params["epochs"], compute_loss=True,
        callbacks=[epoch_loss],
    )
    seconds = time.perf_counter() - start
    vectors = {int(k): model.wv[k] for k in model.wv.index_to_key}
    tokens = sum(len(s) for s in sentences)
    return vectors, {
        "seconds": seconds,
        "tokens_per_second_per_thread": tokens * params["epochs"] / seconds / threads,
        "epoch_losses": list(np.diff(epoch_loss.cumulative)),
    }


def train_ours(token_path, params, threads, seed):
    out = token_path.with_suffix(f".ours.t{threads}.s{seed}.txt")
    cmd = [
        str(EXAMPLE), str(token_path), str(out), "--dim", str(params["dim"]),
        "--window", str(params["window"]), "--negative", str(params["negative"]),
        "--ns-exponent", str(params["ns_exponent"]), "--sample", str(params["sample"]),
        "--epochs", str(params["epochs"]), "--threads", str(threads), "--seed", str(seed),
    ]
    run = subprocess.run(cmd, check=True, capture_output=True, text=True)
    stats = json.loads(run.stdout.strip().splitlines()[-1])
    from gensim.models import KeyedVectors

    # Reading our output with gensim also checks that gensim accepts the text format.
    kv = KeyedVectors.load_word2vec_format(str(out), binary=False)
    vectors = {int(k): kv[k] for k in kv.index_to_key}
    return vectors, {
        "seconds": stats["seconds"],
        "tokens_per_second_per_thread": stats["tokens_per_second_per_thread"],
        "epoch_losses": stats["epoch_losses"],
    }


def unit_matrix(vectors, tokens):
    m = np.stack([vectors[t] for t in tokens]).astype(np.float64)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def neighbours(vectors, tokens, k):
    m = unit_matrix(vectors, tokens)
    sim = m @ m.T
    np.fill_diagonal(sim, -np.inf)
    return np.argsort(-sim, axis=1)[:, :k]


def merge_results(key, value):
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[key] = value
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def quality_key(command):
    return command if THREADS == 1 else f"{command}_{THREADS}_threads"


def planted():
    rng = np.random.default_rng(2024)
    # Hard enough that neither model reaches purity 1: 2000 tokens seen about 40 times each.
    groups, per_group, stay, n_seq, seq_len = 40, 50, 0.7, 200, 400
    # Zipf-like frequencies inside each group, so that subsampling matters.
    weights = 1.0 / np.arange(1, per_group + 1) ** 0.8
    weights /= weights.sum()
    sequences = []
    for _ in range(n_seq):
        g = rng.integers(groups)
        seq = []
        for _ in range(seq_len):
            if rng.random() > stay:
                g = rng.integers(groups)
            seq.append(g * per_group + rng.choice(per_group, p=weights))
        sequences.append(seq)
    path = OUT_DIR / "planted.tokens"
    write_tokens(path, sequences)
    params = {"dim": 32, "window": 5, "negative": 5, "ns_exponent": 0.75, "sample": 1e-3, "epochs": 3}

    def purity(vectors):
        tokens = sorted(vectors)
        nn = neighbours(vectors, tokens, 10)
        group = np.array(tokens) // per_group
        return float(np.mean(group[nn] == group[:, None]))

    corpus = {"sequences": n_seq, "tokens": n_seq * seq_len, "groups": groups, "per_group": per_group, "stay": stay}
    result = {"params": params, "corpus": corpus}
    for seed in (1, 2, 3):
        g_vec, g_stats = train_gensim(path, params, THREADS, seed)
        o_vec, o_stats = train_ours(path, params, THREADS, seed)
        result[f"seed{seed}"] = {
            "gensim_purity": purity(g_vec), "ours_purity": purity(o_vec),
            "gensim_seconds": g_stats["seconds"], "ours_seconds": o_stats["seconds"],
        }
        print(seed, result[f"seed{seed}"], flush=True)
    g = [result[f"seed{s}"]["gensim_purity"] for s in (1, 2, 3)]
    o = [result[f"seed{s}"]["ours_purity"] for s in (1, 2, 3)]
    result["gensim_purity_mean"] = float(np.mean(g))
    result["ours_purity_mean"] = float(np.mean(o))
    result["difference"] = float(np.mean(o) - np.mean(g))
    merge_results(quality_key("planted"), result)
    print(json.dumps(result, indent=2))


def real_tokens(k=256):
    path = OUT_DIR / f"birdclef_mini_k{k}.tokens"
    if path.exists():
        return path
    import faiss
    import librosa

    files = sorted((DATA / "train_soundscapes").glob("*.ogg")) + sorted((DATA / "train_audio").rglob("*.ogg"))
    feats = []
    for f in files:
        y, _ = librosa.load(f, sr=32000, mono=True)
        if len(y) < 8000:
            y = np.pad(y, (0, 8000 - len(y)))
        frames = librosa.util.frame(y, frame_length=8000, hop_length=4000)
        window = np.hanning(8000 + 1)[:-1]
        spec = np.abs(np.fft.rfft(frames.T * window, n=8192)) ** 2
        mel = librosa.filters.mel(sr=32000, n_fft=8192, n_mels=128) @ spec.T
        mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel + 1e-10), n_mfcc=20)
        feats.append(mfcc.T.astype(np.float32))
    all_feats = np.concatenate(feats)
    kmeans = faiss.Kmeans(all_feats.shape[1], k, niter=25, seed=1234)
    kmeans.train(all_feats)
    sequences = [kmeans.index.search(f, 1)[1][:, 0] for f in feats]
    write_tokens(path, sequences)
    print(f"{len(files)} files, {len(all_feats)} tokens -> {path}", flush=True)
    return path


def real():
    path = real_tokens()
    sentences = [[int(t) for t in s] for s in read_tokens(path)]
    counts = np.bincount(np.concatenate([np.array(s) for s in sentences]), minlength=256)
    frequent = [int(t) for t in np.argsort(-counts)[:100]]
    params = {"dim": 64, "window": 80, "negative": 5, "ns_exponent": 0.75, "sample": 1e-3, "epochs": 20}

    # Co-occurrence within +-8 frames (1 s), the structure both models should pick up.
    cooc = np.zeros((256, 256))
    for s in sentences:
        s = np.array(s)
        for d in range(1, 9):
            np.add.at(cooc, (s[:-d], s[d:]), 1)
            np.add.at(cooc, (s[d:], s[:-d]), 1)
    np.fill_diagonal(cooc, 0)
    top_cooc = {t: set(np.argsort(-cooc[t])[:10].tolist()) for t in frequent}

    def cosine_upper(vectors):
        m = unit_matrix(vectors, frequent)
        return (m @ m.T)[np.triu_indices(len(frequent), 1)]

    def cooc_agreement(vectors):
        tokens = sorted(vectors)
        nn = neighbours(vectors, tokens, 10)
        index = {t: i for i, t in enumerate(tokens)}
        return float(np.mean([len({tokens[j] for j in nn[index[t]]} & top_cooc[t]) / 10 for t in frequent]))

    from scipy.stats import spearmanr

    g1, g_stats = train_gensim(path, params, THREADS, 1)
    g2, _ = train_gensim(path, params, THREADS, 2)
    o1, o_stats = train_ours(path, params, THREADS, 1)
    o2, _ = train_ours(path, params, THREADS, 2)
    result = {
        "params": params,
        "corpus": {"files": len(sentences), "tokens": int(counts.sum()), "k": 256},
        "spearman_gensim_seed1_vs_gensim_seed2": float(spearmanr(cosine_upper(g1), cosine_upper(g2))[0]),
        "spearman_ours_seed1_vs_ours_seed2": float(spearmanr(cosine_upper(o1), cosine_upper(o2))[0]),
        "spearman_gensim_seed1_vs_ours_seed1": float(spearmanr(cosine_upper(g1), cosine_upper(o1))[0]),
        "spearman_gensim_seed2_vs_ours_seed2": float(spearmanr(cosine_upper(g2), cosine_upper(o2))[0]),
        "cooccurrence_agreement_gensim": [cooc_agreement(g1), cooc_agreement(g2)],
        "cooccurrence_agreement_ours": [cooc_agreement(o1), cooc_agreement(o2)],
        "gensim_epoch_losses_seed1": [float(x) for x in g_stats["epoch_losses"]],
        "ours_epoch_losses_seed1": o_stats["epoch_losses"],
    }
    merge_results(quality_key("real"), result)
    print(json.dumps(result, indent=2))


def speed():
    params = {"dim": 256, "window": 80, "negative": 5, "ns_exponent": 0.75, "sample": 1e-3, "epochs": 2}
    result = {"params": params, "machine": os.uname().nodename, "runs": []}
    # K 256 is the quality corpus; K 1024 is the vocabulary of the pipeline's small-data preset.
    for k in (256, 1024):
        path = real_tokens(k)
        for threads in (1, 2):
            _, g = train_gensim(path, params, threads, 1)
            _, o = train_ours(path, params, threads, 1)
            run = {
                "vocabulary": k,
                "threads": threads,
                "gensim_tokens_per_second_per_thread": g["tokens_per_second_per_thread"],
                "ours_tokens_per_second_per_thread": o["tokens_per_second_per_thread"],
            }
            result["runs"].append(run)
            print(run, flush=True)
    merge_results("speed", result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    commands = {"planted": planted, "real": real, "speed": speed}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]]()
