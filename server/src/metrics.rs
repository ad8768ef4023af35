//! The Prometheus registry (prometheus-client) that every component records into, and its text
//! exposition for `GET /api/metrics`. Names follow Prometheus conventions (base units,
//! `_total` counters); process metrics come from `/proc/self`.
use std::fmt::Write as _;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TurnLabels {
    pub provider: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthLabels {
    /// `signup`, `login`, `logout`.
    pub event: String,
    /// `ok`, `wrong_credentials`, `too_many_attempts`, `invalid`, `unavailable`.
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DbPoolLabels {
    /// `read` or `write`.
    pub pool: String,
    /// `idle` or `in_use`.
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DependencyLabels {
    /// `database`, `redis`, `mcp` or `llm`.
    pub dependency: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TierLabels {
    /// `anonymous`, `default` or `premium`.
    pub tier: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScopeLabels {
    /// `identity`, `ip` or `global`.
    pub scope: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// `anonymous_identities`, `conversations`, `messages` or `sessions`.
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChatErrorLabels {
    /// An `ErrorCode`, as the client reads it.
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ToolLabels {
    pub tool: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LlmLabels {
    pub model: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RetryLabels {
    pub model: String,
    /// The HTTP status, or `timeout`, `connect`, `network`.
    pub reason: String,
}

/// OpenTelemetry GenAI attributes, in Prometheus spelling.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GenAiLabels {
    pub gen_ai_operation_name: String,
    pub gen_ai_provider_name: String,
    pub gen_ai_request_model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GenAiTokenLabels {
    pub gen_ai_operation_name: String,
    pub gen_ai_provider_name: String,
    pub gen_ai_request_model: String,
    /// `input` or `output`.
    pub gen_ai_token_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheTokenLabels {
    pub model: String,
    /// `read` (served from the prompt cache) or `write` (stored in it).
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabels {
    pub provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BreakerLabels {
    pub backend: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BreakerStateLabels {
    pub backend: String,
    /// The state entered: `closed`, `open` or `half_open`.
    pub state: String,
}

/// OpenTelemetry MCP attributes, in Prometheus spelling.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct McpOperationLabels {
    pub mcp_method_name: String,
    /// The tool of a `tools/call` (empty for other methods).
    pub gen_ai_tool_name: String,
    /// `ok`, `error` (a JSON-RPC error) or `failed` (transport, timeout).
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    pub tier: String,
    /// `allowed` or `refused`.
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SummaryLabels {
    pub summarizer: String,
    /// `ok` or `failed` (then the extractive summary stands in).
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    /// `context` or `fpl`.
    pub cache: String,
    /// `memory`, `redis`, or `validation` (a found context that was out of date).
    pub layer: String,
    /// `hit`, `miss`, `error` or `stale`.
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StrategyLabels {
    pub strategy: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: String,
}

/// Token counts of one model request, from the API's usage.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TokenUsage {
    /// Every input token, cached or not.
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
}

fn token_histogram() -> Histogram {
    // OTel's advice for gen_ai.client.token.usage: 1, 4, 16, … 4^12 (~16.7M)
    Histogram::new(exponential_buckets(1.0, 4.0, 13))
}

fn rounds_histogram() -> Histogram {
    Histogram::new([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0])
}

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~16 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// Time database queries waited for a pooled connection, as sqlx measures it
/// (`crate::logging::AcquireWait` records it): one histogram per process, because sqlx reports
/// it per process, not per pool; every [`Metrics`] exposes it. A pool too small for the load
/// shows here first.
pub fn db_acquire_wait() -> &'static Histogram {
    static WAIT: std::sync::OnceLock<Histogram> = std::sync::OnceLock::new();
    WAIT.get_or_init(latency_histogram)
}

/// All metrics of the process. Cheap to clone handles; record from anywhere.
pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: Family<HttpLabels, Histogram, fn() -> Histogram>,
    pub chat_turns: Family<TurnLabels, Counter>,
    pub chat_turn_duration: Family<TurnLabels, Histogram, fn() -> Histogram>,
    /// Turns holding a place under the concurrency caps now: back to 0 when the instance is
    /// idle, whatever happened to the turns (client gone, upstream failed, shutdown).
    pub chat_turns_running: Gauge,
    /// Pages following a running turn from its log (`GET /api/chat/{id}/stream`) now.
    pub chat_turn_followers: Gauge,
    /// Chat requests refused and turns ended with an error, by the code the client was given.
    pub chat_errors: Family<ChatErrorLabels, Counter>,
    /// Sign-ups, log-ins and log-outs by result.
    pub auth_events: Family<AuthLabels, Counter>,
    /// The database pools' connections, read when scraped.
    pub db_pool_connections: Family<DbPoolLabels, Gauge>,
    /// Account sessions that have not expired, counted when scraped.
    pub sessions_active: Gauge,
    /// Anonymous identities stored for the first time (their first conversation), not every
    /// cookie handed out: a health probe gets a cookie too.
    pub anonymous_identities_created: Counter,
    /// Each configured dependency as `/readyz` last saw it (1 ready, 0 down), refreshed when
    /// scraped; no series for one that is not configured.
    pub dependency_ready: Family<DependencyLabels, Gauge>,
    /// Tokens charged to the daily budgets, by the caller's tier.
    pub budget_spent: Family<TierLabels, Counter>,
    /// Turns refused because a daily token budget was spent, by the budget.
    pub budget_refusals: Family<ScopeLabels, Counter>,
    /// `TOKEN_BUDGET_GLOBAL` as `scope="global"`, so that an alert can compare the spending
    /// pace with it (no series when the deployment's budget is unlimited).
    pub budget_limit: Family<ScopeLabels, Gauge>,
    /// Rows deleted by retention (`fpl-chat prune` and the hourly pruning), by kind.
    pub retention_pruned: Family<KindLabels, Counter>,
    /// Pruning runs by result (`ok`, `failed`).
    pub retention_runs: Family<ResultLabels, Counter>,
    /// When a pruning run last succeeded (Unix seconds).
    pub retention_last_success: Gauge,
    pub tool_calls: Family<ToolLabels, Counter>,
    pub tool_duration: Family<ToolLabels, Histogram, fn() -> Histogram>,
    pub llm_requests: Family<LlmLabels, Counter>,
    pub llm_retries: Family<RetryLabels, Counter>,
    pub llm_cache_tokens: Family<CacheTokenLabels, Counter>,
    pub genai_duration: Family<GenAiLabels, Histogram, fn() -> Histogram>,
    pub genai_first_chunk: Family<GenAiLabels, Histogram, fn() -> Histogram>,
    pub genai_tokens: Family<GenAiTokenLabels, Histogram, fn() -> Histogram>,
    pub tool_rounds: Family<ProviderLabels, Histogram, fn() -> Histogram>,
    pub breaker_transitions: Family<BreakerStateLabels, Counter>,
    pub breaker_state: Family<BreakerLabels, Gauge>,
    pub mcp_sessions_created: Counter,
    pub mcp_validations: Family<ResultLabels, Counter>,
    pub mcp_heartbeats: Family<ResultLabels, Counter>,
    pub mcp_operations: Family<McpOperationLabels, Counter>,
    pub mcp_duration: Family<McpOperationLabels, Histogram, fn() -> Histogram>,
    pub rate_limit_decisions: Family<DecisionLabels, Counter>,
    pub rate_limit_fallbacks: Counter,
    pub rate_limit_redis: Histogram,
    pub compressions: Family<StrategyLabels, Counter>,
    pub compression_tokens_before: Histogram,
    pub compression_tokens_after: Histogram,
    pub summaries: Family<SummaryLabels, Counter>,
    pub cache_requests: Family<CacheLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            http_requests.clone(),
        );
        let http_duration: Family<HttpLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time to produce the response head, by method, route and status",
            Unit::Seconds,
            http_duration.clone(),
        );
        let chat_turns = Family::<TurnLabels, Counter>::default();
        registry.register(
            "chat_turns",
            "Chat turns by LLM provider and outcome (complete, interrupted, error)",
            chat_turns.clone(),
        );
        let chat_errors = Family::<ChatErrorLabels, Counter>::default();
        registry.register(
            "chat_errors",
            "Chat requests refused and chat turns ended with an error, by error code (the code of the JSON error or of the error event)",
            chat_errors.clone(),
        );
        let auth_events = Family::<AuthLabels, Counter>::default();
        registry.register(
            "auth_events",
            "Sign-ups, log-ins and log-outs by result (ok, wrong_credentials, too_many_attempts, invalid, unavailable)",
            auth_events.clone(),
        );
        let db_pool_connections = Family::<DbPoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database pool connections by pool (read, write) and state (idle, in_use), when scraped",
            db_pool_connections.clone(),
        );
        let sessions_active = Gauge::default();
        registry.register(
            "sessions_active",
            "Account sessions that have not expired, counted in the database when scraped",
            sessions_active.clone(),
        );
        registry.register_with_unit(
            "db_pool_acquire_duration",
            "Time database queries of this process waited for a pooled connection (every pool)",
            Unit::Seconds,
            db_acquire_wait().clone(),
        );
        let anonymous_identities_created = Counter::default();
        registry.register(
            "anonymous_identities_created",
            "Anonymous identities stored for the first time (with their first conversation)",
            anonymous_identities_created.clone(),
        );
        let dependency_ready = Family::<DependencyLabels, Gauge>::default();
        registry.register(
            "dependency_ready",
            "Each configured dependency as /readyz sees it (1 ready, 0 down), when scraped",
            dependency_ready.clone(),
        );
        let budget_spent = Family::<TierLabels, Counter>::default();
        registry.register(
            "token_budget_spent_tokens",
            "Input and output tokens charged to the daily token budgets, by the caller's tier",
            budget_spent.clone(),
        );
        let budget_refusals = Family::<ScopeLabels, Counter>::default();
        registry.register(
            "token_budget_refusals",
            "Chat turns refused because a daily token budget was spent, by budget (identity, ip, global)",
            budget_refusals.clone(),
        );
        let budget_limit = Family::<ScopeLabels, Gauge>::default();
        registry.register(
            "token_budget_limit_tokens",
            "Daily token budgets by scope: global is TOKEN_BUDGET_GLOBAL (no series when unlimited)",
            budget_limit.clone(),
        );
        let retention_pruned = Family::<KindLabels, Counter>::default();
        registry.register(
            "retention_pruned",
            "Rows deleted by retention, by kind (anonymous_identities, conversations, messages, sessions)",
            retention_pruned.clone(),
        );
        let retention_runs = Family::<ResultLabels, Counter>::default();
        registry.register(
            "retention_runs",
            "Retention pruning runs by result (ok, failed)",
            retention_runs.clone(),
        );
        let retention_last_success = Gauge::default();
        registry.register(
            "retention_last_success_timestamp_seconds",
            "When a retention pruning run last succeeded, in Unix seconds",
            retention_last_success.clone(),
        );
        let chat_turn_duration: Family<TurnLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "chat_turn_duration",
            "Whole chat turns, from request to stored answer",
            Unit::Seconds,
            chat_turn_duration.clone(),
        );
        let tool_calls = Family::<ToolLabels, Counter>::default();
        registry.register(
            "tool_calls",
            "Tool calls by tool and outcome (ok, error result, backend failure)",
            tool_calls.clone(),
        );
        let tool_duration: Family<ToolLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "tool_call_duration",
            "Tool call durations by tool and outcome",
            Unit::Seconds,
            tool_duration.clone(),
        );
        let llm_requests = Family::<LlmLabels, Counter>::default();
        registry.register(
            "llm_requests",
            "Model requests by model and outcome (ok, overloaded, rate_limited, quota_exhausted, unauthorized, timeout, error, cancelled)",
            llm_requests.clone(),
        );
        let llm_retries = Family::<RetryLabels, Counter>::default();
        registry.register(
            "llm_retries",
            "Model requests retried before their stream started, by model and reason",
            llm_retries.clone(),
        );
        let llm_cache_tokens = Family::<CacheTokenLabels, Counter>::default();
        registry.register(
            "llm_prompt_cache_tokens",
            "Input tokens read from or written to the prompt cache",
            llm_cache_tokens.clone(),
        );
        let genai_duration: Family<GenAiLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "gen_ai_client_operation_duration",
            "GenAI operation duration: a model request from sending to its last event",
            Unit::Seconds,
            genai_duration.clone(),
        );
        let genai_first_chunk: Family<GenAiLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "gen_ai_client_operation_time_to_first_chunk",
            "Time from sending a model request to its first text or tool chunk, retries included",
            Unit::Seconds,
            genai_first_chunk.clone(),
        );
        let genai_tokens: Family<GenAiTokenLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(token_histogram);
        registry.register(
            "gen_ai_client_token_usage",
            "Tokens per model request, by token type (input counts cached input too)",
            genai_tokens.clone(),
        );
        let tool_rounds: Family<ProviderLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(rounds_histogram);
        registry.register(
            "chat_tool_rounds",
            "Rounds of tool calls in one chat turn (the tool-loop depth reached)",
            tool_rounds.clone(),
        );
        let breaker_transitions = Family::<BreakerStateLabels, Counter>::default();
        registry.register(
            "tool_breaker_transitions",
            "Circuit breaker state changes by tool backend and the state entered",
            breaker_transitions.clone(),
        );
        let breaker_state = Family::<BreakerLabels, Gauge>::default();
        registry.register(
            "tool_breaker_state",
            "Circuit breaker state by tool backend: 0 closed, 1 half-open, 2 open",
            breaker_state.clone(),
        );
        let mcp_sessions_created = Counter::default();
        registry.register(
            "mcp_client_sessions_created",
            "MCP client sessions created (initialize) with the remote MCP server",
            mcp_sessions_created.clone(),
        );
        let mcp_validations = Family::<ResultLabels, Counter>::default();
        registry.register(
            "mcp_client_session_validations",
            "Validations of an idle MCP session before reuse, by result (ok, failed, invalid, missing)",
            mcp_validations.clone(),
        );
        let mcp_heartbeats = Family::<ResultLabels, Counter>::default();
        registry.register(
            "mcp_client_heartbeats",
            "Heartbeat pings of the live MCP session, by result",
            mcp_heartbeats.clone(),
        );
        let mcp_operations = Family::<McpOperationLabels, Counter>::default();
        registry.register(
            "mcp_client_operations",
            "Requests to the remote MCP server by method, tool and outcome",
            mcp_operations.clone(),
        );
        let mcp_duration: Family<McpOperationLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "mcp_client_operation_duration",
            "Duration of requests to the remote MCP server by method, tool and outcome",
            Unit::Seconds,
            mcp_duration.clone(),
        );
        let rate_limit_decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "rate_limit_decisions",
            "Chat rate-limit decisions by tier and result",
            rate_limit_decisions.clone(),
        );
        let rate_limit_fallbacks = Counter::default();
        registry.register(
            "rate_limit_fallback_activations",
            "Times Redis could not be reached and the in-process limiter took over",
            rate_limit_fallbacks.clone(),
        );
        // 50 µs … ~0.8 s
        let rate_limit_redis = Histogram::new(exponential_buckets(0.00005, 2.0, 14));
        registry.register_with_unit(
            "rate_limit_redis_duration",
            "Round trip of one rate-limit decision in Redis",
            Unit::Seconds,
            rate_limit_redis.clone(),
        );
        let compressions = Family::<StrategyLabels, Counter>::default();
        registry.register(
            "context_compressions",
            "Context compressions by strategy (shorten_tool_results, summarize, truncate)",
            compressions.clone(),
        );
        let compression_tokens_before = token_histogram();
        registry.register(
            "context_compression_tokens_before",
            "Context tokens before a compression",
            compression_tokens_before.clone(),
        );
        let compression_tokens_after = token_histogram();
        registry.register(
            "context_compression_tokens_after",
            "Context tokens after a compression",
            compression_tokens_after.clone(),
        );
        let summaries = Family::<SummaryLabels, Counter>::default();
        registry.register(
            "context_summaries",
            "Summaries of older turns by summarizer and result",
            summaries.clone(),
        );
        let cache_requests = Family::<CacheLabels, Counter>::default();
        registry.register(
            "cache_requests",
            "Cache lookups by cache, layer (memory, redis) and result (hit, miss, error); stale contexts found",
            cache_requests.clone(),
        );
        let chat_turns_running = Gauge::default();
        registry.register(
            "chat_turns_running",
            "Chat turns running now (holding a place under the concurrency caps)",
            chat_turns_running.clone(),
        );
        let chat_turn_followers = Gauge::default();
        registry.register(
            "chat_turn_followers",
            "Pages following a running turn from its log now",
            chat_turn_followers.clone(),
        );
        registry.register_collector(Box::new(ProcessCollector));
        Self {
            registry,
            http_requests,
            http_duration,
            chat_turns,
            chat_turn_duration,
            chat_turns_running,
            chat_turn_followers,
            chat_errors,
            auth_events,
            db_pool_connections,
            sessions_active,
            anonymous_identities_created,
            dependency_ready,
            budget_spent,
            budget_refusals,
            budget_limit,
            retention_pruned,
            retention_runs,
            retention_last_success,
            tool_calls,
            tool_duration,
            llm_requests,
            llm_retries,
            llm_cache_tokens,
            genai_duration,
            genai_first_chunk,
            genai_tokens,
            tool_rounds,
            breaker_transitions,
            breaker_state,
            mcp_sessions_created,
            mcp_validations,
            mcp_heartbeats,
            mcp_operations,
            mcp_duration,
            rate_limit_decisions,
            rate_limit_fallbacks,
            rate_limit_redis,
            compressions,
            compression_tokens_before,
            compression_tokens_after,
            summaries,
            cache_requests,
        }
    }

    /// `n` lookups of the cache `cache` in `layer` with `result`.
    pub fn record_cache(&self, cache: &str, layer: &str, result: &str, n: u64) {
        self.cache_requests
            .get_or_create(&CacheLabels {
                cache: cache.into(),
                layer: layer.into(),
                result: result.into(),
            })
            .inc_by(n);
    }

    pub fn record_summary(&self, summarizer: &str, result: &str) {
        self.summaries
            .get_or_create(&SummaryLabels {
                summarizer: summarizer.into(),
                result: result.into(),
            })
            .inc();
    }

    /// One compression of a context: the strategies it took, and its tokens before and after.
    pub fn record_compression(&self, strategies: &[&str], before: u32, after: u32) {
        for strategy in strategies {
            self.compressions
                .get_or_create(&StrategyLabels {
                    strategy: (*strategy).into(),
                })
                .inc();
        }
        self.compression_tokens_before.observe(before as f64);
        self.compression_tokens_after.observe(after as f64);
    }

    pub fn record_rate_limit(&self, tier: &str, result: &str) {
        self.rate_limit_decisions
            .get_or_create(&DecisionLabels {
                tier: tier.into(),
                result: result.into(),
            })
            .inc();
    }

    pub fn record_rate_limit_fallback(&self) {
        self.rate_limit_fallbacks.inc();
    }

    pub fn record_rate_limit_redis(&self, elapsed: Duration) {
        self.rate_limit_redis.observe(elapsed.as_secs_f64());
    }

    pub fn record_mcp_operation(&self, method: &str, tool: &str, outcome: &str, elapsed: Duration) {
        let labels = McpOperationLabels {
            mcp_method_name: method.into(),
            gen_ai_tool_name: tool.into(),
            outcome: outcome.into(),
        };
        self.mcp_operations.get_or_create(&labels).inc();
        self.mcp_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    pub fn record_mcp_session_created(&self) {
        self.mcp_sessions_created.inc();
    }

    pub fn record_mcp_validation(&self, result: &str) {
        self.mcp_validations
            .get_or_create(&ResultLabels {
                result: result.into(),
            })
            .inc();
    }

    pub fn record_mcp_heartbeat(&self, result: &str) {
        self.mcp_heartbeats
            .get_or_create(&ResultLabels {
                result: result.into(),
            })
            .inc();
    }

    fn genai(model: &str) -> GenAiLabels {
        GenAiLabels {
            gen_ai_operation_name: "chat".into(),
            gen_ai_provider_name: "anthropic".into(),
            gen_ai_request_model: model.into(),
        }
    }

    /// One model request, when it ended (outcome `ok`, an error's outcome, or `cancelled`).
    pub fn record_llm_request(
        &self,
        model: &str,
        outcome: &str,
        elapsed: Duration,
        usage: TokenUsage,
    ) {
        self.llm_requests
            .get_or_create(&LlmLabels {
                model: model.into(),
                outcome: outcome.into(),
            })
            .inc();
        let labels = Self::genai(model);
        self.genai_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        if usage == TokenUsage::default() {
            return;
        }
        for (kind, tokens) in [("input", usage.input), ("output", usage.output)] {
            self.genai_tokens
                .get_or_create(&GenAiTokenLabels {
                    gen_ai_operation_name: labels.gen_ai_operation_name.clone(),
                    gen_ai_provider_name: labels.gen_ai_provider_name.clone(),
                    gen_ai_request_model: labels.gen_ai_request_model.clone(),
                    gen_ai_token_type: kind.into(),
                })
                .observe(tokens as f64);
        }
        for (kind, tokens) in [("read", usage.cache_read), ("write", usage.cache_write)] {
            self.llm_cache_tokens
                .get_or_create(&CacheTokenLabels {
                    model: model.into(),
                    kind: kind.into(),
                })
                .inc_by(tokens);
        }
    }

    pub fn record_llm_first_chunk(&self, model: &str, elapsed: Duration) {
        self.genai_first_chunk
            .get_or_create(&Self::genai(model))
            .observe(elapsed.as_secs_f64());
    }

    pub fn record_llm_retry(&self, model: &str, reason: &str) {
        self.llm_retries
            .get_or_create(&RetryLabels {
                model: model.into(),
                reason: reason.into(),
            })
            .inc();
    }

    pub fn record_tool_rounds(&self, provider: &str, rounds: u32) {
        self.tool_rounds
            .get_or_create(&ProviderLabels {
                provider: provider.into(),
            })
            .observe(rounds as f64);
    }

    /// A circuit breaker entered `state` (`closed`, `half_open` or `open`).
    pub fn record_breaker(&self, backend: &str, state: &str) {
        self.breaker_transitions
            .get_or_create(&BreakerStateLabels {
                backend: backend.into(),
                state: state.into(),
            })
            .inc();
        let value = match state {
            "open" => 2,
            "half_open" => 1,
            _ => 0,
        };
        self.breaker_state
            .get_or_create(&BreakerLabels {
                backend: backend.into(),
            })
            .set(value);
    }

    pub fn record_http(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let labels = HttpLabels {
            method: method.to_string(),
            route: route.to_string(),
            status,
        };
        self.http_requests.get_or_create(&labels).inc();
        self.http_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// A sign-up, log-in or log-out (`event`) and its `result`.
    pub fn record_auth(&self, event: &str, result: &str) {
        let labels = AuthLabels {
            event: event.to_string(),
            result: result.to_string(),
        };
        self.auth_events.get_or_create(&labels).inc();
    }

    /// The connections of database pool `pool` now.
    pub fn record_db_pool(&self, pool: &str, idle: u32, in_use: u32) {
        for (state, n) in [("idle", idle), ("in_use", in_use)] {
            let labels = DbPoolLabels {
                pool: pool.to_string(),
                state: state.to_string(),
            };
            self.db_pool_connections
                .get_or_create(&labels)
                .set(i64::from(n));
        }
    }

    /// `dependency` is ready (`Some(true)`), down (`Some(false)`) or not configured (`None`,
    /// its series removed).
    pub fn record_dependency(&self, dependency: &str, ready: Option<bool>) {
        let labels = DependencyLabels {
            dependency: dependency.to_string(),
        };
        match ready {
            Some(ready) => {
                self.dependency_ready
                    .get_or_create(&labels)
                    .set(i64::from(ready));
            }
            None => {
                self.dependency_ready.remove(&labels);
            }
        }
    }

    /// `tokens` charged to the budgets of a caller of `tier`.
    pub fn record_budget_spend(&self, tier: &str, tokens: u64) {
        self.budget_spent
            .get_or_create(&TierLabels {
                tier: tier.to_string(),
            })
            .inc_by(tokens);
    }

    /// The deployment's daily token budget (`None`: unlimited, no series).
    pub fn record_global_budget(&self, limit: Option<u64>) {
        let labels = ScopeLabels {
            scope: "global".to_string(),
        };
        match limit {
            Some(limit) => {
                self.budget_limit
                    .get_or_create(&labels)
                    .set(i64::try_from(limit).unwrap_or(i64::MAX));
            }
            None => {
                self.budget_limit.remove(&labels);
            }
        }
    }

    /// A turn refused because the budget `scope` was spent.
    pub fn record_budget_refusal(&self, scope: &str) {
        self.budget_refusals
            .get_or_create(&ScopeLabels {
                scope: scope.to_string(),
            })
            .inc();
    }

    /// A pruning run that succeeded, with what it deleted by kind.
    pub fn record_pruned(&self, counts: &[(&str, u64)]) {
        for (kind, n) in counts {
            self.retention_pruned
                .get_or_create(&KindLabels {
                    kind: (*kind).to_string(),
                })
                .inc_by(*n);
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.retention_last_success
            .set(i64::try_from(now).unwrap_or(i64::MAX));
        self.record_retention_run("ok");
    }

    /// A pruning run that failed.
    pub fn record_prune_failed(&self) {
        self.record_retention_run("failed");
    }

    fn record_retention_run(&self, result: &str) {
        self.retention_runs
            .get_or_create(&ResultLabels {
                result: result.to_string(),
            })
            .inc();
    }

    /// A chat request refused, or a turn ended, with `code`.
    pub fn record_chat_error(&self, code: app::types::ErrorCode) {
        let labels = ChatErrorLabels {
            code: code.as_str().to_string(),
        };
        self.chat_errors.get_or_create(&labels).inc();
    }

    pub fn record_turn(&self, provider: &str, outcome: &str, elapsed: Duration) {
        let labels = TurnLabels {
            provider: provider.to_string(),
            outcome: outcome.to_string(),
        };
        self.chat_turns.get_or_create(&labels).inc();
        self.chat_turn_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    pub fn record_tool(&self, tool: &str, outcome: &str, elapsed: Duration) {
        let labels = ToolLabels {
            tool: tool.to_string(),
            outcome: outcome.to_string(),
        };
        self.tool_calls.get_or_create(&labels).inc();
        self.tool_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// The OpenMetrics text format (what prometheus-client writes).
    pub fn encode_openmetrics(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
            let _ = writeln!(out, "# EOF");
        }
        out
    }

    /// The classic Prometheus text format 0.0.4, for scrapers and tools (promtool) that do not
    /// ask for OpenMetrics: counter families are named with their `_total` suffix, and the
    /// `# UNIT` and `# EOF` lines, which 0.0.4 does not have, are left out.
    pub fn encode_prometheus(&self) -> String {
        openmetrics_to_prometheus(&self.encode_openmetrics())
    }
}

/// Rewrites prometheus-client's OpenMetrics output as Prometheus text format 0.0.4.
fn openmetrics_to_prometheus(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let rewritten = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match rewritten {
            Some(l) => out.push_str(&l),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Reads the process's own resource use from `/proc/self` at scrape time.
#[derive(Debug)]
struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(stat) = ProcStat::read() else {
            return Ok(());
        };
        let rss = ConstGauge::new(stat.rss_bytes as i64);
        rss.encode(encoder.encode_descriptor(
            "process_resident_memory",
            "Resident memory size",
            Some(&Unit::Bytes),
            rss.metric_type(),
        )?)?;
        let virt = ConstGauge::new(stat.virtual_bytes as i64);
        virt.encode(encoder.encode_descriptor(
            "process_virtual_memory",
            "Virtual memory size",
            Some(&Unit::Bytes),
            virt.metric_type(),
        )?)?;
        let cpu = ConstCounter::new(stat.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu",
            "User and system CPU time spent",
            Some(&Unit::Seconds),
            cpu.metric_type(),
        )?)?;
        let threads = ConstGauge::new(stat.threads);
        threads.encode(encoder.encode_descriptor(
            "process_threads",
            "OS threads of the process",
            None,
            threads.metric_type(),
        )?)?;
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let tasks = ConstGauge::new(runtime.metrics().num_alive_tasks() as i64);
            tasks.encode(encoder.encode_descriptor(
                "tokio_alive_tasks",
                "Tasks alive in the async runtime (a leak shows as a count that only grows)",
                None,
                tasks.metric_type(),
            )?)?;
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            let open = ConstGauge::new(fds.count() as i64);
            open.encode(encoder.encode_descriptor(
                "process_open_fds",
                "Open file descriptors",
                None,
                open.metric_type(),
            )?)?;
        }
        Ok(())
    }
}

struct ProcStat {
    rss_bytes: u64,
    virtual_bytes: u64,
    cpu_seconds: f64,
    threads: i64,
}

impl ProcStat {
    fn read() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // Field numbers from proc(5), minus the 3 before `rest` (pid, comm, state is rest[0]).
        let get = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
        let ticks = 100.0; // USER_HZ on Linux
        let page = 4096;
        Some(Self {
            cpu_seconds: (get(14)? + get(15)?) as f64 / ticks,
            threads: get(20)? as i64,
            virtual_bytes: get(23)?,
            rss_bytes: get(24)? * page,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_recorded_series_and_process_memory() {
        let m = Metrics::new();
        m.record_http("GET", "/healthz", 200, Duration::from_millis(2));
        m.record_tool("fpl_player_data", "ok", Duration::from_millis(5));
        m.record_turn("offline", "complete", Duration::from_millis(40));
        let text = m.encode_prometheus();
        assert!(
            text.contains(r#"http_requests_total{method="GET",route="/healthz",status="200"} 1"#)
        );
        assert!(text.contains(r#"tool_calls_total{tool="fpl_player_data",outcome="ok"} 1"#));
        assert!(text.contains(r#"chat_turns_total{provider="offline",outcome="complete"} 1"#));
        assert!(text.contains("http_request_duration_seconds_bucket"));
        let rss_line = text
            .lines()
            .find(|l| l.starts_with("process_resident_memory_bytes "))
            .expect("rss line");
        let rss: f64 = rss_line.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!(rss > 1_000_000.0, "rss {rss}");
    }

    #[test]
    fn the_classic_format_names_counter_families_with_total() {
        let m = Metrics::new();
        m.record_turn("offline", "complete", Duration::from_millis(1));
        m.record_http("GET", "/", 200, Duration::from_millis(1));
        let om = m.encode_openmetrics();
        assert!(om.contains("# TYPE chat_turns counter") && om.ends_with("# EOF\n"));
        let text = m.encode_prometheus();
        assert!(text.contains("# HELP chat_turns_total Chat turns"));
        assert!(text.contains("# TYPE chat_turns_total counter"));
        assert!(text.contains("# TYPE http_request_duration_seconds histogram"));
        assert!(!text.contains("# EOF") && !text.contains("# UNIT"));
    }
}
