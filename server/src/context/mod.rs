//! What the model sees of a conversation. The entrance is [`ContextService`]: `prepare` a
//! turn's context before its model request, `commit` it after the answer. Behind it: token
//! counting, the messages rebuilt from the stored history, the cache of each conversation's
//! prepared context, topics, calibration to the model's own token counts, and the progressive
//! compression (with the summarizer) that keeps a context within its budget.
pub mod cache;
pub mod calibration;
pub mod compress;
pub mod head;
pub mod history;
pub mod service;
pub mod summarizer;
pub mod tokens;
pub mod topics;

pub use service::{Changes, ContextParts, ContextService, Pending, TurnContext, MAX_ANSWER_TOKENS};
