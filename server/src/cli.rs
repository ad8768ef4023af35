//! The `fpl-chat` command line: `serve` (the default), `migrate`, `doctor`, `prune`, `backup`,
//! `snapshot`, `user set-tier`, `mcp tools|call` and `cache stats|clear`. Each command reads the
//! same [`Config`].
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

use crate::config::{redact_url, Config};
use crate::llm::anthropic::Anthropic;
use crate::mcp::client::SessionManager;
use crate::metrics::Metrics;
use crate::redis_conn::RedisClient;
use crate::startup::{self, Application};
use crate::store::{Email, Store, Tier};

#[derive(Debug, Parser)]
#[command(
    name = "fpl-chat",
    version,
    about = "FPL Chat: ask about Fantasy Premier League"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the chat (the default).
    Serve,
    /// Run the database migrations and exit.
    Migrate,
    /// Check every configured dependency; non-zero exit if one fails.
    Doctor,
    /// Delete anonymous identities idle for longer than an age, with their conversations, and
    /// expired sessions. Accounts' conversations are never pruned.
    Prune {
        /// The age, such as 30d or 12h (default: RETENTION_ANONYMOUS_DAYS, else 30 days).
        #[arg(long, value_parser = crate::retention::parse_age)]
        anonymous_older_than: Option<Duration>,
        /// First write what is deleted into a new JSON Lines file in this directory.
        #[arg(long)]
        archive: Option<PathBuf>,
    },
    /// Copy the SQLite database into FILE, consistent while the server runs (PostgreSQL: use
    /// pg_dump, see README "Backup and restore").
    Backup {
        /// The copy to write (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Save the live FPL API into a snapshot directory (usable as FPL_SNAPSHOT_DIR).
    Snapshot {
        /// Where to write bootstrap-static.json, fixtures.json, element-summary/, event/.
        #[arg(long)]
        out: PathBuf,
        /// Also save this manager (FPL team id): entry/{id}.json, its history, transfers and
        /// every gameweek's picks. Repeat for several.
        #[arg(long = "entry", value_name = "ID")]
        entries: Vec<u32>,
        /// Also save this classic league's standings (every page). Repeat for several.
        #[arg(long = "league", value_name = "ID")]
        leagues: Vec<u32>,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Talk to the configured MCP server (EXPRESS_MCP_SERVER_PRIVATE) through the session manager.
    Mcp {
        #[command(subcommand)]
        command: McpCommand,
    },
    /// The shared cache in Redis (conversation contexts, FPL data).
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Entries and bytes per key pattern, and hits and misses of every instance.
    Stats,
    /// Drop every entry matching PATTERN (`fpl:*`, `context:*`, `fpl:element-summary:*`).
    /// Instances keep their in-process copies until those expire.
    Clear { pattern: String },
}

#[derive(Debug, Subcommand)]
pub enum McpCommand {
    /// List the server's tools.
    Tools,
    /// Call a tool: `mcp call fpl_player_data '{"playerQuery":"Haaland"}'`.
    Call {
        name: String,
        /// The arguments, a JSON object.
        #[arg(default_value = "{}")]
        json: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Set an account's tier: default or premium.
    SetTier { email: String, tier: String },
}

async fn cache(config: Config, command: CacheCommand) -> ExitCode {
    let client = match RedisClient::from_config(&config) {
        Ok(Some(c)) => c,
        Ok(None) => {
            println!("REDIS_URL is not set: each instance caches in its own process only; its figures are in /api/metrics (cache_requests_total)");
            return ExitCode::SUCCESS;
        }
        Err(e) => return fail(&format!("REDIS_URL: {e}")),
    };
    let cache =
        crate::cache::Cache::new(Some(client), &config.redis_prefix, Arc::new(Metrics::new()));
    match command {
        CacheCommand::Stats => match cache.stats().await {
            Some(Ok(stats)) => {
                println!("{:<32} {:>9} {:>12}", "pattern", "entries", "bytes");
                for index in &stats.indexes {
                    println!(
                        "{:<32} {:>9} {:>12}",
                        index.pattern, index.entries, index.bytes
                    );
                }
                println!();
                println!(
                    "{:<12} {:>10} {:>10} {:>9}",
                    "cache", "hits", "misses", "hit rate"
                );
                for (name, h) in &stats.hits {
                    let total = h.hits + h.misses;
                    let rate = if total == 0 {
                        0.0
                    } else {
                        100.0 * h.hits as f64 / total as f64
                    };
                    println!("{name:<12} {:>10} {:>10} {rate:>8.1}%", h.hits, h.misses);
                }
                println!("(Redis reads of every instance; reads served from a process are in /api/metrics)");
                ExitCode::SUCCESS
            }
            Some(Err(e)) => fail(&e),
            None => fail("no Redis"),
        },
        CacheCommand::Clear { pattern } => match cache.invalidate_shared(&pattern).await {
            Some(Ok(n)) => {
                println!("{n} entries matching {pattern} deleted");
                ExitCode::SUCCESS
            }
            Some(Err(e)) => fail(&e),
            None => fail("no Redis"),
        },
    }
}

pub async fn run(cli: Cli, config: Config) -> ExitCode {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => match connect(&config).await {
            Ok(store) => {
                println!("migrations applied ({})", store.backend_name());
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        Command::Doctor => doctor(config).await,
        Command::Prune {
            anonymous_older_than,
            archive,
        } => prune(config, anonymous_older_than, archive).await,
        Command::Backup { out } => backup(config, &out).await,
        Command::Mcp { command } => mcp(config, command).await,
        Command::Cache { command } => cache(config, command).await,
        Command::Snapshot {
            out,
            entries,
            leagues,
        } => {
            let source = match crate::fpl::FplSource::api(&config.fpl_api_base_url) {
                Ok(s) => s,
                Err(e) => return fail(&e.to_string()),
            };
            let options = crate::fpl::SnapshotOptions {
                entries,
                leagues,
                ..Default::default()
            };
            match source.snapshot_with(&out, options).await {
                Ok(report) => {
                    println!(
                        "saved {} players, {} teams, {} fixtures, live data for {} gameweeks, {} managers ({} gameweeks of picks), {} leagues ({} bytes) into {}",
                        report.players,
                        report.teams,
                        report.fixtures,
                        report.live_gameweeks.len(),
                        report.entries,
                        report.picks,
                        report.leagues,
                        report.bytes_written,
                        report.out_dir.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_string()),
            }
        }
        Command::User {
            command: UserCommand::SetTier { email, tier },
        } => {
            let email = match Email::parse(&email) {
                Ok(e) => e,
                Err(e) => return fail(&e.to_string()),
            };
            let tier: Tier = match tier.parse() {
                Ok(Tier::Anonymous) | Err(_) => return fail("TIER must be default or premium"),
                Ok(t) => t,
            };
            let store = match connect(&config).await {
                Ok(s) => s,
                Err(e) => return fail(&e),
            };
            match store.set_tier(&email, tier).await {
                Ok(true) => {
                    println!("{} is now {}", email.as_str(), tier.as_str());
                    ExitCode::SUCCESS
                }
                Ok(false) => fail(&format!("no account with email {}", email.as_str())),
                Err(e) => fail(&e.to_string()),
            }
        }
    }
}

async fn prune(config: Config, older_than: Option<Duration>, archive: Option<PathBuf>) -> ExitCode {
    let days = config
        .retention_anonymous_days
        .unwrap_or(crate::retention::DEFAULT_DAYS);
    let older_than = older_than.unwrap_or(crate::retention::days_age(days));
    let mut archive = match archive
        .as_deref()
        .map(crate::retention::ArchiveFile::create)
    {
        None => None,
        Some(Ok(file)) => Some(file),
        Some(Err(e)) => {
            let dir = archive.as_deref().unwrap_or(std::path::Path::new(""));
            return fail(&format!("archive {}: {e}", dir.display()));
        }
    };
    let store = match connect(&config).await {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let pruned = crate::retention::prune(&store, Some(older_than), archive.as_mut()).await;
    store.close().await;
    match pruned {
        Ok(pruned) => {
            crate::retention::log(&pruned, Some(older_than));
            println!(
                "pruned {} anonymous identities idle for over {} ({} conversations, {} messages) and {} expired sessions",
                pruned.anonymous_identities,
                crate::retention::format_age(older_than),
                pruned.conversations,
                pruned.messages,
                pruned.sessions
            );
            if let Some(file) = &archive {
                println!("archived into {}", file.path().display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!(
            "prune: {e} (what was archived before the error is also still in the database)"
        )),
    }
}

async fn backup(config: Config, out: &std::path::Path) -> ExitCode {
    let store = match connect(&config).await {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let started = Instant::now();
    let copied = store.backup_into(out).await;
    store.close().await;
    match copied {
        Ok(bytes) => {
            println!(
                "backed up into {} ({bytes} bytes, {} ms); restore: stop the server, put the file at the DATABASE_URL path, start it",
                out.display(),
                started.elapsed().as_millis()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("backup: {e}")),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

async fn connect(config: &Config) -> Result<Store, String> {
    let store = Store::connect_with(&config.database_url, config.store_options())
        .await
        .map_err(|e| format!("database: {e}"))?;
    store
        .migrate()
        .await
        .map_err(|e| format!("database migrations: {e}"))?;
    Ok(store)
}

async fn serve(config: Config) -> ExitCode {
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => return fail(&e.to_string()),
    };
    tracing::info!("FPL Chat listening on http://{}", app.addr());
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("server: {e}")),
    }
}

/// What the doctor says of Redis's memory (`INFO memory`): used, the limit, the eviction
/// policy, and a warning when the policy may evict keys the app relies on (rate limits,
/// budgets, MCP session records: every key of the app has a TTL, so `volatile-*` policies may
/// evict them as well as `allkeys-*`).
fn redis_memory(info: &str) -> String {
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
            .unwrap_or("?")
    };
    let limit = match field("maxmemory") {
        "0" => "no limit".to_string(),
        n => n.parse().map_or_else(|_| n.to_string(), human_bytes),
    };
    let policy = field("maxmemory_policy");
    let warning = if policy == "noeviction" {
        ""
    } else {
        " (WARNING: this policy may evict rate-limit, budget and session keys under memory \
         pressure; use noeviction)"
    };
    format!(
        "memory {} used of {limit}, policy {policy}{warning}",
        field("used_memory_human")
    )
}

/// `bytes` for people: B, KiB, MiB, GiB.
fn human_bytes(bytes: i64) -> String {
    let mut value = bytes as f64;
    for unit in ["B", "KiB", "MiB"] {
        if value < 1024.0 {
            return format!("{value:.0} {unit}");
        }
        value /= 1024.0;
    }
    format!("{value:.1} GiB")
}

/// One line of the doctor's table.
struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
    took: Duration,
}

async fn timed<F: std::future::Future<Output = Result<String, String>>>(
    name: &'static str,
    check: F,
) -> Check {
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(10), check)
        .await
        .unwrap_or_else(|_| Err("timed out after 10 s".into()));
    let (ok, detail) = match result {
        Ok(d) => (true, d),
        Err(d) => (false, d),
    };
    Check {
        name,
        ok,
        detail,
        took: started.elapsed(),
    }
}

/// The session manager for `EXPRESS_MCP_SERVER_PRIVATE`, when it is set.
fn mcp_sessions(config: &Config) -> Result<Option<Arc<SessionManager>>, String> {
    let Some(url) = &config.mcp_server_url else {
        return Ok(None);
    };
    let redis = RedisClient::from_config(config).map_err(|e| format!("REDIS_URL: {e}"))?;
    startup::mcp_sessions(config, url, redis.as_ref(), &Arc::new(Metrics::new()))
        .map(Some)
        .map_err(|e| e.to_string())
}

async fn mcp(config: Config, command: McpCommand) -> ExitCode {
    let sessions = match mcp_sessions(&config) {
        Ok(Some(s)) => s,
        Ok(None) => {
            eprintln!("EXPRESS_MCP_SERVER_PRIVATE is not set: there is no MCP server to talk to");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    match command {
        McpCommand::Tools => match sessions.list_tools().await {
            Ok(tools) => {
                for tool in tools {
                    let description = tool.description.as_deref().unwrap_or("");
                    let first_line = description.lines().next().unwrap_or("");
                    println!("{:<28} {first_line}", tool.name);
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
        McpCommand::Call { name, json } => {
            let arguments: serde_json::Value = match serde_json::from_str(&json) {
                Ok(v @ serde_json::Value::Object(_)) => v,
                _ => {
                    eprintln!("the arguments must be a JSON object, e.g. '{{\"playerQuery\":\"Haaland\"}}'");
                    return ExitCode::from(2);
                }
            };
            match sessions.call_tool(&name, arguments).await {
                Ok(result) => {
                    for block in &result.content {
                        if let Some(text) = block.as_text() {
                            println!("{}", text.text);
                        }
                    }
                    if result.is_error == Some(true) {
                        ExitCode::FAILURE
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

async fn doctor(config: Config) -> ExitCode {
    // The tables are counted on the store the database check opened (and migrated): two
    // stores opening a new SQLite file at once would both migrate it.
    let storage = async {
        let mut opened = None;
        let database = timed("database", async {
            let store = connect(&config).await?;
            store.ping().await.map_err(|e| e.to_string())?;
            let said = format!(
                "{} at {} reachable, migrations applied",
                store.backend_name(),
                redact_url(&config.database_url)
            );
            opened = Some(store);
            Ok(said)
        })
        .await;
        let tables = timed("tables", async {
            let store = opened.as_ref().ok_or("no database")?;
            let stats = store.table_stats().await.map_err(|e| e.to_string())?;
            Ok(stats
                .iter()
                .map(|t| match t.bytes {
                    Some(bytes) => format!("{} {} rows {}", t.name, t.rows, human_bytes(bytes)),
                    None => format!("{} {} rows", t.name, t.rows),
                })
                .collect::<Vec<_>>()
                .join(", "))
        })
        .await;
        (database, tables)
    };
    let redis = timed("redis", async {
        let (Some(url), Some(client)) = (&config.redis_url, RedisClient::from_config(&config)?)
        else {
            return Ok("disabled (REDIS_URL unset: in-process state)".into());
        };
        let mut conn = client
            .connect()
            .await
            .map_err(|e| format!("unreachable ({:?})", e.kind()))?;
        let pong: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| format!("{:?}", e.kind()))?;
        let topology = match client.is_cluster() {
            Some(true) => "cluster",
            _ => "single node",
        };
        let memory = client.first_node_info("memory").await.map_or_else(
            |e| format!("memory unknown ({:?})", e.kind()),
            |info| redis_memory(&info),
        );
        Ok(format!(
            "{pong} from {} ({topology}, prefix {}); {memory}",
            redact_url(url.expose()),
            config.redis_prefix
        ))
    });
    let fpl = timed("fpl data", async {
        let source = startup::fpl_source(&config, &crate::cache::Cache::local())
            .map_err(|e| e.to_string())?;
        let data = source.data().await.map_err(|e| e.to_string())?;
        let gameweek = data
            .current_event()
            .map(|e| format!("GW{} current", e.id))
            .unwrap_or_else(|| "season not started".into());
        Ok(format!(
            "{}: {} players, {} teams, {} fixtures, {gameweek}",
            source.describe(),
            data.players().len(),
            data.teams().len(),
            data.fixtures().len()
        ))
    });
    let llm = timed("llm", async {
        let Some(claude) = &config.claude else {
            return Ok("offline FPL analyst (CLAUDE_API_KEY unset)".into());
        };
        let anthropic = Anthropic::new(claude, Arc::new(Metrics::new()))?;
        anthropic.check_model().await
    });
    let mcp = timed("mcp", async {
        let Some(url) = &config.mcp_server_url else {
            return Ok("disabled (built-in FPL tools; /mcp serves them)".into());
        };
        let sessions = mcp_sessions(&config)?.expect("configured");
        let tools = sessions.list_tools().await.map_err(|e| e.to_string())?;
        let records = sessions.records().await.map(|r| r.len());
        Ok(format!(
            "{}: {} tools, session records in {}: {}",
            redact_url(url),
            tools.len(),
            sessions.store_name(),
            records.map_or_else(|e| e.to_string(), |n| n.to_string())
        ))
    });
    let ((database, tables), redis, fpl, llm, mcp) = tokio::join!(storage, redis, fpl, llm, mcp);
    let metrics = Check {
        name: "metrics",
        ok: true,
        detail: if config.metrics_token.is_some() {
            "/api/metrics protected by METRICS_AUTH_TOKEN".into()
        } else {
            "/api/metrics refuses everyone (METRICS_AUTH_TOKEN unset)".into()
        },
        took: Duration::ZERO,
    };
    let checks = [database, redis, tables, fpl, llm, mcp, metrics];
    println!("{:<10} {:<6} {:>8}  detail", "check", "state", "time");
    for c in &checks {
        println!(
            "{:<10} {:<6} {:>6}ms  {}",
            c.name,
            if c.ok { "ok" } else { "FAIL" },
            c.took.as_millis(),
            c.detail
        );
    }
    if checks.iter().all(|c| c.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_memory_warns_of_a_policy_that_evicts() {
        let info = |policy: &str, max: &str| {
            format!("# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nmaxmemory:{max}\r\nmaxmemory_policy:{policy}\r\n")
        };
        let safe = redis_memory(&info("noeviction", "0"));
        assert_eq!(safe, "memory 1.00M used of no limit, policy noeviction");
        for policy in ["allkeys-lru", "volatile-ttl"] {
            let evicting = redis_memory(&info(policy, "268435456"));
            assert!(evicting.contains("of 256 MiB"), "{evicting}");
            assert!(evicting.contains("WARNING"), "{evicting}");
        }
    }
}
