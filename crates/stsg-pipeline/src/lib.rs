//! End-to-end STSG pipeline (work in progress).

pub use stsg_audio as audio;
pub use stsg_core as core;
pub use stsg_head as head;
pub use stsg_mel as mel;
pub use stsg_quantize as quantize;
pub use stsg_skipgram as skipgram;
