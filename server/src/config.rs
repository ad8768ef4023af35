//! The one typed configuration, read from the environment (and a `.env` file if present).
//!
//! Every variable of docs/contract.md ("Configuration") is parsed and validated here, at
//! start-up; a bad value stops the start with one line naming the variable.
//! Secrets are wrapped in [`Secret`], whose `Debug` never shows them.
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A value that must never be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// `N` requests per `window`, written `N/<seconds>s` (e.g. `20/60s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub window: Duration,
}

impl RateLimit {
    fn parse(raw: &str) -> Result<Self, String> {
        let bad = || format!("expected N/<seconds>s such as 20/60s, got {raw:?}");
        let (n, window) = raw.trim().split_once('/').ok_or_else(bad)?;
        let requests: u32 = n.trim().parse().map_err(|_| bad())?;
        let secs: u64 = window
            .trim()
            .strip_suffix('s')
            .ok_or_else(bad)?
            .parse()
            .map_err(|_| bad())?;
        if requests == 0 || secs == 0 {
            return Err(format!("both numbers must be above 0, got {raw:?}"));
        }
        Ok(Self {
            requests,
            window: Duration::from_secs(secs),
        })
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}s", self.requests, self.window.as_secs())
    }
}

/// Limits per tier, and the looser one per client IP for anonymous requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub anonymous: RateLimit,
    pub default: RateLimit,
    pub premium: RateLimit,
    pub ip: RateLimit,
    /// Requests to `/mcp` per client IP (`RATE_LIMIT_MCP`): MCP clients have no cookie, so the
    /// address is all there is to count.
    pub mcp: RateLimit,
    /// Input + output tokens a caller may use per UTC day, per tier (`TOKEN_BUDGET_*`).
    pub daily_tokens: DailyTokens,
}

/// Daily token budgets (input + output tokens per UTC day). Anonymous turns are charged to the
/// identity and to the client IP, and every turn to the whole deployment, so that a new cookie
/// never brings a new budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyTokens {
    pub anonymous: u64,
    pub default: u64,
    pub premium: u64,
    /// All anonymous identities behind one client IP (IPv4 address, IPv6 /64)
    /// (`TOKEN_BUDGET_IP`).
    pub ip: u64,
    /// The whole deployment, every caller and the summarizer (`TOKEN_BUDGET_GLOBAL`); `None`
    /// is unlimited.
    pub global: Option<u64>,
}

/// How many chat turns may stream at once: a turn holds an upstream stream, a tool loop and
/// memory for minutes, so concurrency is capped before streaming starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnConcurrency {
    /// Turns one identity (user or anonymous identity) may run at once
    /// (`CHAT_MAX_TURNS_PER_IDENTITY`); over it: 429.
    pub per_identity: u32,
    /// Turns this instance runs at once (`CHAT_MAX_CONCURRENT_TURNS`); over it: 503.
    pub per_instance: u32,
    /// On SIGTERM, how long requests and turns in flight may go on before they are stopped
    /// (a stopped turn's answer is stored as interrupted) (`SHUTDOWN_DRAIN_SECS`).
    pub drain: Duration,
}

/// The Claude API, when `CLAUDE_API_KEY` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaudeConfig {
    pub api_key: Secret,
    pub model: String,
    pub summary_model: String,
    pub base_url: String,
    /// Retries of a request that failed before its stream started (`CLAUDE_MAX_RETRIES`).
    pub max_retries: u32,
    pub connect_timeout: Duration,
    /// Until the response head arrives (`CLAUDE_FIRST_BYTE_TIMEOUT_MS`).
    pub first_byte_timeout: Duration,
    /// Longest silence between two stream events (`CLAUDE_IDLE_TIMEOUT_MS`).
    pub idle_timeout: Duration,
}

/// MCP: the built-in server at `/mcp`, and the client of a remote server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpConfig {
    /// Host names (`Host` header, any port) it serves; `None` = any (`MCP_ALLOWED_HOSTS=*`).
    pub allowed_hosts: Option<Vec<String>>,
    /// Browser origins it serves (`MCP_ALLOWED_ORIGINS`); empty = no origin check.
    pub allowed_origins: Vec<String>,
    /// How long an unused session lives (`MCP_SESSION_IDLE_SECS`).
    pub session_idle: Duration,
    /// How often the client pings its session with a remote MCP server (`MCP_HEARTBEAT_SECS`).
    pub heartbeat: Duration,
    /// Most `/mcp` sessions this instance keeps at once (`MCP_MAX_SESSIONS`); a new
    /// `initialize` over it is refused, so sessions never grow memory without bound.
    pub max_sessions: u32,
    /// When set, `/mcp` requires `Authorization: Bearer <token>` (`MCP_AUTH_TOKEN`, at least
    /// 16 characters), compared in constant time.
    pub auth_token: Option<Secret>,
}

/// How tool calls are bounded and guarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolPolicy {
    /// One tool call's limit (`TOOL_TIMEOUT_MS`).
    pub timeout: Duration,
    /// Failures in a row that open the circuit breaker (`TOOL_BREAKER_FAILURES`).
    pub breaker_failures: u32,
    /// How long an open breaker refuses calls before it lets one probe through
    /// (`TOOL_BREAKER_COOLDOWN_MS`).
    pub breaker_cooldown: Duration,
}

/// What `REDIS_URL` names (`REDIS_CLUSTER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisTopology {
    /// Unset: the first connection asks the node (`INFO cluster`); several seed nodes in
    /// `REDIS_URL` mean a cluster.
    Detect,
    /// `REDIS_CLUSTER=false`: a single node, never asked.
    Single,
    /// `REDIS_CLUSTER=true`: a Redis Cluster, `REDIS_URL`'s nodes its seeds.
    Cluster,
}

/// How log lines are written (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Unset or `text`: readable lines, the request's and turn's fields before the message.
    Text,
    /// `json`: one JSON object per line, with the fields of every enclosing span (for log
    /// platforms such as Railway's).
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub addr: SocketAddr,
    /// `LOG_FORMAT`.
    pub log_format: LogFormat,
    pub database_url: String,
    /// `DATABASE_MAX_CONNECTIONS`: the size of each of PostgreSQL's two pools (reads, writes);
    /// unused by SQLite.
    pub database_max_connections: u32,
    /// `REDIS_URL`: one node, or several seed nodes of a cluster separated by commas.
    pub redis_url: Option<Secret>,
    /// Whether `REDIS_URL` is a single node or a cluster (`REDIS_CLUSTER`).
    pub redis_topology: RedisTopology,
    pub redis_prefix: String,
    pub claude: Option<ClaudeConfig>,
    /// Model names are kept even without a key, so that `doctor` can show them.
    pub claude_model: String,
    pub claude_summary_model: String,
    pub mcp_server_url: Option<String>,
    pub metrics_token: Option<Secret>,
    pub fpl_api_base_url: String,
    pub fpl_snapshot_dir: Option<PathBuf>,
    pub rate_limits: RateLimits,
    pub trust_proxy_headers: bool,
    /// How many proxies in front of the app append to `X-Forwarded-For`
    /// (`TRUSTED_PROXY_HOPS`): the client is that many entries from the right.
    pub trusted_proxy_hops: u32,
    /// Chat turns at once, per identity and per instance.
    pub turns: TurnConcurrency,
    pub context_token_limit: u32,
    pub tool_max_depth: u32,
    pub tools: ToolPolicy,
    pub mcp: McpConfig,
    /// `None`: the key generated once and kept in the database, shared by every instance on
    /// it and surviving restarts.
    pub session_secret: Option<Secret>,
    /// A key cookies were signed with before (`SESSION_SECRET_PREVIOUS`): still accepted, so
    /// that a key can be rotated without signing everyone out; new cookies use the current one.
    pub session_secret_previous: Option<Secret>,
    /// Pause between the offline analyst's streamed pieces (`OFFLINE_ANALYST_PACE_MS`), so that
    /// its answers stream like a model's; 0 in tests and benchmarks.
    pub offline_pace: Duration,
    /// `RETENTION_ANONYMOUS_DAYS`: when set, the server's hourly pruning (which always deletes
    /// expired sessions) also deletes the anonymous identities idle for longer, with their
    /// conversations; also the default of `fpl-chat prune` (30 days when unset). Accounts'
    /// conversations are never pruned.
    pub retention_anonymous_days: Option<u32>,
}

impl Config {
    /// The database pools' size (`DATABASE_MAX_CONNECTIONS`), opened as they are used: what
    /// a one-shot command needs. The server keeps them open ([`Config::server_store_options`]).
    pub fn store_options(&self) -> crate::store::StoreOptions {
        crate::store::StoreOptions {
            max_connections: self.database_max_connections,
            ..Default::default()
        }
    }

    /// As [`Config::store_options`], every connection opened at start and kept open, so that
    /// a burst after a quiet spell does not wait for new ones.
    pub fn server_store_options(&self) -> crate::store::StoreOptions {
        crate::store::StoreOptions {
            min_connections: self.database_max_connections,
            ..self.store_options()
        }
    }
}

/// One bad variable: `NAME: what is wrong`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

pub const DEFAULT_CLAUDE_MODEL: &str = "claude-sonnet-4-5";
pub const DEFAULT_SUMMARY_MODEL: &str = "claude-haiku-4-5";

impl Config {
    /// Reads the process environment (after loading `.env`, if there is one).
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any variable lookup (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &'static str| get(name).filter(|v| !v.trim().is_empty());
        let err = |var: &'static str, message: String| ConfigError { var, message };

        let addr = match (var("LEPTOS_SITE_ADDR"), var("PORT")) {
            (Some(a), _) => a
                .trim()
                .parse()
                .map_err(|_| err("LEPTOS_SITE_ADDR", format!("expected host:port, got {a:?}")))?,
            (None, Some(p)) => {
                let port: u16 = p
                    .trim()
                    .parse()
                    .map_err(|_| err("PORT", format!("expected a port number, got {p:?}")))?;
                // A platform that sets PORT (Railway) routes to the container from outside.
                SocketAddr::from(([0, 0, 0, 0], port))
            }
            (None, None) => SocketAddr::from(([127, 0, 0, 1], 3000)),
        };

        let log_format = match var("LOG_FORMAT").as_deref().map(str::trim) {
            None => LogFormat::Text,
            Some(v) if v.eq_ignore_ascii_case("text") => LogFormat::Text,
            Some(v) if v.eq_ignore_ascii_case("json") => LogFormat::Json,
            Some(v) => {
                return Err(err(
                    "LOG_FORMAT",
                    format!("expected text or json, got {v:?}"),
                ))
            }
        };

        let database_url =
            var("DATABASE_URL").unwrap_or_else(|| "sqlite://data/fpl-chat.db".into());
        let db = database_url.trim();
        if !(db.starts_with("postgres://")
            || db.starts_with("postgresql://")
            || db.starts_with("sqlite:"))
        {
            return Err(err(
                "DATABASE_URL",
                "expected postgres://… or sqlite://… (the value is not shown: it may hold a password)".into(),
            ));
        }

        let redis_url = var("REDIS_URL");
        if let Some(url) = &redis_url {
            let node = |u: &str| u.starts_with("redis://") || u.starts_with("rediss://");
            if !url.split(',').map(str::trim).all(node) {
                return Err(err(
                    "REDIS_URL",
                    "expected redis://… or rediss://…, or several separated by commas (the value is not shown)".into(),
                ));
            }
        }
        let redis_topology = match var("REDIS_CLUSTER").as_deref().map(str::trim) {
            None => RedisTopology::Detect,
            Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => RedisTopology::Cluster,
            Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => RedisTopology::Single,
            Some(v) => {
                return Err(err(
                    "REDIS_CLUSTER",
                    format!("expected true or false, got {v:?}"),
                ))
            }
        };

        let url = |name: &'static str, default: &str| -> Result<String, ConfigError> {
            let value = var(name).unwrap_or_else(|| default.to_string());
            let trimmed = value.trim().trim_end_matches('/').to_string();
            if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
                Ok(trimmed)
            } else {
                Err(err(
                    name,
                    format!("expected an http(s) URL, got {:?}", redact_url(&value)),
                ))
            }
        };
        let claude_base_url = url("CLAUDE_API_BASE_URL", "https://api.anthropic.com")?;
        let fpl_api_base_url = url("FPL_API_BASE_URL", "https://fantasy.premierleague.com/api")?;
        // A base URL without a path means the server's `/mcp`.
        let mcp_server_url = match var("EXPRESS_MCP_SERVER_PRIVATE") {
            Some(_) => {
                let base = url("EXPRESS_MCP_SERVER_PRIVATE", "")?;
                let path_start = base.find("://").map(|i| i + 3).unwrap_or(0);
                Some(match base[path_start..].find('/') {
                    Some(_) => base,
                    None => format!("{base}/mcp"),
                })
            }
            None => None,
        };

        let claude_model =
            var("CLAUDE_MODEL_VERSION").unwrap_or_else(|| DEFAULT_CLAUDE_MODEL.into());
        let claude_summary_model =
            var("CLAUDE_SUMMARY_MODEL").unwrap_or_else(|| DEFAULT_SUMMARY_MODEL.into());

        let limit = |name: &'static str, default: &str| {
            RateLimit::parse(&var(name).unwrap_or_else(|| default.into())).map_err(|m| err(name, m))
        };
        let mut rate_limits = RateLimits {
            anonymous: limit("RATE_LIMIT_ANONYMOUS", "10/60s")?,
            default: limit("RATE_LIMIT_DEFAULT", "20/60s")?,
            premium: limit("RATE_LIMIT_PREMIUM", "40/60s")?,
            ip: limit("RATE_LIMIT_IP", "60/60s")?,
            mcp: limit("RATE_LIMIT_MCP", "120/60s")?,
            daily_tokens: DailyTokens {
                anonymous: 0,
                default: 0,
                premium: 0,
                ip: 0,
                global: None,
            },
        };

        let trust_proxy_headers = match var("TRUST_PROXY_HEADERS").as_deref().map(str::trim) {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => true,
            Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => false,
            Some(v) => {
                return Err(err(
                    "TRUST_PROXY_HEADERS",
                    format!("expected true or false, got {v:?}"),
                ))
            }
        };

        let number = |name: &'static str, default: u32, min: u32, max: u32| {
            let Some(raw) = var(name) else {
                return Ok(default);
            };
            match raw.trim().parse::<u32>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(err(
                    name,
                    format!("expected a whole number from {min} to {max}, got {raw:?}"),
                )),
            }
        };
        let context_token_limit = number("CONTEXT_TOKEN_LIMIT", 100_000, 4_000, 1_000_000)?;
        let tool_max_depth = number("TOOL_MAX_DEPTH", 5, 1, 50)?;
        let tokens = |name: &'static str, default: u32| {
            number(name, default, 1_000, 4_000_000_000).map(u64::from)
        };
        rate_limits.daily_tokens = DailyTokens {
            anonymous: tokens("TOKEN_BUDGET_ANONYMOUS", 100_000)?,
            default: tokens("TOKEN_BUDGET_DEFAULT", 500_000)?,
            premium: tokens("TOKEN_BUDGET_PREMIUM", 2_000_000)?,
            ip: tokens("TOKEN_BUDGET_IP", 300_000)?,
            global: match var("TOKEN_BUDGET_GLOBAL") {
                Some(_) => Some(tokens("TOKEN_BUDGET_GLOBAL", 0)?),
                None => None,
            },
        };
        let trusted_proxy_hops = number("TRUSTED_PROXY_HOPS", 1, 1, 10)?;
        let database_max_connections = number(
            "DATABASE_MAX_CONNECTIONS",
            crate::store::DEFAULT_MAX_CONNECTIONS,
            1,
            1_000,
        )?;
        let turns = TurnConcurrency {
            per_identity: number("CHAT_MAX_TURNS_PER_IDENTITY", 2, 1, 100)?,
            per_instance: number("CHAT_MAX_CONCURRENT_TURNS", 512, 1, 100_000)?,
            drain: Duration::from_secs(number("SHUTDOWN_DRAIN_SECS", 20, 0, 3_600)?.into()),
        };
        let millis = |name: &'static str, default: u32, min: u32, max: u32| {
            number(name, default, min, max).map(|ms| Duration::from_millis(ms as u64))
        };
        let tools = ToolPolicy {
            timeout: millis("TOOL_TIMEOUT_MS", 30_000, 10, 600_000)?,
            breaker_failures: number("TOOL_BREAKER_FAILURES", 5, 1, 1_000)?,
            breaker_cooldown: millis("TOOL_BREAKER_COOLDOWN_MS", 30_000, 10, 3_600_000)?,
        };
        let mcp = McpConfig {
            allowed_hosts: match var("MCP_ALLOWED_HOSTS").as_deref().map(str::trim) {
                Some("*") => None,
                Some(list) => Some(host_list(list).map_err(|m| err("MCP_ALLOWED_HOSTS", m))?),
                None => {
                    // Loopback, the listen address, and Railway's public domain when deployed.
                    let mut hosts: Vec<String> =
                        ["localhost", "127.0.0.1", "::1"].map(String::from).into();
                    if !addr.ip().is_unspecified() && !addr.ip().is_loopback() {
                        hosts.push(addr.ip().to_string());
                    }
                    if let Some(domain) = var("RAILWAY_PUBLIC_DOMAIN") {
                        hosts.extend(
                            host_list(&domain).map_err(|m| err("RAILWAY_PUBLIC_DOMAIN", m))?,
                        );
                    }
                    Some(hosts)
                }
            },
            allowed_origins: match var("MCP_ALLOWED_ORIGINS") {
                None => Vec::new(),
                Some(list) => list
                    .split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_string())
                    .filter(|o| !o.is_empty())
                    .map(|o| {
                        if o.starts_with("http://") || o.starts_with("https://") {
                            Ok(o)
                        } else {
                            Err(err(
                                "MCP_ALLOWED_ORIGINS",
                                format!("expected origins such as https://example.com, got {o:?}"),
                            ))
                        }
                    })
                    .collect::<Result<_, _>>()?,
            },
            session_idle: Duration::from_secs(
                number("MCP_SESSION_IDLE_SECS", 1_800, 1, 86_400)? as u64
            ),
            heartbeat: Duration::from_secs(number("MCP_HEARTBEAT_SECS", 30, 1, 3_600)? as u64),
            max_sessions: number("MCP_MAX_SESSIONS", 1_000, 1, 1_000_000)?,
            auth_token: token(&var, "MCP_AUTH_TOKEN")?,
        };
        let max_retries = number("CLAUDE_MAX_RETRIES", 2, 0, 10)?;
        let connect_timeout = millis("CLAUDE_CONNECT_TIMEOUT_MS", 10_000, 10, 600_000)?;
        let first_byte_timeout = millis("CLAUDE_FIRST_BYTE_TIMEOUT_MS", 60_000, 10, 600_000)?;
        let idle_timeout = millis("CLAUDE_IDLE_TIMEOUT_MS", 60_000, 10, 600_000)?;
        let claude = var("CLAUDE_API_KEY").map(|key| ClaudeConfig {
            api_key: Secret::new(key.trim()),
            model: claude_model.clone(),
            summary_model: claude_summary_model.clone(),
            base_url: claude_base_url.clone(),
            max_retries,
            connect_timeout,
            first_byte_timeout,
            idle_timeout,
        });
        let offline_pace =
            Duration::from_millis(number("OFFLINE_ANALYST_PACE_MS", 12, 0, 1_000)? as u64);
        let retention_anonymous_days = match var("RETENTION_ANONYMOUS_DAYS") {
            Some(_) => Some(number("RETENTION_ANONYMOUS_DAYS", 30, 1, 36_500)?),
            None => None,
        };

        let redis_prefix = var("REDIS_PREFIX").unwrap_or_else(|| "fplchat:".into());
        if redis_prefix
            .chars()
            .any(|c| c.is_whitespace() || c == '{' || c == '}')
        {
            return Err(err(
                "REDIS_PREFIX",
                "must not contain spaces or braces (braces are used for hash tags)".into(),
            ));
        }

        let secret = |name: &'static str| match var(name).map(Secret::new) {
            Some(s) if s.expose().len() < 32 => Err(err(
                name,
                "must be at least 32 characters (e.g. `openssl rand -hex 32`)".into(),
            )),
            other => Ok(other),
        };
        let session_secret = secret("SESSION_SECRET")?;
        let session_secret_previous = secret("SESSION_SECRET_PREVIOUS")?;

        Ok(Self {
            addr,
            log_format,
            database_url,
            database_max_connections,
            redis_url: redis_url.map(Secret::new),
            redis_topology,
            redis_prefix,
            claude,
            claude_model,
            claude_summary_model,
            mcp_server_url,
            metrics_token: token(&var, "METRICS_AUTH_TOKEN")?,
            fpl_api_base_url,
            fpl_snapshot_dir: var("FPL_SNAPSHOT_DIR").map(PathBuf::from),
            rate_limits,
            trust_proxy_headers,
            trusted_proxy_hops,
            turns,
            context_token_limit,
            tool_max_depth,
            tools,
            mcp,
            session_secret,
            session_secret_previous,
            offline_pace,
            retention_anonymous_days,
        })
    }
}

/// A bearer token: at least [`MIN_TOKEN_CHARS`] characters, so that it cannot be guessed.
fn token(
    var: &impl Fn(&'static str) -> Option<String>,
    name: &'static str,
) -> Result<Option<Secret>, ConfigError> {
    match var(name).map(|t| t.trim().to_string()) {
        Some(t) if t.chars().count() < MIN_TOKEN_CHARS => Err(ConfigError {
            var: name,
            message: format!(
                "must be at least {MIN_TOKEN_CHARS} characters (e.g. `openssl rand -hex 24`)"
            ),
        }),
        other => Ok(other.map(Secret::new)),
    }
}

/// Shortest accepted bearer token (`METRICS_AUTH_TOKEN`, `MCP_AUTH_TOKEN`).
pub const MIN_TOKEN_CHARS: usize = 16;

/// A URL as it may be shown (logs, `doctor`, `/readyz`, errors): user, password, query and
/// fragment removed, e.g. `postgres://u:pw@db:5432/app?sslmode=require` → `postgres://db:5432/app`.
/// Something that is not a URL shows as `[redacted]`; a list of URLs separated by commas (a
/// Redis Cluster's seeds) shows each one so.
pub fn redact_url(raw: &str) -> String {
    let raw = raw.trim();
    if raw.matches("://").count() > 1 {
        return raw.split(',').map(redact_url).collect::<Vec<_>>().join(",");
    }
    let Some((scheme, rest)) = raw.split_once("://") else {
        return match raw.split_once(':') {
            // `sqlite:data.db`, `sqlite::memory:`: no authority, nothing secret but a query.
            Some((scheme, path)) if !scheme.is_empty() && !scheme.contains(['/', '@']) => {
                format!("{scheme}:{}", cut_query(path))
            }
            _ => "[redacted]".into(),
        };
    };
    let rest = cut_query(rest);
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}{path}")
}

fn cut_query(s: &str) -> &str {
    s.split(['?', '#']).next().unwrap_or("")
}

/// `a.example.com, b.example.com`: host names without scheme, path or spaces.
fn host_list(raw: &str) -> Result<Vec<String>, String> {
    let hosts: Vec<String> = raw
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    match hosts.iter().find(|h| h.contains(['/', ' ', '*'])) {
        Some(bad) => Err(format!(
            "expected host names separated by commas (or * for any), got {bad:?}"
        )),
        None if hosts.is_empty() => Err("expected at least one host name".into()),
        None => Ok(hosts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_design() {
        let c = config(&[]).unwrap();
        assert_eq!(c.addr, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(c.database_url, "sqlite://data/fpl-chat.db");
        assert!(c.redis_url.is_none() && c.claude.is_none() && c.metrics_token.is_none());
        assert_eq!(c.rate_limits.anonymous.to_string(), "10/60s");
        assert_eq!(c.rate_limits.default.to_string(), "20/60s");
        assert_eq!(c.rate_limits.premium.to_string(), "40/60s");
        assert_eq!(c.rate_limits.ip.to_string(), "60/60s");
        assert_eq!(c.redis_prefix, "fplchat:");
        assert_eq!(c.redis_topology, RedisTopology::Detect);
        assert_eq!(c.context_token_limit, 100_000);
        assert_eq!(c.tool_max_depth, 5);
        assert!(!c.trust_proxy_headers);
        assert_eq!(c.fpl_api_base_url, "https://fantasy.premierleague.com/api");
        assert_eq!(c.log_format, LogFormat::Text);
        let c = config(&[("LOG_FORMAT", "JSON")]).unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
    }

    #[test]
    fn port_binds_all_interfaces_and_site_addr_wins() {
        assert_eq!(
            config(&[("PORT", "8080")]).unwrap().addr,
            "0.0.0.0:8080".parse().unwrap()
        );
        let c = config(&[("PORT", "8080"), ("LEPTOS_SITE_ADDR", "127.0.0.1:4000")]).unwrap();
        assert_eq!(c.addr, "127.0.0.1:4000".parse().unwrap());
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (name, value) in [
            ("PORT", "eighty"),
            ("DATABASE_URL", "mysql://x"),
            ("REDIS_URL", "http://x"),
            ("REDIS_URL", "redis://a:7001,http://b"),
            ("REDIS_CLUSTER", "maybe"),
            ("RATE_LIMIT_DEFAULT", "20 per minute"),
            ("RATE_LIMIT_IP", "0/60s"),
            ("TOOL_MAX_DEPTH", "0"),
            ("OFFLINE_ANALYST_PACE_MS", "-1"),
            ("RETENTION_ANONYMOUS_DAYS", "0"),
            ("CONTEXT_TOKEN_LIMIT", "lots"),
            ("TRUST_PROXY_HEADERS", "maybe"),
            ("SESSION_SECRET", "short"),
            ("FPL_API_BASE_URL", "ftp://x"),
            ("REDIS_PREFIX", "a {b}"),
            ("CLAUDE_MAX_RETRIES", "11"),
            ("CLAUDE_IDLE_TIMEOUT_MS", "1s"),
            ("TOOL_TIMEOUT_MS", "0"),
            ("TOOL_BREAKER_FAILURES", "0"),
            ("MCP_ALLOWED_HOSTS", "https://x.com/mcp"),
            ("MCP_ALLOWED_ORIGINS", "x.com"),
            ("MCP_SESSION_IDLE_SECS", "0"),
            ("SESSION_SECRET_PREVIOUS", "short"),
            ("METRICS_AUTH_TOKEN", "fifteen-chars!!"),
            ("MCP_AUTH_TOKEN", "short"),
            ("MCP_MAX_SESSIONS", "0"),
            ("RATE_LIMIT_MCP", "lots"),
            ("TOKEN_BUDGET_IP", "10"),
            ("TOKEN_BUDGET_GLOBAL", "unlimited"),
            ("TRUSTED_PROXY_HOPS", "0"),
            ("CHAT_MAX_TURNS_PER_IDENTITY", "0"),
            ("CHAT_MAX_CONCURRENT_TURNS", "-5"),
            ("DATABASE_MAX_CONNECTIONS", "0"),
            ("LOG_FORMAT", "logfmt"),
        ] {
            let e = config(&[(name, value)]).unwrap_err();
            assert_eq!(e.var, name);
            assert!(e
                .to_string()
                .starts_with(&format!("invalid configuration: {name}: ")));
        }
    }

    #[test]
    fn security_defaults_match_the_design() {
        let c = config(&[]).unwrap();
        assert_eq!(c.rate_limits.mcp.to_string(), "120/60s");
        assert_eq!(c.rate_limits.daily_tokens.ip, 300_000);
        assert_eq!(c.rate_limits.daily_tokens.global, None);
        assert_eq!(c.trusted_proxy_hops, 1);
        assert_eq!(c.turns.per_identity, 2);
        assert_eq!(c.turns.per_instance, 512);
        assert_eq!(c.mcp.max_sessions, 1_000);
        assert!(c.mcp.auth_token.is_none() && c.session_secret_previous.is_none());
        let c = config(&[("TOKEN_BUDGET_GLOBAL", "5000000")]).unwrap();
        assert_eq!(c.rate_limits.daily_tokens.global, Some(5_000_000));
    }

    #[test]
    fn urls_are_shown_without_credentials() {
        for (raw, shown) in [
            (
                "postgres://app:hunter2@db.internal:5432/chat?sslmode=require&password=x",
                "postgres://db.internal:5432/chat",
            ),
            ("rediss://default:hunter2@redis:6380", "rediss://redis:6380"),
            ("redis://:hunter2@redis/0", "redis://redis/0"),
            (
                "redis://:hunter2@a:7001, redis://:hunter2@b:7002",
                "redis://a:7001,redis://b:7002",
            ),
            (
                "https://user:hunter2@tools.example/mcp?token=hunter2#x",
                "https://tools.example/mcp",
            ),
            ("sqlite://data/fpl-chat.db", "sqlite://data/fpl-chat.db"),
            ("sqlite::memory:", "sqlite::memory:"),
            ("hunter2", "[redacted]"),
        ] {
            assert_eq!(redact_url(raw), shown);
        }
        let e = config(&[("EXPRESS_MCP_SERVER_PRIVATE", "ftp://u:hunter2@x/mcp")]).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn secrets_never_show_in_debug_or_errors() {
        let c = config(&[
            ("CLAUDE_API_KEY", "sk-ant-very-secret"),
            ("METRICS_AUTH_TOKEN", "metrics-secret-long-enough"),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("very-secret") && !shown.contains("metrics-secret"));
        let e = config(&[("DATABASE_URL", "mysql://u:hunter2@h/db")]).unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
    }

    #[test]
    fn mcp_hosts_default_to_loopback_and_the_public_domain() {
        let c = config(&[]).unwrap();
        assert_eq!(
            c.mcp.allowed_hosts.unwrap(),
            ["localhost", "127.0.0.1", "::1"]
        );
        let c = config(&[
            ("PORT", "8080"),
            ("RAILWAY_PUBLIC_DOMAIN", "fpl.up.railway.app"),
        ])
        .unwrap();
        assert!(c
            .mcp
            .allowed_hosts
            .unwrap()
            .contains(&"fpl.up.railway.app".to_string()));
        let c = config(&[("MCP_ALLOWED_HOSTS", "*")]).unwrap();
        assert_eq!(c.mcp.allowed_hosts, None);
        let c = config(&[("MCP_ALLOWED_HOSTS", "A.example.com, b.example.com")]).unwrap();
        assert_eq!(
            c.mcp.allowed_hosts.unwrap(),
            ["a.example.com", "b.example.com"]
        );
    }

    #[test]
    fn claude_settings_follow_the_key() {
        let c = config(&[
            ("CLAUDE_API_KEY", "k"),
            ("CLAUDE_MODEL_VERSION", "claude-x"),
            ("CLAUDE_API_BASE_URL", "http://127.0.0.1:9/"),
        ])
        .unwrap();
        let claude = c.claude.unwrap();
        assert_eq!(claude.model, "claude-x");
        assert_eq!(claude.base_url, "http://127.0.0.1:9");
        let mcp = |v: &str| {
            config(&[("EXPRESS_MCP_SERVER_PRIVATE", v)])
                .unwrap()
                .mcp_server_url
        };
        assert_eq!(
            mcp("http://tools:8080/").as_deref(),
            Some("http://tools:8080/mcp")
        );
        assert_eq!(
            mcp("https://tools.example/api/mcp").as_deref(),
            Some("https://tools.example/api/mcp")
        );
        assert_eq!(claude.summary_model, DEFAULT_SUMMARY_MODEL);
        assert_eq!(claude.max_retries, 2);
        assert_eq!(claude.first_byte_timeout, Duration::from_secs(60));
        let c = config(&[("CLAUDE_API_KEY", "k"), ("CLAUDE_MAX_RETRIES", "0")]).unwrap();
        assert_eq!(c.claude.unwrap().max_retries, 0);
    }
}
