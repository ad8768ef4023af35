//! What the model sees of a conversation: token counting, and the messages rebuilt from the
//! stored history, the cache of each conversation's prepared context, and the progressive compression that keeps it within its budget.
pub mod cache;
pub mod calibration;
pub mod compress;
pub mod history;
pub mod summarizer;
pub mod tokens;
pub mod topics;
