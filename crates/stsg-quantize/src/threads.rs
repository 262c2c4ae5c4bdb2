//! The one place that decides which rayon pool the parallel loops run on.

use crate::error::QuantizeError;

/// A dedicated pool of `n` threads, or the caller's current rayon pool.
#[derive(Debug)]
pub(crate) struct Threads(Option<rayon::ThreadPool>);

impl Threads {
    /// Builds a pool of `n_threads` threads; `None` uses the current pool.
    pub(crate) fn new(n_threads: Option<usize>) -> Result<Self, QuantizeError> {
        let Some(n) = n_threads else {
            return Ok(Self(None));
        };
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map(|pool| Self(Some(pool)))
            .map_err(|e| QuantizeError::ThreadPool {
                n_threads: n,
                message: e.to_string(),
            })
    }

    /// Runs `op` so that its rayon calls use this pool.
    pub(crate) fn run<R: Send>(&self, op: impl FnOnce() -> R + Send) -> R {
        match &self.0 {
            Some(pool) => pool.install(op),
            None => op(),
        }
    }
}
