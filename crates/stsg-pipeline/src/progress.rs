//! Progress reporting hooks, so that a front end can draw bars without this crate depending on a
//! terminal library.

/// Creates one progress bar per long stage.
pub trait Progress: Sync {
    /// Starts a stage of `total` steps counted in `unit` (for example `"files"`).
    fn start(&self, stage: &str, total: u64, unit: &str) -> Box<dyn ProgressBar>;
}

/// The bar of one stage.
pub trait ProgressBar: Send + Sync {
    /// Advances by `n` steps.
    fn inc(&self, n: u64);
    /// Sets the position to `pos` steps.
    fn set_position(&self, pos: u64);
    /// Shows a short status message next to the bar.
    fn set_message(&self, message: String);
    /// Marks the stage as done.
    fn finish(&self);
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _stage: &str, _total: u64, _unit: &str) -> Box<dyn ProgressBar> {
        Box::new(NoProgress)
    }
}

impl ProgressBar for NoProgress {
    fn inc(&self, _n: u64) {}
    fn set_position(&self, _pos: u64) {}
    fn set_message(&self, _message: String) {}
    fn finish(&self) {}
}
