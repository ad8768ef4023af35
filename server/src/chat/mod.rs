//! One chat turn, for every caller (the SSE endpoint, the no-JavaScript form post, tests):
//! check the request → a place under the turn caps → rate limit → token budgets → load the
//! context → store the user's message → run the tool loop with the model → store the answer
//! → charge the budgets → report `done`.
//!
//! Promises: what can be known before streaming (bad input, a conversation that is not the
//! caller's, a full turn cap, a rate limit, a spent budget) is an error of
//! [`ChatService::start`], before any event, and [`ChatError::status`] is its one HTTP status
//! for every caller; a turn holds its place under the caps ([`turn_slots`]) until its answer is
//! stored and its tokens charged, even after its client went away, and gives it back before
//! `done` is sent; the summarizer's tokens are charged to the caller whose conversation it
//! summarized; the user's message is
//! stored before the first event and the answer (complete, interrupted or failed) before
//! `done`; when the receiver of the events is dropped, the model request is cancelled and the
//! partial answer is stored as interrupted; events follow DESIGN.md's order (`meta` first,
//! `done` last).
pub mod prompt;
pub mod tool_loop;
pub mod turn_slots;

use std::sync::Arc;
use std::time::Instant;

use app::backend::{Owner, Viewer};
use app::types::{ChatEvent, ErrorCode, UserMessage};
use chrono::Utc;
use serde_json::Value;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::config::{ToolPolicy, TurnConcurrency};
use crate::context::cache::{ContextCache, Prepared};
use crate::context::calibration::Calibration;
use crate::context::summarizer::Summarizer;
use crate::context::{compress, history, tokens, topics};
use crate::fpl::FplSource;
use crate::llm::{LlmRequest, Provider};
use crate::metrics::Metrics;
use crate::rate_limit::{Budget, BudgetScope, Decision, RateLimiter};
use crate::store::{self, MessageStatus, NewMessage, Store, StoreError, Title};
use crate::tools::breaker::CircuitBreaker;
use crate::tools::{ToolBackend, ToolSpec};
use prompt::SYSTEM_PROMPT;
use tool_loop::{LoopEnd, LoopOutput, ToolLoop};
use turn_slots::{Full, TurnPermit, TurnSlots};

/// Events buffered between the turn and a slow client before the turn waits.
const EVENT_BUFFER: usize = 256;
/// Room left for the answer.
const MAX_ANSWER_TOKENS: u32 = 4_096;

/// Why a turn could not start.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("No such conversation.")]
    NotFound,
    /// Over the caller's rate limit; `message` is what they read.
    #[error("{message}")]
    RateLimited { decision: Decision, message: String },
    /// One of the caller's daily token budgets is used up; `message` is what they read.
    #[error("{message}")]
    BudgetExhausted { budget: Budget, message: String },
    /// The caller already runs `CHAT_MAX_TURNS_PER_IDENTITY` turns.
    #[error(
        "You already have {0} answers being written. Wait for one to finish, then send again."
    )]
    TooManyTurns(u32),
    /// This instance already runs `CHAT_MAX_CONCURRENT_TURNS` turns.
    #[error("The chat is busy right now. Please try again in a few seconds.")]
    Busy(u32),
    #[error("The chat is unavailable right now. Please try again shortly.")]
    Internal(#[from] StoreError),
}

impl ChatError {
    /// The HTTP status of the refusal, for every caller: 400, 404, 429 (the caller's own
    /// limits: rate, budget, turns), 503 (the service's: the instance's turn cap, the
    /// deployment's token budget, storage).
    pub fn status(&self) -> u16 {
        match self {
            ChatError::InvalidInput(_) => 400,
            ChatError::NotFound => 404,
            ChatError::BudgetExhausted { budget, .. } if budget.scope == BudgetScope::Global => 503,
            ChatError::RateLimited { .. }
            | ChatError::BudgetExhausted { .. }
            | ChatError::TooManyTurns(_) => 429,
            ChatError::Busy(_) | ChatError::Internal(_) => 503,
        }
    }

    /// The `code` of the JSON error body.
    pub fn code(&self) -> ErrorCode {
        match self {
            ChatError::InvalidInput(_) => ErrorCode::InvalidInput,
            ChatError::NotFound => ErrorCode::NotFound,
            ChatError::RateLimited { .. }
            | ChatError::BudgetExhausted { .. }
            | ChatError::TooManyTurns(_)
            | ChatError::Busy(_) => ErrorCode::RateLimited,
            ChatError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// For a refusal over a limit: whole seconds until the caller may try again.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ChatError::RateLimited { decision, .. } => Some(decision.retry_after_secs()),
            ChatError::BudgetExhausted { budget, .. } => Some(budget.resets_in.as_secs().max(1)),
            ChatError::TooManyTurns(_) | ChatError::Busy(_) => {
                Some(turn_slots::RETRY_AFTER.as_secs())
            }
            _ => None,
        }
    }
}

/// A started turn: its ids and the stream of its events.
pub struct Turn {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    /// The rate-limit decision that let it through (for the `RateLimit-*` headers).
    pub limit: Decision,
    /// The caller's token budget before this turn.
    pub budget: Budget,
    pub events: mpsc::Receiver<ChatEvent>,
}

/// Runs chat turns; cheap to clone.
#[derive(Clone)]
pub struct ChatService {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    provider: Arc<dyn Provider>,
    tools: Arc<dyn ToolBackend>,
    limiter: Arc<RateLimiter>,
    summarizer: Arc<dyn Summarizer>,
    calibration: Calibration,
    /// FPL data for finding a conversation's topics.
    fpl: Option<FplSource>,
    contexts: ContextCache,
    /// The turn caps (`CHAT_MAX_TURNS_PER_IDENTITY`, `CHAT_MAX_CONCURRENT_TURNS`).
    slots: TurnSlots,
    breaker: CircuitBreaker,
    tool_timeout: std::time::Duration,
    metrics: Arc<Metrics>,
    max_depth: u32,
    context_limit: u32,
    /// (tool list key, tokens) of the system prompt and tool definitions.
    fixed: std::sync::Mutex<Option<(usize, u32)>>,
}

impl Inner {
    /// Tokens of what every request carries besides the conversation: the system prompt and
    /// the tool definitions (counted once per tool list, then remembered).
    fn fixed_tokens(&self, tools: &[ToolSpec]) -> u32 {
        let key: usize = tools
            .iter()
            .map(|t| t.name.len() + t.description.len())
            .sum();
        let mut cached = self.fixed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((k, tokens)) = *cached {
            if k == key {
                return tokens;
            }
        }
        let tools_json = serde_json::to_string(tools).unwrap_or_default();
        let tokens = tokens::count(SYSTEM_PROMPT) + tokens::count(&tools_json);
        *cached = Some((key, tokens));
        tokens
    }
}

/// How turns are bounded.
#[derive(Debug, Clone, Copy)]
pub struct TurnLimits {
    /// Rounds of tool calls in one turn (`TOOL_MAX_DEPTH`).
    pub max_depth: u32,
    /// Token budget of a conversation's context (`CONTEXT_TOKEN_LIMIT`).
    pub context_limit: u32,
    pub tools: ToolPolicy,
    /// Turns at once, per identity and per instance.
    pub concurrency: TurnConcurrency,
}

/// What keeps a conversation's context within its budget.
pub struct ContextParts {
    pub summarizer: Arc<dyn Summarizer>,
    pub calibration: Calibration,
    /// FPL data for finding a conversation's topics.
    pub topics: Option<FplSource>,
    pub cache: ContextCache,
}

/// What the spawned part of a turn needs.
struct TurnPlan {
    viewer: Viewer,
    conversation_id: Uuid,
    message_id: Uuid,
    request: LlmRequest,
    /// The context's tokens as the model counts them (estimate × the model's factor).
    context_tokens: u64,
    /// The same, as tiktoken estimated it (compared with what the model reports).
    estimate: u64,
    /// Older turns were compressed to fit the budget.
    compressed: bool,
    /// The conversation's context before the turn and what the turn changed in it, applied
    /// (and cached) after the answer, so that the context is copied off the first token's
    /// path.
    before: Arc<Prepared>,
    topics: Vec<String>,
    question: store::Message,
    /// The summary now covers the messages through this seq.
    folded: Option<(i64, String)>,
}

impl ChatService {
    /// `backend` names the tool backend in logs and metrics (`builtin`, `mcp`).
    pub fn new(
        store: Store,
        provider: Arc<dyn Provider>,
        (backend, tools): (&str, Arc<dyn ToolBackend>),
        limiter: Arc<RateLimiter>,
        context: ContextParts,
        metrics: Arc<Metrics>,
        limits: TurnLimits,
    ) -> Self {
        let breaker = CircuitBreaker::new(
            backend,
            limits.tools.breaker_failures,
            limits.tools.breaker_cooldown,
            metrics.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                store,
                provider,
                tools,
                limiter,
                summarizer: context.summarizer,
                calibration: context.calibration,
                fpl: context.topics,
                contexts: context.cache,
                slots: TurnSlots::new(limits.concurrency),
                breaker,
                tool_timeout: limits.tools.timeout,
                metrics,
                max_depth: limits.max_depth,
                context_limit: limits.context_limit,
                fixed: std::sync::Mutex::new(None),
            }),
        }
    }

    pub fn provider_name(&self) -> &'static str {
        self.inner.provider.name()
    }

    /// Starts a turn: validates, stores the user's message, and spawns the rest, whose events
    /// arrive on [`Turn::events`] (`meta` is already in it).
    pub async fn start(
        &self,
        viewer: Viewer,
        conversation_id: Option<Uuid>,
        message: &str,
    ) -> Result<Turn, ChatError> {
        let message = UserMessage::parse(message).map_err(ChatError::InvalidInput)?;
        let permit = self
            .inner
            .slots
            .try_acquire(viewer.owner)
            .map_err(|full| match full {
                Full::Identity(n) => ChatError::TooManyTurns(n),
                Full::Instance(n) => ChatError::Busy(n),
            })?;
        let limit = self.inner.limiter.check(&viewer).await;
        if !limit.allowed {
            return Err(ChatError::RateLimited {
                message: self.inner.limiter.message(viewer.tier, &limit),
                decision: limit,
            });
        }
        let budget = self.inner.limiter.budget(&viewer).await;
        if budget.exhausted() {
            return Err(ChatError::BudgetExhausted {
                message: self.inner.limiter.budget_message(&budget),
                budget,
            });
        }
        let plan = self.prepare(viewer, conversation_id, message).await?;
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        let turn = Turn {
            conversation_id: plan.conversation_id,
            message_id: plan.message_id,
            limit,
            budget,
            events: rx,
        };
        let meta = ChatEvent::Meta {
            conversation_id: plan.conversation_id,
            message_id: plan.message_id,
        };
        let context = ChatEvent::Context {
            tokens: plan.context_tokens,
            limit: self.inner.context_limit as u64,
            compressed: plan.compressed,
        };
        // The channel is new and large enough: these cannot fail.
        let _ = tx.try_send(meta);
        let _ = tx.try_send(context);
        let service = self.clone();
        tokio::spawn(async move { service.run(plan, permit, tx).await });
        Ok(turn)
    }

    /// Runs a whole turn and waits for it (the form post without JavaScript).
    pub async fn run_to_end(
        &self,
        viewer: Viewer,
        conversation_id: Option<Uuid>,
        message: &str,
    ) -> Result<Uuid, ChatError> {
        let mut turn = self.start(viewer, conversation_id, message).await?;
        while turn.events.recv().await.is_some() {}
        Ok(turn.conversation_id)
    }

    async fn prepare(
        &self,
        viewer: Viewer,
        conversation_id: Option<Uuid>,
        message: UserMessage,
    ) -> Result<TurnPlan, ChatError> {
        let store = &self.inner.store;
        let owner = store_owner(viewer.owner);
        // The prepared context (cached, or rebuilt from the messages after the summary).
        let (conversation_id, before) = match conversation_id {
            Some(id) => {
                let conversation = store
                    .get_conversation(owner, id)
                    .await?
                    .ok_or(ChatError::NotFound)?;
                (id, self.inner.contexts.load(store, &conversation).await?)
            }
            None => {
                let title = Title::parse(&title_from(message.as_str()))
                    .unwrap_or_else(|_| Title::parse("New chat").expect("a valid title"));
                let id = store.create_conversation(owner, &title).await?.id;
                (id, Arc::new(Prepared::default()))
            }
        };
        let first_turn = before.last_seq == 0;
        let topics = self
            .topics(
                conversation_id,
                &before.topics,
                message.as_str(),
                first_turn,
            )
            .await;
        let summary = before
            .summary
            .as_deref()
            .map(|s| topics::lead_summary(s, &topics));
        let token_count = tokens::count(message.as_str());
        let question = store
            .append_message(
                conversation_id,
                NewMessage::user(message.into_inner(), token_count as i32),
            )
            .await?;
        let mut context = before.messages.clone();
        history::push_stored(&mut context, &question);
        let tools: Vec<ToolSpec> = match self.inner.tools.list_tools().await {
            Ok(tools) => tools,
            Err(e) => {
                tracing::warn!(error = %e, "tool list unavailable; answering without tools");
                Vec::new()
            }
        };
        // The budget leaves room for the system prompt, the tool definitions and the answer.
        // Estimates are in tiktoken's tokens; the model's factor turns them into its own.
        let factor = self
            .inner
            .calibration
            .factor(self.inner.provider.model())
            .await;
        let fixed = self.inner.fixed_tokens(&tools);
        let budget =
            ((self.inner.context_limit.saturating_sub(MAX_ANSWER_TOKENS)) as f64 / factor) as u32;
        let budget = budget.saturating_sub(fixed);
        let tokens_before: u32 = context.iter().map(|c| c.tokens).sum();
        let fitted = compress::fit(
            context,
            summary,
            budget,
            &tokens::count,
            self.inner.summarizer.as_ref(),
        )
        .await;
        // The summarizer worked for this caller: its tokens are theirs (and the deployment's).
        self.inner
            .limiter
            .spend(&viewer, fitted.summarizer_tokens)
            .await;
        let mut folded = None;
        if let (Some(through), Some(text)) = (fitted.folded_through, &fitted.summary) {
            let tokens = tokens::count(text) as i32;
            match store
                .set_summary(conversation_id, text, tokens, through)
                .await
            {
                Ok(true) => folded = Some((through, text.clone())),
                // A newer summary is stored: the cached context no longer matches and the next
                // turn rebuilds it.
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not store the conversation's summary")
                }
            }
        }
        if !fitted.strategies.is_empty() {
            let names: Vec<&str> = fitted.strategies.iter().map(|s| s.name()).collect();
            self.inner
                .metrics
                .record_compression(&names, tokens_before, fitted.tokens);
        }
        Ok(TurnPlan {
            viewer,
            conversation_id,
            message_id: Uuid::new_v4(),
            request: LlmRequest {
                system: SYSTEM_PROMPT.to_string(),
                messages: fitted.messages,
                tools,
                max_tokens: MAX_ANSWER_TOKENS,
            },
            estimate: u64::from(fitted.tokens + fixed),
            context_tokens: (f64::from(fitted.tokens + fixed) * factor).round() as u64,
            compressed: !fitted.strategies.is_empty(),
            before,
            topics,
            question,
            folded,
        })
    }

    /// Forgets a deleted conversation's cached context.
    pub async fn forget(&self, conversation: Uuid) {
        self.inner.contexts.forget(conversation).await;
    }

    /// The conversation's topics with those of `question` added (stored when they changed).
    /// A conversation is named by its first question, then, when a later question brings its
    /// second topic, by its topics (unless the user renamed it).
    async fn topics(
        &self,
        conversation: Uuid,
        known: &[String],
        question: &str,
        first_turn: bool,
    ) -> Vec<String> {
        let Some(source) = &self.inner.fpl else {
            return known.to_vec();
        };
        let Ok(data) = source.data().await else {
            return known.to_vec();
        };
        // Reading names in an 8,000-character question is CPU work: off the async workers.
        let text = question.to_string();
        let found = tokio::task::spawn_blocking(move || topics::from_text(&data, &text))
            .await
            .unwrap_or_default();
        let merged = topics::merge(known, found);
        if merged != known {
            // Named once, when the second topic arrives, so the title does not churn.
            let title = topics::title(&merged)
                .filter(|_| !first_turn && known.len() < 2)
                .and_then(|t| Title::parse(&t).ok());
            let stored = self
                .inner
                .store
                .set_topics(conversation, &merged, title.as_ref())
                .await;
            if let Err(e) = stored {
                tracing::warn!(error = %e, "could not store the conversation's topics");
            }
        }
        merged
    }

    /// The rest of a turn; `permit` is its place under the turn caps, given back once the
    /// answer is stored and its tokens charged.
    async fn run(self, plan: TurnPlan, permit: TurnPermit, events: mpsc::Sender<ChatEvent>) {
        let inner = &self.inner;
        let started = Instant::now();
        let started_at = Utc::now();
        let mut output = ToolLoop {
            provider: inner.provider.as_ref(),
            tools: inner.tools.as_ref(),
            breaker: &inner.breaker,
            tool_timeout: inner.tool_timeout,
            max_depth: inner.max_depth,
            events: &events,
            metrics: &inner.metrics,
        }
        .run(plan.request)
        .await;
        let (status, error, stop_reason, outcome) = describe_end(&output, inner.max_depth);
        let mut content = output.text.clone();
        if output.end == LoopEnd::DepthExceeded {
            if !content.is_empty() {
                content.push_str("\n\n");
            }
            content.push_str(&format!(
                "_I stopped after {} rounds of tool calls without reaching an answer. Try a narrower question._",
                inner.max_depth
            ));
        }
        let elapsed = started.elapsed();
        // Counted once here, stored with the answer, never counted again.
        let tool_tokens = count_tool_blocks(&mut output);
        let text_tokens = tokens::count(&content);
        let mut answer = NewMessage::assistant(content, (text_tokens + tool_tokens) as i32);
        answer.id = plan.message_id;
        answer.tool_calls =
            serde_json::to_value(&output.tool_calls).unwrap_or(Value::Array(vec![]));
        answer.tool_results =
            serde_json::to_value(&output.tool_results).unwrap_or(Value::Array(vec![]));
        answer.status = status;
        answer.error_code = error.as_ref().map(|(code, _)| error_code_name(*code));
        answer.model = Some(inner.provider.model().to_string());
        answer.input_tokens = Some(output.input_tokens.min(i32::MAX as u64) as i32);
        answer.output_tokens = Some(output.output_tokens.min(i32::MAX as u64) as i32);
        answer.started_at = started_at;
        answer.first_token_ms = output
            .first_token_ms
            .map(|ms| ms.min(i32::MAX as u64) as i32);
        answer.duration_ms = Some(elapsed.as_millis().min(i32::MAX as u128) as i32);

        let stored = inner.store.finish_turn(plan.conversation_id, answer).await;
        if let Ok(answer) = &stored {
            let mut prepared = Prepared::clone(&plan.before);
            prepared.topics = plan.topics;
            prepared.push(&plan.question);
            if let Some((through, summary)) = plan.folded {
                prepared.fold_through(through, summary);
            }
            prepared.push(answer);
            inner.contexts.save(plan.conversation_id, prepared).await;
        }
        if let Some(reported) = output
            .first_input_tokens
            .filter(|_| inner.provider.counts_tokens())
        {
            inner
                .calibration
                .observe(inner.provider.model(), plan.estimate, reported)
                .await;
        }
        inner
            .limiter
            .spend(&plan.viewer, output.input_tokens + output.output_tokens)
            .await;
        inner
            .metrics
            .record_turn(inner.provider.name(), outcome, started.elapsed());
        if let Err(e) = &stored {
            tracing::error!(error = %e, conversation = %plan.conversation_id, "could not store the answer");
        }
        // The turn's work is done: whoever reads `done` may start the next one.
        drop(permit);
        if output.end == LoopEnd::Interrupted {
            return; // nobody is listening
        }
        let mut tail = vec![ChatEvent::Usage {
            input_tokens: output.input_tokens,
            output_tokens: output.output_tokens,
        }];
        if let Some((code, message)) = error {
            tail.push(ChatEvent::Error { code, message });
        }
        if stored.is_err() {
            tail.push(ChatEvent::Error {
                code: ErrorCode::Internal,
                message: "The answer could not be saved. Please try again.".into(),
            });
        }
        tail.push(ChatEvent::Done { stop_reason });
        for event in tail {
            if events.send(event).await.is_err() {
                return;
            }
        }
    }
}

/// Counts the turn's tool calls and results (each keeps its count); the tokens of them all.
fn count_tool_blocks(output: &mut LoopOutput) -> u32 {
    let count = |s: &str| tokens::count(s);
    let mut total = 0;
    for call in &mut output.tool_calls {
        let n = compress::block_tokens(&call.block(), &count);
        call.tokens = Some(n);
        total += n;
    }
    for result in &mut output.tool_results {
        let n = tokens::count(&result.content);
        result.tokens = Some(n);
        total += n;
    }
    total
}

/// The stored status, the error event, the `done` stop reason and the metrics outcome.
fn describe_end(
    output: &LoopOutput,
    max_depth: u32,
) -> (
    MessageStatus,
    Option<(ErrorCode, String)>,
    String,
    &'static str,
) {
    match &output.end {
        LoopEnd::Complete(reason) => (
            MessageStatus::Complete,
            None,
            serde_json::to_value(reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| "end_turn".into()),
            "complete",
        ),
        LoopEnd::Interrupted => (
            MessageStatus::Interrupted,
            None,
            "interrupted".into(),
            "interrupted",
        ),
        LoopEnd::DepthExceeded => (
            MessageStatus::Error,
            Some((
                ErrorCode::ToolDepthExceeded,
                format!("The assistant used tools {max_depth} times without finishing its answer."),
            )),
            "tool_depth_exceeded".into(),
            "error",
        ),
        LoopEnd::Failed { code, message } => (
            MessageStatus::Error,
            Some((*code, message.clone())),
            "error".into(),
            "error",
        ),
    }
}

fn error_code_name(code: ErrorCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "internal".into())
}

/// A conversation's first title: its first question, on one line, shortened at a word.
pub fn title_from(message: &str) -> String {
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= 60 {
        return line;
    }
    let cut: String = line.chars().take(60).collect();
    let cut = cut.rsplit_once(' ').map(|(head, _)| head).unwrap_or(&cut);
    format!("{}…", cut.trim_end_matches([',', '.', ';', ':']))
}

pub fn store_owner(owner: Owner) -> store::Owner {
    match owner {
        Owner::User(id) => store::Owner::User(id),
        Owner::Anonymous(id) => store::Owner::Anonymous(id),
    }
}

#[cfg(test)]
mod tests {
    use super::title_from;

    #[test]
    fn titles_are_short_single_lines() {
        assert_eq!(
            title_from("How is\nHaaland  doing?"),
            "How is Haaland doing?"
        );
        let long = title_from(
            "Who has the easiest fixtures for the next five gameweeks among the teams in the top half?",
        );
        assert!(long.ends_with('…') && long.chars().count() <= 61, "{long}");
    }
}
