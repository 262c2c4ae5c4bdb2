//! Training behaviour and file round trips of stsg-skipgram.

#![allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use stsg_core::{Fit, TokenCorpus, TokenEmbeddings};
use stsg_skipgram::{Embeddings, SkipGramError, SkipGramParams};

const GROUPS: u32 = 10;
const PER_GROUP: u32 = 20;

/// Sequences from a Markov chain over `GROUPS` groups of `PER_GROUP` tokens that stays in its
/// group with probability 0.9; token `t` belongs to group `t / PER_GROUP`.
fn planted_corpus(n_sequences: usize, len: usize, seed: u64) -> Vec<Vec<u32>> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move |n: u32| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) % n as u64) as u32
    };
    (0..n_sequences)
        .map(|_| {
            let mut group = next(GROUPS);
            (0..len)
                .map(|_| {
                    if next(10) == 0 {
                        group = next(GROUPS);
                    }
                    group * PER_GROUP + next(PER_GROUP)
                })
                .collect()
        })
        .collect()
}

/// Mean fraction of each token's 5 nearest neighbours (cosine) in its own group.
fn group_purity(embeddings: &Embeddings) -> f64 {
    let tokens = embeddings.tokens();
    let unit: Vec<Vec<f32>> = embeddings
        .vectors()
        .rows()
        .into_iter()
        .map(|r| {
            let norm = r.dot(&r).sqrt();
            r.iter().map(|v| v / norm).collect()
        })
        .collect();
    let mut total = 0.0;
    for (i, a) in unit.iter().enumerate() {
        let mut sims: Vec<(f32, u32)> = unit
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(j, b)| (a.iter().zip(b).map(|(x, y)| x * y).sum(), tokens[j]))
            .collect();
        sims.sort_by(|x, y| y.0.total_cmp(&x.0));
        let same = sims[..5]
            .iter()
            .filter(|(_, t)| t / PER_GROUP == tokens[i] / PER_GROUP)
            .count();
        total += same as f64 / 5.0;
    }
    total / unit.len() as f64
}

fn small_params() -> SkipGramParams {
    SkipGramParams::new(16)
        .window(4)
        .epochs(5)
        .sample(0.0)
        .n_threads(Some(1))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

#[test]
fn planted_groups_are_recovered() {
    let sequences = planted_corpus(60, 300, 1);
    let corpus = TokenCorpus {
        sequences: &sequences,
        n_tokens: 200,
    };
    let embeddings = small_params().check().unwrap().fit(corpus).unwrap();
    let purity = group_purity(&embeddings);
    assert!(purity > 0.9, "purity {purity}");
}

#[test]
fn loss_decreases_over_epochs() {
    let sequences = planted_corpus(60, 300, 2);
    let corpus = TokenCorpus {
        sequences: &sequences,
        n_tokens: 200,
    };
    let losses = Mutex::new(Vec::new());
    small_params()
        .epochs(6)
        .check()
        .unwrap()
        .fit_with_progress(corpus, |p| {
            if p.epoch_finished {
                losses.lock().unwrap().push(p.loss);
            }
        })
        .unwrap();
    let losses = losses.into_inner().unwrap();
    assert_eq!(losses.len(), 6);
    // The first epoch learns most of the structure; afterwards the loss plateaus with noise
    // from the random windows and negatives, so later epochs are compared with margins.
    for (epoch, loss) in losses.iter().enumerate().skip(1) {
        assert!(
            *loss < 0.8 * losses[0],
            "epoch {epoch} loss not below the first: {losses:?}"
        );
    }
    assert!(
        losses[5] < 1.01 * losses[1],
        "loss rose over the run: {losses:?}"
    );
}

#[test]
fn progress_reports_cover_each_epoch() {
    let sequences = planted_corpus(50, 500, 3);
    let corpus = TokenCorpus {
        sequences: &sequences,
        n_tokens: 200,
    };
    let reports = Mutex::new(Vec::new());
    small_params()
        .epochs(2)
        .check()
        .unwrap()
        .fit_with_progress(corpus, |p| reports.lock().unwrap().push(p.clone()))
        .unwrap();
    let reports = reports.into_inner().unwrap();
    let finals: Vec<_> = reports.iter().filter(|p| p.epoch_finished).collect();
    assert_eq!(finals.len(), 2);
    for p in &finals {
        assert_eq!(p.tokens_done, 25_000);
        assert_eq!(p.tokens_total, 25_000);
        assert_eq!(p.trained_tokens, 25_000, "sample = 0 keeps every token");
        assert!(p.tokens_per_second > 0.0);
        assert!(p.loss > 0.0);
    }
    // 25,000 tokens in jobs of at most 10,000 give 3 job reports per epoch.
    assert_eq!(reports.len(), 2 * 4);
    let last_alpha = finals[1].alpha;
    assert!(
        last_alpha < 0.025 && last_alpha > 0.0001,
        "alpha {last_alpha}"
    );
}

#[test]
fn single_thread_is_deterministic() {
    let sequences = planted_corpus(20, 200, 4);
    let corpus = TokenCorpus {
        sequences: &sequences,
        n_tokens: 200,
    };
    let params = small_params().sample(1e-3).epochs(2);
    let a = params.check().unwrap().fit(corpus).unwrap();
    let b = params.check().unwrap().fit(corpus).unwrap();
    assert_eq!(a, b);
    let c = params.seed(2).check().unwrap().fit(corpus).unwrap();
    assert_ne!(a.vectors(), c.vectors());
}

#[test]
fn two_threads_learn_the_same_structure() {
    let sequences = planted_corpus(60, 300, 1);
    let corpus = TokenCorpus {
        sequences: &sequences,
        n_tokens: 200,
    };
    let embeddings = small_params()
        .n_threads(Some(2))
        .check()
        .unwrap()
        .fit(corpus)
        .unwrap();
    assert!(embeddings.vectors().iter().all(|v| v.is_finite()));
    let purity = group_purity(&embeddings);
    assert!(purity > 0.9, "purity {purity}");
}

#[test]
fn unseen_and_rare_tokens_have_no_vector() {
    let sequences = vec![vec![0, 1, 2, 0, 1, 2, 0, 1, 5], vec![2, 1, 0, 2, 1, 0]];
    let corpus = TokenCorpus {
        sequences: &sequences,
        n_tokens: 8,
    };
    let embeddings = small_params()
        .min_count(2)
        .check()
        .unwrap()
        .fit(corpus)
        .unwrap();
    assert_eq!(embeddings.n_tokens(), 8);
    assert_eq!(embeddings.vocab_len(), 3);
    assert!(embeddings.vector(0).is_some());
    assert!(
        embeddings.vector(5).is_none(),
        "token 5 occurs once, below min_count = 2"
    );
    assert!(embeddings.vector(7).is_none(), "token 7 never occurs");
    assert_eq!(embeddings.count(0), Some(5));
    let dense = embeddings.to_dense();
    assert_eq!(dense.nrows(), 8);
    assert!(dense.row(7).iter().all(|&v| v == 0.0));
}

#[test]
fn out_of_range_token_is_rejected() {
    let sequences = vec![vec![0, 1], vec![2, 9]];
    let corpus = TokenCorpus {
        sequences: &sequences,
        n_tokens: 4,
    };
    let err = small_params().check().unwrap().fit(corpus).unwrap_err();
    assert!(
        matches!(
            err,
            SkipGramError::TokenOutOfRange {
                sequence: 1,
                position: 1,
                token: 9,
                n_tokens: 4
            }
        ),
        "{err}"
    );
}

#[test]
fn empty_corpus_is_rejected() {
    let sequences: Vec<Vec<u32>> = vec![vec![], vec![]];
    let corpus = TokenCorpus {
        sequences: &sequences,
        n_tokens: 4,
    };
    let err = small_params().check().unwrap().fit(corpus).unwrap_err();
    assert!(matches!(err, SkipGramError::EmptyCorpus { .. }), "{err}");
}

fn trained() -> Embeddings {
    let sequences = planted_corpus(10, 200, 5);
    let corpus = TokenCorpus {
        sequences: &sequences,
        n_tokens: 250,
    };
    small_params()
        .epochs(1)
        .check()
        .unwrap()
        .fit(corpus)
        .unwrap()
}

#[test]
fn finalfusion_round_trip_gives_raw_vectors() {
    let embeddings = trained();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vectors.fifu");
    embeddings.save(&path).unwrap();
    let loaded = Embeddings::load(&path).unwrap();
    assert_eq!(loaded.n_tokens(), 250);
    assert_eq!(loaded.tokens(), embeddings.tokens());
    assert_eq!(loaded.counts(), embeddings.counts());
    for (row, (a, b)) in embeddings
        .vectors()
        .rows()
        .into_iter()
        .zip(loaded.vectors().rows())
        .enumerate()
    {
        let norm = a.dot(&a).sqrt();
        assert!(norm > 0.01, "row {row} is near zero");
        for (k, (x, y)) in a.iter().zip(b.iter()).enumerate() {
            assert!(
                (x - y).abs() <= 1e-6 * norm,
                "row {row} component {k}: saved {x}, loaded {y}"
            );
        }
    }
}

#[test]
fn finalfusion_load_rejects_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vectors.fifu");
    trained().save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = Embeddings::load(&path).unwrap_err();
    assert!(matches!(err, SkipGramError::InvalidFile { .. }), "{err}");
    assert!(err.to_string().contains("vectors.fifu"), "{err}");
    let missing = Embeddings::load(&dir.path().join("missing.fifu")).unwrap_err();
    assert!(matches!(missing, SkipGramError::Io { .. }), "{missing}");
}

#[test]
fn word2vec_text_round_trip_is_exact() {
    let embeddings = trained();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vectors.txt");
    embeddings.save_word2vec_text(&path).unwrap();
    let loaded = Embeddings::load_word2vec_text(&path).unwrap();
    assert_eq!(loaded.tokens(), embeddings.tokens());
    assert_eq!(loaded.vectors(), embeddings.vectors());
    assert_eq!(loaded.counts(), None);
    let first = std::fs::read_to_string(&path).unwrap();
    let header = first.lines().next().unwrap();
    assert_eq!(header, format!("{} 16", embeddings.vocab_len()));
}

#[test]
fn gensim_word2vec_text_loads() {
    let loaded = Embeddings::load_word2vec_text(&fixture("gensim_tiny.w2v.txt")).unwrap();
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("gensim_tiny.json")).unwrap())
            .unwrap();
    let vectors = expected["vectors"].as_object().unwrap();
    assert_eq!(loaded.vocab_len(), vectors.len());
    assert_eq!(loaded.n_tokens(), 41);
    assert_eq!(loaded.dim(), 6);
    for (key, values) in vectors {
        let token: u32 = key.parse().unwrap();
        let got = loaded.vector(token).unwrap();
        for (k, (g, e)) in got.iter().zip(values.as_array().unwrap()).enumerate() {
            let e = e.as_f64().unwrap() as f32;
            assert!(
                (g - e).abs() <= 1e-6 * e.abs().max(1e-3),
                "token {token} component {k}: {g} vs {e}"
            );
        }
    }
    assert!(loaded.vector(20).is_none());
}

#[test]
fn word2vec_text_errors_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.txt");
    let cases = [
        ("", "empty file"),
        ("2\n", "line 1"),
        ("1 2\nx 0.1 0.2\n", "line 2"),
        ("1 2\n3 0.1\n", "line 2: expected 2 values, got 1"),
        ("1 2\n3 0.1 abc\n", "line 2"),
        ("2 2\n3 0.1 0.2\n", "announces 2 vectors"),
        ("2 2\n3 0.1 0.2\n3 0.3 0.4\n", "appears twice"),
    ];
    for (text, expected) in cases {
        std::fs::write(&path, text).unwrap();
        let err = Embeddings::load_word2vec_text(&path).unwrap_err();
        assert!(err.to_string().contains(expected), "{text:?}: {err}");
        assert!(err.to_string().contains("bad.txt"), "{text:?}: {err}");
    }
}
