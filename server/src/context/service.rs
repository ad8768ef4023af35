//! The context entrance: [`ContextService::prepare`] gives a turn what its model request
//! carries of the conversation, and what the turn changes in the conversation (topics, title,
//! summary) for the store to write with the question; [`ContextService::commit`] extends the
//! cached context with the stored question and answer.
//!
//! Promises: `prepare` writes nothing to the database (the turn's one write carries its
//! changes), so a turn's model request never waits for a write; the context it returns is
//! within the budget (the limit less the answer's room, the system prompt and the tool
//! definitions, in the model's tokens as calibrated); the summarizer's tokens are reported so
//! the caller can be charged; `commit` folds the cached context only when the store kept the
//! turn's summary, and caches nothing for a turn whose messages were not stored.
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use super::cache::{ContextCache, Prepared};
use super::calibration::Calibration;
use super::head::Head;
use super::summarizer::Summarizer;
use super::{compress, history, tokens, topics};
use crate::fpl::FplSource;
use crate::llm::{Message, Role};
use crate::metrics::Metrics;
use crate::store::{self, Store, StoreError, SummaryUpdate, Title};
use crate::tools::ToolSpec;

/// Room left for the answer, in the model's tokens.
pub const MAX_ANSWER_TOKENS: u32 = 4_096;

/// Questions up to this size have their topics read on the async worker; longer ones on a
/// blocking thread.
const INLINE_TOPICS_BYTES: usize = 1_024;

/// What keeps conversations' contexts within their budget.
pub struct ContextParts {
    /// Folds old turns into the running summary.
    pub summarizer: Arc<dyn Summarizer>,
    /// The model's tokens per tiktoken token, learned from its reports.
    pub calibration: Calibration,
    /// FPL data for finding a conversation's topics (none: topics are not tracked).
    pub topics: Option<FplSource>,
    /// Each conversation's prepared context (process, then Redis).
    pub cache: ContextCache,
}

/// Prepares and commits turns' contexts; shared by every turn.
pub struct ContextService {
    parts: ContextParts,
    metrics: Arc<Metrics>,
    /// `CONTEXT_TOKEN_LIMIT`: the whole request's budget in the model's tokens.
    limit: u32,
    /// (tool list key, tokens) of the system prompt and tool definitions, counted once per
    /// tool list rather than per turn.
    fixed: Mutex<Option<(usize, u32)>>,
}

/// A turn's context, ready for the model request.
pub struct TurnContext {
    /// The conversation as the model sees it, the new question last.
    pub messages: Vec<Message>,
    /// The request's tokens as the model counts them (estimate × the model's factor).
    pub tokens: u64,
    /// Older turns were compressed to fit the budget.
    pub compressed: bool,
    /// Model tokens the summarizer spent for this turn (the caller's to pay).
    pub summarizer_tokens: u64,
    /// The question's tokens (counted once here, stored with it).
    pub question_tokens: u32,
    /// What the turn changes in the conversation, written with its question.
    pub changes: Changes,
    /// What [`ContextService::commit`] needs after the answer.
    pub pending: Pending,
}

/// What a turn changes in its conversation besides adding its messages.
#[derive(Debug, Default)]
pub struct Changes {
    /// The conversation's topics, when the question brought new ones.
    pub topics: Option<Vec<String>>,
    /// A title from the topics, when the second topic arrived now.
    pub title: Option<Title>,
    /// Older turns folded into the running summary now.
    pub summary: Option<SummaryUpdate>,
}

/// The context before the turn and what the turn did to it, applied after the answer.
pub struct Pending {
    before: Arc<Prepared>,
    topics: Vec<String>,
    /// The summary now covers the messages through this seq.
    folded: Option<(i64, String)>,
    /// The request's tokens as tiktoken estimated them (compared with what the model reports).
    estimate: u64,
    model: String,
}

impl ContextService {
    pub fn new(parts: ContextParts, metrics: Arc<Metrics>, limit: u32) -> Self {
        Self {
            parts,
            metrics,
            limit,
            fixed: Mutex::new(None),
        }
    }

    /// Conversation `id`'s head when Redis has it for `owner` (see [`Heads::get`]).
    ///
    /// [`Heads::get`]: super::head::Heads::get
    pub async fn head(&self, owner: app::types::Owner, id: Uuid) -> Option<Head> {
        self.parts.cache.head(owner, id).await
    }

    /// The whole request's budget (`CONTEXT_TOKEN_LIMIT`).
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The context of `question` in the conversation of `head` (`None`: a turn that starts
    /// one), after the leaf of its branch, or after message `branch_at` (an edited question's
    /// or a regenerated answer's parent; 0: the first question), for `model` with `tools` and the system prompt `system`. Reads (the cache, else
    /// the database: [`StoreError::NotFound`] when the conversation is not the head owner's);
    /// writes nothing.
    pub async fn prepare(
        &self,
        store: &Store,
        (head, branch_at): (Option<&Head>, Option<i64>),
        question: &str,
        request: (&str, &[ToolSpec], &str),
    ) -> Result<TurnContext, StoreError> {
        let (model, tools, system) = request;
        let cache = &self.parts.cache;
        let before = match (head, branch_at) {
            (Some(head), None) => cache.load(store, head).await?,
            (Some(head), Some(at)) => cache.branch(store, head, at).await?,
            (None, _) => Arc::new(Prepared::default()),
        };
        let (topics, changes) = self.topics(&before, question).await;
        let summary = before
            .summary
            .as_deref()
            .map(|s| topics::lead_summary(s, &topics));
        let question_tokens = tokens::count(question);
        let mut context = before.messages.clone();
        history::push_text(
            &mut context,
            Role::User,
            question.to_string(),
            question_tokens,
        );
        // Estimates are in tiktoken's tokens; the model's factor turns them into its own.
        let factor = self.parts.calibration.factor(model).await;
        let fixed = self.fixed_tokens(tools, system);
        let budget = (self.limit.saturating_sub(MAX_ANSWER_TOKENS) as f64 / factor) as u32;
        let budget = budget.saturating_sub(fixed);
        let tokens_before: u32 = context.iter().map(|c| c.tokens).sum();
        let summarizer = self.parts.summarizer.as_ref();
        let fitted = compress::fit(context, summary, budget, &tokens::count, summarizer).await;
        if !fitted.strategies.is_empty() {
            let names: Vec<&str> = fitted.strategies.iter().map(|s| s.name()).collect();
            self.metrics
                .record_compression(&names, tokens_before, fitted.tokens);
        }
        let folded = fitted.folded_through.zip(fitted.summary.clone());
        let changes = Changes {
            summary: folded.as_ref().map(|(through, text)| SummaryUpdate {
                token_count: tokens::count(text) as i32,
                text: text.clone(),
                through_seq: *through,
                replaces_other_branch: before.summary_elsewhere,
            }),
            ..changes
        };
        let estimate = u64::from(fitted.tokens + fixed);
        Ok(TurnContext {
            messages: fitted.messages,
            tokens: (estimate as f64 * factor).round() as u64,
            compressed: !fitted.strategies.is_empty(),
            summarizer_tokens: fitted.summarizer_tokens,
            question_tokens,
            changes,
            pending: Pending {
                before,
                topics,
                folded,
                estimate,
                model: model.to_string(),
            },
        })
    }

    /// After `owner`'s turn in `conversation`: its stored question (`started`) and answer
    /// (`None`: not stored) extend the cached context (folded when the store kept the turn's
    /// summary) and move the conversation's head; `reported` is the model's count of the first
    /// request's input tokens, when it counts them, which calibrates the estimates.
    pub async fn commit(
        &self,
        (owner, conversation): (app::types::Owner, Uuid),
        pending: Pending,
        started: &store::TurnStarted,
        answer: Option<&store::Message>,
        reported: Option<u64>,
    ) {
        if let Some(reported) = reported {
            let calibration = &self.parts.calibration;
            calibration
                .observe(&pending.model, pending.estimate, reported)
                .await;
        }
        let mut prepared = Prepared::clone(&pending.before);
        prepared.topics = pending.topics;
        prepared.push(&started.question);
        if let (Some((through, summary)), true) = (pending.folded, started.summary_stored) {
            prepared.fold_through(through, summary);
        }
        let head = Head {
            id: conversation,
            owner,
            leaf_seq: answer.map_or(started.question.seq, |a| a.seq),
            summarized_through: prepared.summarized_through,
        };
        // Without its answer the turn's context is not cached: the head, past the cached one,
        // makes the next turn rebuild it from the database.
        let prepared = answer.map(|answer| {
            prepared.push(answer);
            prepared
        });
        self.parts.cache.save(head, prepared).await;
    }

    /// Forgets a deleted conversation's cached context.
    pub async fn forget(&self, conversation: Uuid) {
        self.parts.cache.forget(conversation).await;
    }

    /// The conversation's topics with those of `question` added, and the changes to store. A
    /// conversation is named by its first question, then, when a later question brings its
    /// second topic, by its topics (once, so the title does not churn; the store keeps a
    /// title the user chose).
    async fn topics(&self, before: &Prepared, question: &str) -> (Vec<String>, Changes) {
        let known = &before.topics;
        let unchanged = || (known.to_vec(), Changes::default());
        let Some(source) = &self.parts.topics else {
            return unchanged();
        };
        let Ok(data) = source.data().await else {
            return unchanged();
        };
        // Reading names in an 8,000-character question is CPU work: off the async workers. A
        // short one takes microseconds, less than waking a blocking thread.
        let found = if question.len() <= INLINE_TOPICS_BYTES {
            topics::from_text(&data, question)
        } else {
            let text = question.to_string();
            tokio::task::spawn_blocking(move || topics::from_text(&data, &text))
                .await
                .unwrap_or_default()
        };
        let merged = topics::merge(known, found);
        if merged == *known {
            return unchanged();
        }
        let first_turn = before.leaf_seq == 0;
        let title = topics::title(&merged)
            .filter(|_| !first_turn && known.len() < 2)
            .and_then(|t| Title::parse(&t).ok());
        let changes = Changes {
            topics: Some(merged.clone()),
            title,
            summary: None,
        };
        (merged, changes)
    }

    /// Tokens of what every request carries besides the conversation: the system prompt and
    /// the tool definitions (counted once per tool list, then remembered).
    fn fixed_tokens(&self, tools: &[ToolSpec], system: &str) -> u32 {
        let key: usize = tools
            .iter()
            .map(|t| t.name.len() + t.description.len())
            .sum::<usize>()
            + system.len();
        let mut cached = self.fixed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((k, tokens)) = *cached {
            if k == key {
                return tokens;
            }
        }
        let tools_json = serde_json::to_string(tools).unwrap_or_default();
        let tokens = tokens::count(system) + tokens::count(&tools_json);
        *cached = Some((key, tokens));
        tokens
    }
}
