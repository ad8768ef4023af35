//! Building the application from a [`Config`]: the store (migrated), the FPL source, the tool
//! backend, the model provider, the chat service and the router, bound to a listener.
//! `spawn_app`-style tests and `main` both start the server through [`Application`].
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use leptos::prelude::LeptosOptions;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::accounts::Accounts;
use crate::cache::Cache;
use crate::chat::turn_log::{memory::MemoryLog, redis::RedisLog, Lifetimes, TurnLog};
use crate::chat::{ChatService, TurnLimits};
use crate::config::{redact_url, Config};
use crate::context::cache::ContextCache;
use crate::context::calibration::Calibration;
use crate::context::summarizer::{ClaudeSummarizer, Extractive, Summarizer};
use crate::context::{ContextParts, ContextService};
use crate::fpl::{ApiOptions, CacheTtls, FplSource};
use crate::http::cookies::CookieKeys;
use crate::http::ready::ReadyCheck;
use crate::http::{self, AppState};
use crate::llm::anthropic::Anthropic;
use crate::llm::offline::OfflineAnalyst;
use crate::llm::Provider;
use crate::mcp::client::{SessionManager, SessionPolicy};
use crate::mcp::remote::RemoteTools;
use crate::mcp::sessions::{MemorySessions, RedisSessions, SessionStore};
use crate::metrics::Metrics;
use crate::pages::PagesBackend;
use crate::rate_limit::RateLimiter;
use crate::redis_conn::RedisClient;
use crate::store::Store;
use crate::tools::{BuiltinTools, ToolBackend};

/// Why the application could not start; one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Database(String),
    #[error("FPL data: {0}")]
    Fpl(String),
    #[error("CLAUDE_API_KEY: {0}")]
    Claude(String),
    #[error("EXPRESS_MCP_SERVER_PRIVATE: {0}")]
    Mcp(String),
    #[error("REDIS_URL: {0}")]
    Redis(String),
    #[error("cannot listen on {addr}: {error}")]
    Listen {
        addr: SocketAddr,
        error: std::io::Error,
    },
}

/// A built application, bound to its address and ready to serve.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    /// Cancelled when the server stops: ends MCP sessions, streams and heartbeats.
    shutdown: CancellationToken,
}

/// The Leptos settings: cargo-leptos's (baked in at build time, overridable at run time with
/// `LEPTOS_*`), falling back to the layout of `cargo leptos build` when there are none.
pub fn leptos_options(addr: SocketAddr) -> LeptosOptions {
    let mut options = leptos::config::get_configuration(None)
        .map(|c| c.leptos_options)
        .unwrap_or_else(|_| {
            LeptosOptions::builder()
                .output_name("fpl-chat")
                .site_root(
                    std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into()),
                )
                .site_pkg_dir("pkg")
                .build()
        });
    options.site_addr = addr;
    // Hashed asset names (`hash-files`) are used when the build wrote their list beside the
    // binary, unless LEPTOS_HASH_FILES says otherwise: a copied binary without its list still
    // serves a working page with the plain names of a build without hashing.
    if std::env::var_os("LEPTOS_HASH_FILES").is_none() {
        let list = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join(&*options.hash_file)))
            .filter(|list| list.exists());
        options.hash_files = list.is_some();
        if let Some(list) = list {
            for missing in missing_hashed_assets(&options, &list) {
                // The page would name files the site does not have (another build's site root):
                // it would render but never hydrate.
                tracing::error!(
                    file = %missing.display(),
                    list = %list.display(),
                    "a hashed asset named by the build's list is not in the site root; \
                     deploy the binary, its hash list and the site from one build"
                );
            }
        }
    }
    options
}

/// The files named by the hash list `list` (`js: HASH` lines, as cargo-leptos writes them)
/// that are not in the site's `pkg` directory.
fn missing_hashed_assets(
    options: &LeptosOptions,
    list: &std::path::Path,
) -> Vec<std::path::PathBuf> {
    let text = std::fs::read_to_string(list).unwrap_or_default();
    let pkg = std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    text.lines()
        .filter_map(|line| line.split_once(": "))
        .map(|(ext, hash)| pkg.join(format!("{}.{}.{ext}", options.output_name, hash.trim())))
        .filter(|file| !file.exists())
        .collect()
}

/// The FPL data source the configuration asks for; the live API's payloads are shared
/// through `cache`.
pub fn fpl_source(config: &Config, cache: &Cache) -> Result<FplSource, StartError> {
    match &config.fpl_snapshot_dir {
        Some(dir) => FplSource::snapshot_dir(dir),
        None => FplSource::api_cached(
            &config.fpl_api_base_url,
            ApiOptions::default(),
            CacheTtls::default(),
            cache,
        ),
    }
    .map_err(|e| StartError::Fpl(e.to_string()))
}

/// The MCP session manager for the remote server at `url`: records in Redis when configured,
/// else in this process.
pub fn mcp_sessions(
    config: &Config,
    url: &str,
    redis: Option<&RedisClient>,
    metrics: &Arc<Metrics>,
) -> Result<Arc<SessionManager>, StartError> {
    let store: Arc<dyn SessionStore> = match redis {
        Some(client) => Arc::new(RedisSessions::new(client.clone(), &config.redis_prefix)),
        None => Arc::new(MemorySessions::default()),
    };
    let policy = SessionPolicy {
        heartbeat: config.mcp.heartbeat,
        request_timeout: config.tools.timeout,
    };
    SessionManager::new(url, store, policy, metrics.clone())
        .map(Arc::new)
        .map_err(StartError::Mcp)
}

/// Where running turns' events are kept for pages that follow them: Redis when configured
/// (any instance can follow), else this process.
fn turn_log(config: &Config, redis: Option<&RedisClient>) -> Arc<dyn TurnLog> {
    match redis {
        Some(client) => Arc::new(RedisLog::new(
            client.clone(),
            &config.redis_prefix,
            Lifetimes::default(),
        )),
        None => Arc::new(MemoryLog::default()),
    }
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let listener = http::serve::bind(config.addr).map_err(|error| StartError::Listen {
            addr: config.addr,
            error,
        })?;
        let addr = listener.local_addr().map_err(|error| StartError::Listen {
            addr: config.addr,
            error,
        })?;
        // Built beside the rest of the start, not on the first chat turn.
        let tokenizer = tokio::task::spawn_blocking(crate::context::tokens::warm_up);

        let store = Store::connect_with(&config.database_url, config.server_store_options())
            .await
            .map_err(|e| StartError::Database(e.to_string()))?;
        store
            .migrate()
            .await
            .map_err(|e| StartError::Database(format!("migrations failed: {e}")))?;

        let redis = match RedisClient::from_config(&config).map_err(StartError::Redis)? {
            Some(client) => {
                tracing::info!(topology = ?config.redis_topology, "Redis (REDIS_URL)");
                Some(client)
            }
            None => {
                tracing::info!(
                    "REDIS_URL is not set: state is kept in this process (one instance only)"
                );
                None
            }
        };

        let metrics = Arc::new(Metrics::new());
        let cache = Cache::new(redis.clone(), &config.redis_prefix, metrics.clone());
        let source = fpl_source(&config, &cache)?;
        let topic_source = source.clone();
        let fpl_label = source.public_label();
        tracing::info!(source = %source.describe(), "FPL data");
        let shutdown = CancellationToken::new();
        // Expired sessions every hour; idle anonymous identities too when configured.
        crate::retention::spawn_hourly(
            store.clone(),
            config.retention_anonymous_days,
            metrics.clone(),
            shutdown.child_token(),
        );
        // `/mcp` always serves the built-in FPL tools; the chat uses a remote MCP server's
        // tools instead when one is configured.
        let builtin: Arc<dyn ToolBackend> = Arc::new(BuiltinTools::new(source.clone()));
        let (backend_name, tools, mcp_sessions) = match &config.mcp_server_url {
            Some(url) => {
                let sessions = mcp_sessions(&config, url, redis.as_ref(), &metrics)?;
                sessions.spawn_heartbeats(shutdown.child_token());
                tracing::info!(server = %redact_url(url), records = sessions.store_name(), "tools from a remote MCP server");
                let remote: Arc<dyn ToolBackend> = Arc::new(RemoteTools::new(sessions.clone()));
                ("mcp", remote, Some(sessions))
            }
            None => ("builtin", builtin.clone(), None),
        };
        let (provider, summarizer): (Arc<dyn Provider>, Arc<dyn Summarizer>) = match &config.claude
        {
            Some(claude) => {
                tracing::info!(model = %claude.model, summaries = %claude.summary_model, "Claude answers");
                let anthropic =
                    Arc::new(Anthropic::new(claude, metrics.clone()).map_err(StartError::Claude)?);
                let summarizer = Arc::new(ClaudeSummarizer::new(
                    anthropic.clone(),
                    &claude.summary_model,
                    metrics.clone(),
                ));
                (anthropic, summarizer)
            }
            None => {
                tracing::info!("CLAUDE_API_KEY is not set: the offline FPL analyst answers");
                (
                    Arc::new(OfflineAnalyst::new(source).with_pacing(config.offline_pace)),
                    Arc::new(Extractive),
                )
            }
        };
        let limiter = Arc::new(RateLimiter::new(
            config.rate_limits,
            &config.redis_prefix,
            redis.clone(),
            metrics.clone(),
        ));
        let accounts =
            Arc::new(Accounts::new(store.clone(), limiter.clone(), metrics.clone()).await);
        let chat = ChatService::new(
            store.clone(),
            provider,
            (backend_name, tools),
            limiter.clone(),
            (
                ContextService::new(
                    ContextParts {
                        summarizer,
                        calibration: Calibration::new(redis.clone(), &config.redis_prefix),
                        topics: Some(topic_source),
                        cache: ContextCache::new(&cache, metrics.clone()),
                    },
                    metrics.clone(),
                    config.context_token_limit,
                ),
                turn_log(&config, redis.as_ref()),
            ),
            metrics.clone(),
            TurnLimits {
                max_depth: config.tool_max_depth,
                tools: config.tools,
                concurrency: config.turns,
            },
        );
        let (cookie_keys, key_source) = CookieKeys::load(&config, &store)
            .await
            .map_err(|e| StartError::Database(format!("cookie key: {e}")))?;
        tracing::info!(source = ?key_source, rotating = config.session_secret_previous.is_some(), "cookie key");
        let data_source = match &config.mcp_server_url {
            Some(_) => "an FPL MCP server".to_string(),
            None => fpl_label,
        };
        let backend = Arc::new(PagesBackend {
            data_source,
            store: store.clone(),
            chat: chat.clone(),
            accounts: accounts.clone(),
            cookie_keys: cookie_keys.clone(),
        });
        let _ = tokenizer.await;
        let state = AppState {
            leptos_options: leptos_options(addr),
            config: Arc::new(config),
            store,
            chat,
            metrics,
            cookie_keys,
            readiness: Arc::new(ReadyCheck::new(redis.clone())),
            redis,
            backend,
            accounts,
            builtin_tools: builtin,
            mcp_sessions,
            limiter,
        };
        Ok(Self {
            listener,
            state,
            shutdown,
        })
    }

    /// The bound address (the port is real even when the configuration asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.state.leptos_options.site_addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGINT or SIGTERM; see [`Application::run_until`].
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then lets running requests and turns go on for
    /// `SHUTDOWN_DRAIN_SECS`; turns still running then are stopped (their clients told
    /// `shutting_down`), and their answers are stored as interrupted before this returns.
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        let shutdown = self.shutdown;
        let (chat, store) = (self.state.chat.clone(), self.state.store.clone());
        let drain = self.state.config.turns.drain;
        let router = http::router(self.state, shutdown.clone());
        // When the drain time is over, the turns still running are stopped: each stores what
        // it has and tells its client, and its stream ends before its connection is dropped.
        let stopper = tokio::spawn({
            let (chat, shutdown) = (chat.clone(), shutdown.clone());
            async move {
                shutdown.cancelled().await;
                tokio::time::sleep(drain).await;
                chat.stop_turns();
            }
        });
        let stop = async move {
            stop.await;
            tracing::info!(drain_secs = drain.as_secs(), "shutting down");
            shutdown.cancel();
        };
        let served =
            http::serve::serve(self.listener, router, stop, drain + STOPPED_TURNS_GRACE).await;
        stopper.abort();
        served?;
        if !chat.close(TURN_STORE_DEADLINE).await {
            tracing::error!("turns still running at exit: their answers are lost");
        }
        store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// How long turns stopped at the end of the drain get to send their last events before their
/// connections are dropped.
const STOPPED_TURNS_GRACE: Duration = Duration::from_secs(2);

/// How long stopped turns get to store their answers at exit.
const TURN_STORE_DEADLINE: Duration = Duration::from_secs(10);

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
