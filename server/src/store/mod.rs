//! Persistence of FPL Chat: users, anonymous identities, conversations, messages and
//! per-conversation metrics, on PostgreSQL or SQLite.
//!
//! Promises:
//! - One [`Store`] type; the backend is chosen at run time from the URL (`postgres://…` or
//!   `postgresql://…` → PostgreSQL, `sqlite://path` or `sqlite::memory:` → SQLite). Both
//!   backends pass the same test suite and behave the same for every method.
//! - Each query is written once: the `on_read!` / `on_write!` macros expand one body for each
//!   pool, with
//!   identical SQL text (`$1`-style placeholders work on both; sqlx's SQLite driver binds `$N`
//!   to the N-th argument). Timestamps and ids are generated in Rust, never by SQL functions.
//!   The only dialect-specific statements are the two hot-path writes of a chat turn, which
//!   PostgreSQL does in one round trip each and SQLite commits in groups (see `messages.rs`,
//!   `writer.rs`).
//! - SQLite: reads on read-only connections (never waiting for a writer, WAL), every write on
//!   the one write connection.
//! - Methods that take an [`Owner`] only ever see or change that owner's rows: another owner
//!   gets `None`, `false` or an empty list, never an error that tells the row exists.
//! - [`Store::migrate`] runs the migrations embedded at compile time for the backend
//!   (`migrations/postgres` or `migrations/sqlite`); running it again is a no-op.
//! - Errors are [`StoreError`]s, whose messages never contain the connection string.
//!
//! Layout: `error.rs` (the error type), `model.rs` (domain types and validation), `users.rs`
//! (accounts and anonymous identities), `conversations.rs` (conversation rows), `messages.rs`
//! (messages, turns and metrics), `search.rs` (search across an owner's conversations),
//! `shares.rs` (read-only share links), `thread.rs` (branches: versions of messages).

mod backup;
mod conversations;
mod error;
mod messages;
mod model;
mod retention;
mod search;
mod secrets;
mod sessions;
mod shares;
mod stats;
pub mod thread;
mod users;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};

pub use conversations::MAX_LIST_LIMIT;
pub use error::StoreError;
pub use model::{
    now, AnonymousIdentity, Conversation, ConversationMetrics, ConversationSummary, Email, Message,
    MessageStatus, NewMessage, Owner, Role, SummaryUpdate, Tier, Title, TurnStart, TurnStarted,
    User,
};
pub use retention::{ArchivedConversation, ArchivedIdentity, Pruned};
pub use search::{SearchHit, SearchQuery, MAX_HITS};
pub use shares::{Share, ShareToken, SharedConversation};
pub use stats::TableStats;

/// Migrations for PostgreSQL, embedded at compile time.
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");
/// Migrations for SQLite, embedded at compile time.
static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");

/// Runs `$body` with `$pool` bound to the pool that reads: PostgreSQL's read pool, or SQLite's
/// readers. The body is expanded once per backend, so it must compile against both `PgPool`
/// and `SqlitePool`, which plain `sqlx::query*` calls with `$N` placeholders and portable SQL
/// do.
macro_rules! on_read {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Postgres(pg) => {
                let $pool = &pg.read;
                $body
            }
            $crate::store::Db::Sqlite(sqlite) => {
                let $pool = &sqlite.read;
                $body
            }
        }
    };
}
pub(crate) use on_read;

/// As [`on_read!`], for a body that writes: on SQLite it runs on the one write connection.
macro_rules! on_write {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Postgres(pg) => {
                let $pool = &pg.write;
                $body
            }
            $crate::store::Db::Sqlite(sqlite) => {
                let $pool = &sqlite.write;
                $body
            }
        }
    };
}
pub(crate) use on_write;

/// Picks the SQL text that filters on the owner's column: `owner_sql!(owner, "… AND ", " = $2")`
/// expands to `"… AND owner_user_id = $2"` or `"… AND owner_anon_id = $2"` (both `&'static str`).
macro_rules! owner_sql {
    ($owner:expr, $before:expr, $after:expr) => {
        match $owner {
            $crate::store::Owner::User(_) => concat!($before, "owner_user_id", $after),
            $crate::store::Owner::Anonymous(_) => concat!($before, "owner_anon_id", $after),
        }
    };
}
pub(crate) use owner_sql;

/// Starting a transaction that will write. PostgreSQL: plain `BEGIN` (row locks do the rest).
/// SQLite: `BEGIN IMMEDIATE`, which takes the write lock up front (waiting up to the busy
/// timeout) — a deferred transaction that reads first and writes later can instead fail at once
/// with `SQLITE_BUSY` when another writer got in between.
pub(crate) trait BeginWrite {
    type Database: sqlx::Database;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Self::Database>, sqlx::Error>;
}

impl BeginWrite for PgPool {
    type Database = sqlx::Postgres;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
}

impl BeginWrite for SqlitePool {
    type Database = sqlx::Sqlite;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

/// The pools behind a [`Store`].
#[derive(Clone)]
pub(crate) enum Db {
    Postgres(PgDb),
    Sqlite(SqliteDb),
}

/// PostgreSQL: reads on connections of their own, so that a read (a turn's admission, a
/// session's lookup) never queues for a connection behind other turns' writes, which hold
/// theirs until their commit is flushed. At 50 users on 4 shared connections a turn's
/// admission read waited ≈ 20 ms p50 for one (README, "Load harness").
#[derive(Clone)]
pub(crate) struct PgDb {
    /// Every read (`on_read!`): short queries that a turn or a page waits for.
    pub(crate) read: PgPool,
    /// Every write (`on_write!`, a turn's two writes, migrations).
    pub(crate) write: PgPool,
}

/// SQLite in WAL mode: readers never wait for the writer, and there is one writer.
#[derive(Clone)]
pub(crate) struct SqliteDb {
    /// Read-only connections (the same pool as `write` for an in-memory database, which
    /// exists only on its one connection).
    pub(crate) read: SqlitePool,
    /// The one connection that writes, so writers queue here in order instead of sleeping in
    /// SQLite's busy handler.
    pub(crate) write: SqlitePool,
    /// Chat turns' writes, committed in groups on `write`.
    pub(crate) writer: writer::Writer,
}

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// PostgreSQL (`postgres://`, `postgresql://`).
    Postgres,
    /// SQLite (`sqlite://path`, `sqlite::memory:`).
    Sqlite,
}

impl Backend {
    /// `"postgres"` or `"sqlite"`.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }

    /// Chooses the backend from a database URL's scheme.
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        let (scheme, rest) = url.split_once(':').unwrap_or(("", url));
        let scheme = scheme.to_ascii_lowercase();
        match scheme.as_str() {
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            "sqlite" => Ok(Backend::Sqlite),
            // Only something that is clearly a scheme (`name://`) is echoed back; in
            // `user:password@host` the part before the colon is a user name.
            s if rest.starts_with("//")
                && (1..=16).contains(&s.len())
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '+') =>
            {
                Err(StoreError::UnsupportedUrl(s.to_string()))
            }
            _ => Err(StoreError::UnsupportedUrl("<none>".to_string())),
        }
    }
}

/// PostgreSQL: connections of each pool (reads, writes) unless `DATABASE_MAX_CONNECTIONS` says
/// otherwise: two per core of a small database server. Measured on 2 cores shared with the
/// database (README, "Load harness"): one pool of 16 gave 1.3-2 times the 50-user time to first
/// token (p99) of one pool of 4.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 4;

/// SQLite's read-only connections (its one writer is separate).
const SQLITE_READERS: u32 = 8;

/// Pool settings; [`StoreOptions::default`] suits tests and tools, the app's come from
/// `Config::store_options`.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// PostgreSQL: most connections open at once in each of the two pools (reads, writes).
    /// Few is fast: a database server runs a couple of queries per core at a time, and more
    /// backends than that only take turns on its cores (`DATABASE_MAX_CONNECTIONS`).
    pub max_connections: u32,
    /// PostgreSQL: connections of each pool kept open even when idle, so that a burst after a
    /// quiet spell does not wait for new ones.
    pub min_connections: u32,
    /// How long a query waits for a free connection.
    pub acquire_timeout: Duration,
    /// How long SQLite waits for the write lock before failing with "database is locked".
    pub sqlite_busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(10),
            sqlite_busy_timeout: Duration::from_secs(10),
        }
    }
}

/// The persistence layer: cheap to clone (the pool is shared), safe to use from many tasks.
#[derive(Clone)]
pub struct Store {
    pub(crate) db: Db,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend_name())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects with [`StoreOptions::default`]. See [`Store::connect_with`].
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with(url, StoreOptions::default()).await
    }

    /// Connects to the database named by `url` and checks that one connection works. Does not
    /// migrate: call [`Store::migrate`].
    ///
    /// For SQLite the parent directory and the file are created when missing; connections use
    /// WAL journaling, `synchronous = FULL` (a commit is on disk before it returns, so a
    /// finished turn survives a power loss), foreign keys on and a busy timeout.
    pub async fn connect_with(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        let backend = Backend::from_url(url)?;
        let db = match backend {
            Backend::Postgres => {
                let connect = PgConnectOptions::from_str(url)?.application_name("fpl-chat");
                let pool = || {
                    pool_options::<sqlx::Postgres>()
                        .max_connections(options.max_connections.max(1))
                        .min_connections(options.min_connections.min(options.max_connections))
                        .acquire_timeout(options.acquire_timeout)
                        .connect_with(connect.clone())
                };
                let (read, write) = tokio::try_join!(pool(), pool())?;
                Db::Postgres(PgDb { read, write })
            }
            Backend::Sqlite => Db::Sqlite(connect_sqlite(url, &options).await?),
        };
        tracing::info!(backend = backend.name(), "store connected");
        Ok(Store { db })
    }

    /// Applies the embedded migrations that are not applied yet (none on a second run).
    /// Safe to run from several instances at once on PostgreSQL (sqlx takes an advisory lock).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Postgres(pg) => POSTGRES_MIGRATOR.run(&pg.write).await?,
            Db::Sqlite(sqlite) => SQLITE_MIGRATOR.run(&sqlite.write).await?,
        }
        tracing::info!(backend = self.backend_name(), "store migrations applied");
        Ok(())
    }

    /// Each pool's connections now, as `(pool, idle, in use)`: `read` and `write`.
    pub fn pool_stats(&self) -> [(&'static str, u32, u32); 2] {
        fn stats<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> (u32, u32) {
            let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
            (idle, pool.size().saturating_sub(idle))
        }
        let (read, write) = match &self.db {
            Db::Postgres(pg) => (stats(&pg.read), stats(&pg.write)),
            Db::Sqlite(sqlite) => (stats(&sqlite.read), stats(&sqlite.write)),
        };
        [("read", read.0, read.1), ("write", write.0, write.1)]
    }

    /// One round trip to the database, for `/readyz` and `fpl-chat doctor`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_read!(&self.db, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Which backend this store uses.
    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Postgres(_) => Backend::Postgres,
            Db::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// `"postgres"` or `"sqlite"`, for logs and `/readyz`.
    pub fn backend_name(&self) -> &'static str {
        self.backend().name()
    }

    /// Closes every connection, waiting for queries in flight; later calls fail. Call on
    /// shutdown so SQLite checkpoints its WAL.
    pub async fn close(&self) {
        match &self.db {
            Db::Postgres(pg) => {
                tokio::join!(pg.read.close(), pg.write.close());
            }
            Db::Sqlite(sqlite) => {
                sqlite.read.close().await;
                sqlite.write.close().await;
            }
        }
    }
}

/// Opens SQLite for `url` (creating the directory and file when missing): the write
/// connection, its group-committing writer, and the readers.
async fn connect_sqlite(url: &str, options: &StoreOptions) -> Result<SqliteDb, StoreError> {
    let connect = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(options.sqlite_busy_timeout);
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if let Some(dir) = sqlite_parent_dir(&connect, in_memory) {
        std::fs::create_dir_all(dir).map_err(StoreError::Filesystem)?;
    }
    // One writer. An in-memory database also lives only while its connection is open (and
    // connections sharing one use table locks the busy timeout does not cover): it is read
    // on that same connection.
    let write = pool_options::<sqlx::Sqlite>()
        .max_connections(1)
        .min_connections(1)
        .acquire_timeout(options.acquire_timeout)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(connect.clone())
        .await?;
    let read = if in_memory {
        write.clone()
    } else {
        pool_options::<sqlx::Sqlite>()
            .max_connections(SQLITE_READERS)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect.read_only(true))
            .await?
    };
    Ok(SqliteDb {
        writer: writer::Writer::start(write.clone()),
        read,
        write,
    })
}

/// A connection idle at least this long is pinged before it is handed out.
const PING_WHEN_IDLE: Duration = Duration::from_secs(1);

/// Pool settings shared by both databases. sqlx pings a connection when it goes back to the
/// pool, and by default again before handing it out: a second round trip in front of every
/// query (on PostgreSQL one more network round trip; on SQLite one more hop to the
/// connection's thread), on the turn's path three times. A connection used within the last
/// [`PING_WHEN_IDLE`] was found alive when it came back, so only one idle longer is pinged
/// first (a server restarted since then is found there, and the connection replaced).
fn pool_options<DB: sqlx::Database>() -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::new()
        // Every acquire's wait as an event, for `db_pool_acquire_duration_seconds`
        // (`logging::AcquireWait`); it is dropped at once when nothing listens.
        .acquire_time_level(log::LevelFilter::Trace)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_WHEN_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

/// The directory that must exist before the SQLite file can be created, if any.
fn sqlite_parent_dir(connect: &SqliteConnectOptions, in_memory: bool) -> Option<&Path> {
    if in_memory {
        return None;
    }
    connect
        .get_filename()
        .parent()
        .filter(|dir| *dir != Path::new(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_the_directory_to_create() {
        let parse = |url: &str| SqliteConnectOptions::from_str(url).unwrap();
        let relative = parse("sqlite://data/fpl-chat.db");
        assert_eq!(relative.get_filename(), Path::new("data/fpl-chat.db"));
        assert_eq!(sqlite_parent_dir(&relative, false), Some(Path::new("data")));
        let absolute = parse("sqlite:///var/lib/fpl/chat.db?mode=rwc");
        assert_eq!(
            sqlite_parent_dir(&absolute, false),
            Some(Path::new("/var/lib/fpl"))
        );
        assert_eq!(sqlite_parent_dir(&parse("sqlite://chat.db"), false), None);
        assert_eq!(sqlite_parent_dir(&parse("sqlite::memory:"), true), None);
    }

    #[test]
    fn backend_is_chosen_by_scheme() {
        assert_eq!(
            Backend::from_url("postgres://u:p@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("postgresql://h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("sqlite://data/fpl-chat.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::from_url("sqlite::memory:").unwrap(),
            Backend::Sqlite
        );
    }

    #[test]
    fn unsupported_urls_never_echo_credentials() {
        let err = Backend::from_url("mysql://admin:hunter2@db.example.com/x").unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains("mysql"), "{shown}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("admin"),
            "{shown}"
        );
        let err = Backend::from_url("admin:hunter2@db.example.com").unwrap_err();
        let shown = err.to_string();
        assert!(
            !shown.contains("hunter2") && !shown.contains("admin"),
            "{shown}"
        );
        let err = Backend::from_url("no scheme at all").unwrap_err();
        assert!(err.to_string().contains("<none>"), "{err}");
    }

    #[tokio::test]
    async fn bad_postgres_url_errors_hide_the_password() {
        let err = Store::connect("postgres://admin:hunter2@127.0.0.1:notaport/db")
            .await
            .unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[tokio::test]
    async fn unreachable_postgres_errors_hide_the_password() {
        let options = StoreOptions {
            acquire_timeout: Duration::from_millis(300),
            ..StoreOptions::default()
        };
        // Port 1 on loopback: nothing listens there, the connection is refused.
        let err = Store::connect_with("postgres://admin:hunter2@127.0.0.1:1/db", options)
            .await
            .unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(err.is_transient(), "{err:?}");
    }

    #[tokio::test]
    async fn in_memory_sqlite_works_and_pings() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        store.ping().await.unwrap();
        assert_eq!(store.backend_name(), "sqlite");
        let owner = Owner::Anonymous(uuid::Uuid::new_v4());
        let conv = store
            .create_conversation(owner, &Title::parse("hello").unwrap())
            .await
            .unwrap();
        assert!(store
            .get_conversation(owner, conv.id)
            .await
            .unwrap()
            .is_some());
    }
}
