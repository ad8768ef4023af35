//! The processes and data of one run: the stand-in, a fresh database (and Redis prefix), and
//! the release app on them. Each child is killed when dropped, so a failed run leaves none.
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::cli::Db;
use crate::scenario::Scenario;
use crate::Res;

/// The `claude-stand-in` process, answering every question with the scenario's answer.
pub struct StandIn {
    _child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl StandIn {
    pub async fn start(bin: &Path, scenario: &Scenario) -> Res<Self> {
        let mut command = Command::new(bin);
        if let Some(status) = scenario.upstream_status {
            command.env("STAND_IN_STATUS", status.to_string());
        }
        let mut child = command
            .env("STAND_IN_TOKENS", scenario.upstream_tokens.to_string())
            .env("STAND_IN_PACE_MS", scenario.upstream_pace_ms.to_string())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().ok_or("stand-in without stdout")?;
        let base = BufReader::new(stdout)
            .lines()
            .next_line()
            .await?
            .ok_or("the stand-in printed no address")?;
        Ok(Self {
            _child: child,
            base,
        })
    }

    /// Requests, streams open now and at most, tagged arrivals (`GET /stand-in/stats`).
    pub async fn stats(&self, client: &reqwest::Client) -> Res<Value> {
        let url = format!("{}/stand-in/stats", self.base);
        Ok(client.get(url).send().await?.json().await?)
    }

    /// The last streaming request it received, as it came.
    pub async fn last_body(&self, client: &reqwest::Client) -> Res<String> {
        let url = format!("{}/stand-in/last-body", self.base);
        Ok(client
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?)
    }

    /// Forgets arrivals; the most streams starts again from those open.
    pub async fn reset(&self, client: &reqwest::Client) -> Res<()> {
        let url = format!("{}/stand-in/reset", self.base);
        client.post(url).send().await?.error_for_status()?;
        Ok(())
    }
}

/// A fresh store for one run: a temp dir (SQLite), or a new PostgreSQL database and a new
/// Redis key prefix, all removed by [`Store::remove`].
pub struct Store {
    /// What the app gets as DATABASE_URL.
    pub url: String,
    /// REDIS_URL and REDIS_PREFIX (PostgreSQL runs only).
    redis: Option<(String, String)>,
    /// The admin URL and name of the PostgreSQL database, to drop it.
    postgres: Option<(String, String)>,
    /// The temp dir of the SQLite file and the app's log.
    pub dir: TempDir,
}

/// A directory under the system's temp dir, removed with everything in it when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Res<Self> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = std::env::temp_dir().join(format!("fpl-chat-load-{}", &id[..12]));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The servers a PostgreSQL run uses: the machine's (TEST_DATABASE_URL, TEST_REDIS_URL) or a
/// fault scenario's own.
pub struct Servers {
    /// The admin URL: a database is created there for the run.
    pub postgres: Option<String>,
    pub redis: Option<String>,
}

impl Servers {
    pub fn shared() -> Self {
        Self {
            postgres: std::env::var("TEST_DATABASE_URL").ok(),
            redis: std::env::var("TEST_REDIS_URL").ok(),
        }
    }
}

impl Store {
    pub async fn fresh(db: Db, servers: &Servers) -> Res<Self> {
        let dir = TempDir::new()?;
        if db == Db::Sqlite {
            let url = format!("sqlite://{}/load.db", dir.path().display());
            return Ok(Self {
                url,
                redis: None,
                postgres: None,
                dir,
            });
        }
        use sqlx::Connection;
        let admin = servers
            .postgres
            .clone()
            .ok_or("PostgreSQL runs need TEST_DATABASE_URL")?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("fplchat_load_{id}");
        let mut conn = sqlx::PgConnection::connect(&admin).await?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await?;
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        let redis = servers
            .redis
            .clone()
            .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
        Ok(Self {
            url: format!("{base}/{name}"),
            redis: Some((redis, format!("fplchat-load-{}:", &id[..12]))),
            postgres: Some((admin, name)),
            dir,
        })
    }

    /// The run's Redis key prefix (PostgreSQL runs only).
    pub fn redis_prefix(&self) -> Option<&str> {
        self.redis.as_ref().map(|(_, prefix)| prefix.as_str())
    }

    /// Messages stored (questions and answers), read after the run.
    pub async fn stored_messages(&self) -> Res<i64> {
        self.count("SELECT count(*) FROM messages").await
    }

    /// The one number a `SELECT count(*) …` gives, on either store.
    pub async fn count(&self, sql: &str) -> Res<i64> {
        let rows: Vec<(i64,)> = self.rows(sql).await?;
        Ok(rows.first().map_or(0, |r| r.0))
    }

    /// Every stored question's text, with whether an answer follows it (and its status).
    pub async fn questions(&self) -> Res<Vec<(String, Option<String>)>> {
        self.rows(
            "SELECT q.content, a.status FROM messages q LEFT JOIN messages a \
             ON a.conversation_id = q.conversation_id AND a.seq = q.seq + 1 \
             AND a.role = 'assistant' WHERE q.role = 'user'",
        )
        .await
    }

    /// The rows of `sql` on the run's store, through a connection of its own.
    async fn rows<T>(&self, sql: &str) -> Res<Vec<T>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + Send
            + Unpin,
    {
        use sqlx::Connection;
        if self.postgres.is_some() {
            let mut conn = sqlx::PgConnection::connect(&self.url).await?;
            Ok(sqlx::query_as(sql).fetch_all(&mut conn).await?)
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&self.url).await?;
            Ok(sqlx::query_as(sql).fetch_all(&mut conn).await?)
        }
    }

    /// Answers stored without the question right before them.
    pub async fn answers_without_question(&self) -> Res<i64> {
        self.count(
            "SELECT count(*) FROM messages a WHERE a.role = 'assistant' AND NOT EXISTS \
             (SELECT 1 FROM messages q WHERE q.conversation_id = a.conversation_id \
              AND q.seq = a.seq - 1 AND q.role = 'user')",
        )
        .await
    }

    /// Drops the database and the Redis keys (the temp dir goes with `self`).
    pub async fn remove(self) -> Res<()> {
        use sqlx::Connection;
        if let Some((admin, name)) = &self.postgres {
            let mut conn = sqlx::PgConnection::connect(admin).await?;
            let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            sqlx::query(&drop).execute(&mut conn).await?;
        }
        if let Some((url, prefix)) = &self.redis {
            remove_keys(url, prefix).await?;
        }
        Ok(())
    }
}

async fn remove_keys(url: &str, prefix: &str) -> Res<()> {
    let client = redis::Client::open(url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        if !keys.is_empty() {
            redis::cmd("DEL")
                .arg(&keys)
                .query_async::<()>(&mut conn)
                .await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

/// The release app, a separate process with loose limits and budgets.
pub struct App {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its process id, for /proc.
    pub pid: u32,
    /// Where its output goes (shown when it fails).
    pub log: PathBuf,
}

/// Paths the app needs besides the store and the upstream, and variables a scenario adds.
pub struct AppFiles<'a> {
    pub bin: &'a Path,
    pub snapshot: &'a Path,
    /// Set after the harness's own (a fault scenario's drain time, metrics token).
    pub env: &'a [(&'a str, String)],
}

impl App {
    pub async fn start(
        files: AppFiles<'_>,
        store: &Store,
        upstream: &str,
        users: usize,
    ) -> Res<Self> {
        let port = crate::services::free_port()?;
        let log = store.dir.path().join("app.log");
        let mut command = Command::new(files.bin);
        command
            .arg("serve")
            .env_clear()
            .envs(app_env(files.snapshot, store, upstream, users, port))
            .envs(files.env.iter().map(|(k, v)| (*k, v)))
            .current_dir(store.dir.path())
            .stdout(std::fs::File::create(&log)?)
            .stderr(std::fs::File::create(log.with_extension("err"))?)
            .kill_on_drop(true);
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", files.bin.display()))?;
        let pid = child.id().ok_or("the app exited at once")?;
        let app = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            pid,
            log,
        };
        app.wait_ready().await?;
        Ok(app)
    }

    async fn wait_ready(&self) -> Res<()> {
        let client = reqwest::Client::new();
        let url = format!("{}/healthz", self.base);
        for _ in 0..300 {
            if let Ok(r) = client.get(&url).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let err = std::fs::read_to_string(self.log.with_extension("err")).unwrap_or_default();
        Err(format!("the app did not become healthy in 30 s:\n{err}").into())
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    /// Sends SIGTERM (what Railway, Kubernetes or systemd send to stop it).
    pub fn terminate(&self) -> Res<()> {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("kill -TERM {} failed", self.pid).into())
        }
    }

    /// Waits for it to exit, at most `limit`: its exit code (None: still running, or killed
    /// by a signal).
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(Ok(status)) => status.code(),
            _ => None,
        }
    }

    /// One sample's value from `GET /api/metrics` (e.g. `chat_turns_running`), read with the
    /// bearer token the app was given.
    pub async fn metric(&self, client: &reqwest::Client, token: &str, name: &str) -> Res<f64> {
        let text = client
            .get(format!("{}/api/metrics", self.base))
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .ok_or_else(|| format!("no sample `{name}` in /api/metrics").into())
    }
}

fn app_env(
    snapshot: &Path,
    store: &Store,
    upstream: &str,
    users: usize,
    port: u16,
) -> Vec<(String, String)> {
    let mut env: Vec<(&str, String)> = vec![
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}")),
        ("DATABASE_URL", store.url.clone()),
        ("FPL_SNAPSHOT_DIR", snapshot.display().to_string()),
        ("CLAUDE_API_KEY", "load-harness".into()),
        ("CLAUDE_API_BASE_URL", upstream.into()),
        (
            "SESSION_SECRET",
            "load-harness-secret-load-harness-secret".into(),
        ),
        ("RUST_LOG", "warn".into()),
        // Every user may have its turn in flight; the default (512) would refuse a burst.
        (
            "CHAT_MAX_CONCURRENT_TURNS",
            (users * 2).max(512).to_string(),
        ),
    ];
    if let Some((url, prefix)) = &store.redis {
        env.push(("REDIS_URL", url.clone()));
        env.push(("REDIS_PREFIX", prefix.clone()));
    }
    let mut env: Vec<(String, String)> = env.into_iter().map(|(k, v)| (k.into(), v)).collect();
    // Loose limits and budgets: the harness measures the turn path, not the limiter's refusals.
    for tier in ["ANONYMOUS", "DEFAULT", "PREMIUM", "IP"] {
        env.push((format!("RATE_LIMIT_{tier}"), "100000000/60s".into()));
        env.push((format!("TOKEN_BUDGET_{tier}"), "4000000000".into()));
    }
    env
}
