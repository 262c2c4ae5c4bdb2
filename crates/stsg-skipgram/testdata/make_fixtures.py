"""Write the gensim fixtures of stsg-skipgram's tests (run with /work/venv/bin/python, gensim 4.4).

- gensim_tiny.w2v.txt: word2vec text format written by gensim's
  `KeyedVectors.save_word2vec_format(binary=False)` for a tiny model whose keys are token ids.
- gensim_tiny.json: the same vectors as float32 values printed exactly, and gensim's version.
"""

import json
from pathlib import Path

import gensim
import numpy as np
from gensim.models import Word2Vec

HERE = Path(__file__).resolve().parent

rng = np.random.default_rng(5)
sentences = [[str(t) for t in rng.integers(0, 12, size=40)] for _ in range(20)]
sentences.append(["40"] * 3)  # a sparse id, so that n_tokens = 41 with gaps
model = Word2Vec(sentences, vector_size=6, window=3, min_count=1, sg=1, negative=5, seed=3, workers=1, epochs=2)
model.wv.save_word2vec_format(str(HERE / "gensim_tiny.w2v.txt"), binary=False)
vectors = {k: [float(v) for v in model.wv[k]] for k in model.wv.index_to_key}
(HERE / "gensim_tiny.json").write_text(
    json.dumps({"gensim_version": gensim.__version__, "dim": 6, "vectors": vectors}, indent=1) + "\n"
)
