//! One chat turn, for every caller (the SSE endpoint, the no-JavaScript form post, tests):
//! a place under the turn caps → rate limit → token budgets → the context
//! ([`ContextService::prepare`]) → the model request and tool loop, while the question is
//! written beside it → the answer stored → the budgets charged → `done`. This module only
//! orchestrates: the context, the store, the limiter and the tool loop do the work.
//!
//! Promises: what can be known before streaming (bad input, a conversation that is not the
//! caller's, a full turn cap, a rate limit, a spent budget) is an error of
//! [`ChatService::start`], before any event, and [`ChatError::status`] / [`ChatError::code`]
//! are its one HTTP status and code for every caller; the model request never waits for a
//! database write (the turn's conversation, question, topics and summary are written in one
//! write beside it); the question is stored before the answer, and an answer is never stored
//! without its question (a failed question write ends the turn with an `internal` error); a
//! turn holds its place under the caps ([`turn_slots`]) until its answer is stored and its
//! tokens charged, even after its client went away, and gives it back before `done` is sent;
//! the summarizer's tokens are charged to the caller whose conversation it summarized; the
//! answer (complete, interrupted or failed) is stored before `done`; a turn runs to its end
//! whether or not its client reads (any page may follow it from its log: [`follow`],
//! [`relay`]), and only a stop ([`ChatService::stop`], from any instance) or a shutdown
//! cancels the model request, the partial answer then stored as interrupted; events follow
//! the contract's order (docs/contract.md: `meta` first, `done` last).
pub mod follow;
pub mod prompt;
pub mod relay;
pub mod tool_loop;
pub mod turn_log;
pub mod turn_slots;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use app::backend::Viewer;
use app::types::{Ask, ChatEvent, ErrorCode, MessageError, MessageStatus, Owner};
use chrono::Utc;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::config::{ToolPolicy, TurnConcurrency};
use crate::context::head::Head;
use crate::context::{compress, tokens, ContextService, Pending, MAX_ANSWER_TOKENS};
use crate::llm::{LlmRequest, Provider};
use crate::metrics::Metrics;
use crate::rate_limit::{Budget, BudgetScope, Decision, RateLimiter};
use crate::store::{self, NewMessage, Store, StoreError, Title, TurnStart, TurnStarted};
use crate::tools::breaker::CircuitBreaker;
use crate::tools::{ToolBackend, ToolList};
use prompt::SYSTEM_PROMPT;
use relay::Relay;
use tool_loop::{LoopEnd, LoopOutput, ToolLoop};
use turn_log::{LiveTurn, TurnLog};
use turn_slots::{Full, TurnPermit, TurnSlots};

/// Events buffered between the turn and a slow client before the turn waits.
const EVENT_BUFFER: usize = 256;

/// Why a turn could not start.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// An empty or over-long message.
    #[error("{0}")]
    Message(#[from] MessageError),
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
    /// No answer of the caller's is being written in the conversation (to follow or stop).
    #[error("No answer is being written in this conversation.")]
    NotAnswering,
    /// The caller already follows `n` answers from this instance.
    #[error("You already follow {0} answers. Close a page, then try again.")]
    TooManyFollowers(u32),
    #[error("The chat is unavailable right now. Please try again shortly.")]
    Internal(#[from] StoreError),
}

impl ChatError {
    /// The HTTP status of the refusal, for every caller: 400 or 413 (the message), 404, 429
    /// (the caller's own limits: rate, budget, turns), 503 (the service's: the instance's turn
    /// cap, the deployment's token budget, storage).
    pub fn status(&self) -> u16 {
        match self {
            ChatError::Message(e) => e.status(),
            ChatError::NotFound | ChatError::NotAnswering => 404,
            ChatError::BudgetExhausted { budget, .. } if budget.scope == BudgetScope::Global => 503,
            ChatError::RateLimited { .. }
            | ChatError::BudgetExhausted { .. }
            | ChatError::TooManyTurns(_)
            | ChatError::TooManyFollowers(_) => 429,
            ChatError::Busy(_) | ChatError::Internal(_) => 503,
        }
    }

    /// The `code` of the JSON error body.
    pub fn code(&self) -> ErrorCode {
        match self {
            ChatError::Message(e) => e.code(),
            ChatError::NotFound | ChatError::NotAnswering => ErrorCode::NotFound,
            ChatError::RateLimited { .. }
            | ChatError::BudgetExhausted { .. }
            | ChatError::TooManyTurns(_)
            | ChatError::TooManyFollowers(_)
            | ChatError::Busy(_) => ErrorCode::RateLimited,
            ChatError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// For a refusal over a limit: whole seconds until the caller may try again.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ChatError::RateLimited { decision, .. } => Some(decision.retry_after_secs()),
            ChatError::BudgetExhausted { budget, .. } => Some(budget.resets_in.as_secs().max(1)),
            ChatError::TooManyTurns(_) | ChatError::TooManyFollowers(_) | ChatError::Busy(_) => {
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
    /// What the model sees of each conversation.
    contexts: ContextService,
    /// The turn caps (`CHAT_MAX_TURNS_PER_IDENTITY`, `CHAT_MAX_CONCURRENT_TURNS`).
    slots: TurnSlots,
    breaker: CircuitBreaker,
    tool_timeout: std::time::Duration,
    metrics: Arc<Metrics>,
    max_depth: u32,
    /// Cancelled by [`ChatService::stop_turns`] once a shutdown's drain time is over (each
    /// turn's own stop is a child of it).
    stopping: CancellationToken,
    /// The events of running turns, for pages that follow them ([`follow`]).
    log: Arc<dyn TurnLog>,
    /// The stop of each turn running on this instance, by answer id: a stop asked here
    /// is immediate (one asked elsewhere comes through the log).
    live: Mutex<HashMap<Uuid, CancellationToken>>,
    /// The caps on pages following turns, per identity and per instance.
    followers: TurnSlots,
}

/// How turns are bounded.
#[derive(Debug, Clone, Copy)]
pub struct TurnLimits {
    /// Rounds of tool calls in one turn (`TOOL_MAX_DEPTH`).
    pub max_depth: u32,
    pub tools: ToolPolicy,
    /// Turns at once, per identity and per instance.
    pub concurrency: TurnConcurrency,
}

/// What the spawned part of a turn needs.
struct TurnPlan {
    viewer: Viewer,
    conversation_id: Uuid,
    message_id: Uuid,
    request: LlmRequest,
    /// The turn's first write.
    first: FirstWrite,
    /// What the context commits after the answer.
    pending: Pending,
}

/// A turn's first write: a new question with what the turn changes in the conversation, or
/// (a regenerated answer) the branch moved back to the stored question.
enum FirstWrite {
    Question(TurnStart),
    Again {
        owner: Owner,
        question: store::Message,
    },
}

/// Where an edited question goes, or a regenerated answer's question is: after message
/// `parent` (0: it is the first); `again`, the stored question answered again.
struct Branching {
    parent: i64,
    again: Option<store::Message>,
}

impl ChatService {
    /// `backend` names the tool backend in logs and metrics (`builtin`, `mcp`).
    pub fn new(
        store: Store,
        provider: Arc<dyn Provider>,
        (backend, tools): (&str, Arc<dyn ToolBackend>),
        limiter: Arc<RateLimiter>,
        (contexts, log): (ContextService, Arc<dyn TurnLog>),
        metrics: Arc<Metrics>,
        limits: TurnLimits,
    ) -> Self {
        let breaker = CircuitBreaker::new(
            backend,
            limits.tools.breaker_failures,
            limits.tools.breaker_cooldown,
            metrics.clone(),
        );
        let followers = TurnSlots::new(
            follow::caps(limits.concurrency),
            metrics.chat_turn_followers.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                store,
                provider,
                tools,
                limiter,
                contexts,
                slots: TurnSlots::new(limits.concurrency, metrics.chat_turns_running.clone()),
                breaker,
                tool_timeout: limits.tools.timeout,
                metrics,
                max_depth: limits.max_depth,
                stopping: CancellationToken::new(),
                log,
                live: Mutex::default(),
                followers,
            }),
        }
    }

    pub fn provider_name(&self) -> &'static str {
        self.inner.provider.name()
    }

    /// Starts a turn: admits it, prepares its context, and spawns the rest (the model request
    /// and, beside it, the question's write), whose events arrive on [`Turn::events`]
    /// (`meta` and `context` are already in it) and in the turn's log ([`Relay`]).
    pub async fn start(
        &self,
        viewer: Viewer,
        conversation_id: Option<Uuid>,
        ask: Ask,
    ) -> Result<Turn, ChatError> {
        let started = self.admit(viewer, conversation_id, ask).await;
        if let Err(e) = &started {
            self.inner.metrics.record_chat_error(e.code());
            if let ChatError::Internal(cause) = e {
                tracing::error!(error = %cause, "chat turn could not start");
            }
        }
        let (plan, permit, limit, budget, context) = started?;
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        let (client, events) = mpsc::channel(EVENT_BUFFER);
        let turn = Turn {
            conversation_id: plan.conversation_id,
            message_id: plan.message_id,
            limit,
            budget,
            events,
        };
        // The channel is new and large enough: these cannot fail.
        let _ = tx.try_send(ChatEvent::Meta {
            conversation_id: plan.conversation_id,
            message_id: plan.message_id,
            question_id: plan.first.question_id(),
        });
        let _ = tx.try_send(context);
        let service = self.clone();
        // The request's lines from here on, and the turn's own task's, name the conversation.
        let request = tracing::Span::current();
        request.record(
            "conversation",
            tracing::field::display(plan.conversation_id),
        );
        let span = tracing::info_span!(parent: &request, "turn");
        let live = LiveTurn {
            id: plan.message_id,
            conversation: plan.conversation_id,
            owner: viewer.owner,
        };
        let stop = self.inner.stopping.child_token();
        let relay = Relay {
            log: self.inner.log.clone(),
            turn: live,
            stop: stop.clone(),
        };
        tokio::spawn(relay.run(rx, client).instrument(span.clone()));
        let registered = self.register(live.id, stop.clone());
        tokio::spawn(
            async move {
                service.run(plan, permit, &stop, tx).await;
                drop(registered);
            }
            .instrument(span),
        );
        Ok(turn)
    }

    /// Runs a whole turn and waits for it (the form post without JavaScript).
    pub async fn run_to_end(
        &self,
        viewer: Viewer,
        conversation_id: Option<Uuid>,
        ask: Ask,
    ) -> Result<Uuid, ChatError> {
        let mut turn = self.start(viewer, conversation_id, ask).await?;
        while turn.events.recv().await.is_some() {}
        Ok(turn.conversation_id)
    }

    /// The decisions before any event: the turn caps, the rate limit, the budgets, the
    /// conversation (the caller's, or a new one) and its context.
    async fn admit(
        &self,
        viewer: Viewer,
        conversation_id: Option<Uuid>,
        ask: Ask,
    ) -> Result<(TurnPlan, TurnPermit, Decision, Budget, ChatEvent), ChatError> {
        let inner = &self.inner;
        let permit = inner
            .slots
            .try_acquire(viewer.owner)
            .map_err(|full| match full {
                Full::Identity(n) => ChatError::TooManyTurns(n),
                Full::Instance(n) => ChatError::Busy(n),
            })?;
        // Independent reads (Redis, Redis, the database): at once, not one after the other.
        let (limit, budget, conversation) = tokio::join!(
            inner.limiter.check(&viewer),
            inner.limiter.budget(&viewer),
            self.conversation(viewer.owner, conversation_id),
        );
        if !limit.allowed {
            return Err(ChatError::RateLimited {
                message: inner.limiter.message(viewer.tier, &limit),
                decision: limit,
            });
        }
        if budget.exhausted() {
            inner.metrics.record_budget_refusal(budget.scope.as_str());
            return Err(ChatError::BudgetExhausted {
                message: inner.limiter.budget_message(&budget),
                budget,
            });
        }
        let plan = self.plan(viewer, conversation?, ask).await?;
        let context = ChatEvent::Context {
            tokens: plan.1,
            limit: u64::from(inner.contexts.limit()),
            compressed: plan.2,
        };
        Ok((plan.0, permit, limit, budget, context))
    }

    /// The head of the caller's conversation `id` (none: a new one), from Redis when it has
    /// the caller's, else from the database; `NotFound` when it is not theirs.
    async fn conversation(
        &self,
        owner: Owner,
        id: Option<Uuid>,
    ) -> Result<Option<Head>, ChatError> {
        let Some(id) = id else { return Ok(None) };
        if let Some(head) = self.inner.contexts.head(owner, id).await {
            return Ok(Some(head));
        }
        let found = self.inner.store.get_conversation(owner, id).await?;
        found
            .map(|c| Some(Head::from(&c)))
            .ok_or(ChatError::NotFound)
    }

    /// Where an edited question or a regenerated answer goes in conversation `head`: after the
    /// parent of question `of`, which must be one of its questions. The conversation's cached
    /// context and head are dropped first: the branch shown moves back.
    async fn branching(&self, head: &Head, of: Uuid, again: bool) -> Result<Branching, ChatError> {
        let question = self.inner.store.message_in(head.id, of).await?;
        let question = question
            .filter(|q| q.role == store::Role::User)
            .ok_or(ChatError::NotFound)?;
        self.inner.contexts.forget(head.id).await;
        Ok(Branching {
            parent: question.parent_seq.unwrap_or(0),
            again: again.then_some(question),
        })
    }

    /// The turn's model request and first write; with the context's tokens and whether it was
    /// compressed.
    async fn plan(
        &self,
        viewer: Viewer,
        conversation: Option<Head>,
        ask: Ask,
    ) -> Result<(TurnPlan, u64, bool), ChatError> {
        let inner = &self.inner;
        let (text, branching) = match (ask, &conversation) {
            (Ask::Question(text), _) => (text.into_inner(), None),
            (Ask::Edit { of, text }, Some(head)) => (
                text.into_inner(),
                Some(self.branching(head, of, false).await?),
            ),
            (Ask::Regenerate { of }, Some(head)) => {
                let branching = self.branching(head, of, true).await?;
                let text = branching.again.as_ref().map(|q| q.content.clone());
                (text.unwrap_or_default(), Some(branching))
            }
            (Ask::Edit { .. } | Ask::Regenerate { .. }, None) => return Err(ChatError::NotFound),
        };
        let tools: ToolList = match inner.tools.list_tools().await {
            Ok(tools) => tools,
            Err(e) => {
                tracing::warn!(error = %e, "tool list unavailable; answering without tools");
                ToolList::from([])
            }
        };
        let request = (inner.provider.model(), &*tools, SYSTEM_PROMPT);
        let place = (conversation.as_ref(), branching.as_ref().map(|b| b.parent));
        let context = inner
            .contexts
            .prepare(&inner.store, place, &text, request)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ChatError::NotFound,
                e => e.into(),
            })?;
        // The summarizer worked for this caller: its tokens are theirs (and the deployment's).
        inner
            .limiter
            .spend(&viewer, context.summarizer_tokens)
            .await;
        let conversation_id = conversation.map_or_else(Uuid::new_v4, |c| c.id);
        let new = conversation.is_none();
        let question = NewMessage::user(text, context.question_tokens as i32);
        let start = |after| TurnStart {
            conversation_id,
            owner: viewer.owner,
            new: new.then(|| Title::from_question(&question.content)),
            after,
            question,
            topics: context.changes.topics,
            title: context.changes.title,
            summary: context.changes.summary,
        };
        let first = match branching {
            Some(Branching {
                again: Some(question),
                ..
            }) => FirstWrite::Again {
                owner: viewer.owner,
                question,
            },
            Some(edit) => FirstWrite::Question(start(Some(edit.parent))),
            None => FirstWrite::Question(start(None)),
        };
        let plan = TurnPlan {
            viewer,
            conversation_id,
            message_id: Uuid::new_v4(),
            request: LlmRequest {
                system: SYSTEM_PROMPT.into(),
                messages: context.messages,
                tools,
                max_tokens: MAX_ANSWER_TOKENS,
            },
            first,
            pending: context.pending,
        };
        Ok((plan, context.tokens, context.compressed))
    }

    /// The `error` event of a turn that ends with `code`, counted (`chat_errors_total`).
    fn error_event(&self, (code, message): (ErrorCode, String)) -> ChatEvent {
        self.inner.metrics.record_chat_error(code);
        ChatEvent::Error { code, message }
    }

    /// Waits (up to `deadline`) until no turn runs and refuses new ones: for shutting down.
    /// False when turns were still running at the deadline.
    pub async fn close(&self, deadline: std::time::Duration) -> bool {
        self.inner.slots.close(deadline).await
    }

    /// Stops the turns still running (a shutdown's drain time is over): each ends as
    /// interrupted, keeps what it has, and tells its client `shutting_down`.
    pub fn stop_turns(&self) {
        self.inner.stopping.cancel();
    }

    /// Forgets a deleted conversation's cached context.
    pub async fn forget(&self, conversation: Uuid) {
        self.inner.contexts.forget(conversation).await;
    }

    /// The rest of a turn; `permit` is its place under the turn caps, given back once the
    /// answer is stored and its tokens charged; `stop` ends it as interrupted.
    async fn run(
        &self,
        plan: TurnPlan,
        permit: TurnPermit,
        stop: &CancellationToken,
        events: mpsc::Sender<ChatEvent>,
    ) {
        let inner = &self.inner;
        let started = Instant::now();
        let started_at = Utc::now();
        let answered = self
            .answer(
                plan.conversation_id,
                plan.first,
                plan.request,
                (&events, stop),
            )
            .await;
        let (mut output, question) = match answered {
            Ok(answered) => answered,
            Err(e) => {
                tracing::error!(error = %e, conversation = %plan.conversation_id, "could not store the question");
                inner
                    .metrics
                    .record_turn(inner.provider.name(), "error", started.elapsed());
                drop(permit);
                // Gone, or not the caller's after all (the head they were admitted by was
                // stale): nothing was written.
                let error = match e {
                    StoreError::NotFound => (ErrorCode::NotFound, ChatError::NotFound.to_string()),
                    _ => (
                        ErrorCode::Internal,
                        "Your question could not be saved. Please try again.".to_string(),
                    ),
                };
                send_all(&events, vec![self.error_event(error), done("error")]).await;
                return;
            }
        };
        let (status, error, stop_reason, outcome) = describe_end(&output, inner.max_depth);
        let mut answer = answer_message(&mut output, inner.max_depth, plan.message_id);
        answer.parent_seq = Some(question.question.seq);
        answer.status = status;
        answer.error_code = error.as_ref().map(|(code, _)| code.as_str().to_string());
        answer.model = Some(inner.provider.model().to_string());
        answer.started_at = started_at;
        answer.duration_ms = Some(started.elapsed().as_millis().min(i32::MAX as u128) as i32);
        let stored = inner.store.finish_turn(plan.conversation_id, answer).await;
        let reported = output
            .first_input_tokens
            .filter(|_| inner.provider.counts_tokens());
        let conversation = (plan.viewer.owner, plan.conversation_id);
        inner
            .contexts
            .commit(
                conversation,
                plan.pending,
                &question,
                stored.as_ref().ok(),
                reported,
            )
            .await;
        let used = output.input_tokens + output.output_tokens;
        inner.limiter.spend(&plan.viewer, used).await;
        inner
            .metrics
            .record_turn(inner.provider.name(), outcome, started.elapsed());
        tracing::info!(
            outcome,
            ms = started.elapsed().as_secs_f64() * 1e3,
            input_tokens = output.input_tokens,
            output_tokens = output.output_tokens,
            "turn"
        );
        if let Err(e) = &stored {
            tracing::error!(error = %e, conversation = %plan.conversation_id, "could not store the answer");
        }
        // The turn's work is done: whoever reads `done` may start the next one.
        drop(permit);
        if output.end == LoopEnd::Interrupted && inner.stopping.is_cancelled() {
            let error = (
                ErrorCode::ShuttingDown,
                "The server is restarting. The answer so far is saved; please ask again in a moment."
                    .to_string(),
            );
            send_all(&events, vec![self.error_event(error), done("interrupted")]).await;
            return;
        }
        let mut tail = vec![ChatEvent::Usage {
            input_tokens: output.input_tokens,
            output_tokens: output.output_tokens,
        }];
        tail.extend(error.map(|e| self.error_event(e)));
        if stored.is_err() {
            let message = "The answer could not be saved. Please try again.".to_string();
            tail.push(self.error_event((ErrorCode::Internal, message)));
        }
        tail.push(done(&stop_reason));
        send_all(&events, tail).await;
    }

    /// The model's answer (the tool loop), while the question is written beside it: both, or
    /// the write's failure (which stops the answer, as it could not be stored).
    async fn answer(
        &self,
        conversation: Uuid,
        first: FirstWrite,
        request: LlmRequest,
        (events, stopping): (&mpsc::Sender<ChatEvent>, &CancellationToken),
    ) -> Result<(LoopOutput, TurnStarted), StoreError> {
        let inner = &self.inner;
        let tool_loop = ToolLoop {
            provider: inner.provider.as_ref(),
            tools: inner.tools.as_ref(),
            breaker: &inner.breaker,
            tool_timeout: inner.tool_timeout,
            max_depth: inner.max_depth,
            events,
            stopping,
            metrics: &inner.metrics,
        };
        let write = async {
            let started = match first {
                FirstWrite::Question(start) => inner.store.begin_turn(start).await?,
                FirstWrite::Again { owner, question } => {
                    let store = &inner.store;
                    if !store.resume_at(owner, conversation, question.seq).await? {
                        return Err(StoreError::NotFound);
                    }
                    TurnStarted {
                        question,
                        summary_stored: false,
                        identity_created: false,
                    }
                }
            };
            if started.identity_created {
                inner.metrics.anonymous_identities_created.inc();
            }
            Ok(started)
        };
        let answering = tool_loop.run(request);
        tokio::pin!(write, answering);
        tokio::select! {
            biased;
            output = &mut answering => write.await.map(|question| (output, question)),
            question = &mut write => {
                let question = question?;
                Ok((answering.await, question))
            }
        }
    }
}

impl FirstWrite {
    /// The id of the turn's question (new or stored).
    fn question_id(&self) -> Uuid {
        match self {
            FirstWrite::Question(start) => start.question.id,
            FirstWrite::Again { question, .. } => question.id,
        }
    }
}

fn done(stop_reason: &str) -> ChatEvent {
    ChatEvent::Done {
        stop_reason: stop_reason.to_string(),
    }
}

/// Sends `tail` in order, until the client is gone.
async fn send_all(events: &mpsc::Sender<ChatEvent>, tail: Vec<ChatEvent>) {
    for event in tail {
        if events.send(event).await.is_err() {
            return;
        }
    }
}

/// The answer to store: the text (with a note when the tool rounds ran out), its tool
/// exchange and token counts, and what the model reported.
fn answer_message(output: &mut LoopOutput, max_depth: u32, id: Uuid) -> NewMessage {
    let mut content = output.text.clone();
    if output.end == LoopEnd::DepthExceeded {
        if !content.is_empty() {
            content.push_str("\n\n");
        }
        content.push_str(&format!(
            "_I stopped after {max_depth} rounds of tool calls without reaching an answer. Try a narrower question._"
        ));
    }
    // Counted once here, stored with the answer, never counted again.
    let tool_tokens = count_tool_blocks(output);
    let text_tokens = tokens::count(&content);
    let mut answer = NewMessage::assistant(content, (text_tokens + tool_tokens) as i32);
    answer.id = id;
    answer.tool_calls = serde_json::to_value(&output.tool_calls).unwrap_or(Value::Array(vec![]));
    answer.tool_results =
        serde_json::to_value(&output.tool_results).unwrap_or(Value::Array(vec![]));
    answer.input_tokens = Some(output.input_tokens.min(i32::MAX as u64) as i32);
    answer.output_tokens = Some(output.output_tokens.min(i32::MAX as u64) as i32);
    answer.first_token_ms = output
        .first_token_ms
        .map(|ms| ms.min(i32::MAX as u64) as i32);
    answer
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
