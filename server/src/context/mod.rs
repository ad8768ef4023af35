//! What the model sees of a conversation: token counting, and the messages rebuilt from the
//! stored history. (Compression and summaries build on this.)
pub mod history;
pub mod tokens;
