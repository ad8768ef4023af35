//! The store suite: every test is written once, as an async fn taking a [`Ctx`], and run on
//! both backends against real databases — `postgres::<name>` on a fresh PostgreSQL database
//! (created from `TEST_DATABASE_URL`, else `postgres://postgres@127.0.0.1:5432/postgres`, else
//! the same as user `root`, and dropped afterwards) and `sqlite::<name>` on a fresh file in a
//! new temporary directory (removed afterwards). A test's panic still cleans up, then fails it.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use fpl_chat::store::thread;
use fpl_chat::store::{
    ArchivedIdentity, Backend, Email, MessageStatus, NewMessage, Owner, Pruned, Role, SearchQuery,
    ShareToken, Store, StoreError, StoreOptions, SummaryUpdate, Tier, Title, TurnStart, User,
};
use serde_json::json;
use sqlx::{Connection, PgConnection, PgPool, SqlitePool};
use uuid::Uuid;

/// What a test gets: the migrated store, and the URL to reopen it or inspect it directly.
#[derive(Clone)]
struct Ctx {
    store: Store,
    url: String,
    backend: Backend,
}

/// How to remove a test database afterwards.
enum Cleanup {
    Postgres { admin_url: String, database: String },
    Sqlite { dir: PathBuf },
}

/// Replaces the database name in a PostgreSQL URL, keeping any query string.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// An admin connection to PostgreSQL and the URL it was made with.
async fn postgres_admin() -> (PgConnection, String) {
    let candidates = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) => vec![url],
        Err(_) => vec![
            "postgres://postgres@127.0.0.1:5432/postgres".to_string(),
            "postgres://root@127.0.0.1:5432/postgres".to_string(),
        ],
    };
    let mut failures = Vec::new();
    for url in &candidates {
        match PgConnection::connect(url).await {
            Ok(conn) => return (conn, url.clone()),
            Err(e) => failures.push(e.to_string()),
        }
    }
    panic!("no PostgreSQL admin connection (set TEST_DATABASE_URL): {failures:?}");
}

async fn setup(backend: Backend) -> (Ctx, Cleanup) {
    let (url, cleanup) = match backend {
        Backend::Postgres => {
            let (mut admin, admin_url) = postgres_admin().await;
            let database = format!("fplchat_test_{}", Uuid::new_v4().simple());
            sqlx::raw_sql(&format!("CREATE DATABASE \"{database}\""))
                .execute(&mut admin)
                .await
                .expect("create test database");
            admin.close().await.ok();
            let url = with_database(&admin_url, &database);
            (
                url,
                Cleanup::Postgres {
                    admin_url,
                    database,
                },
            )
        }
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("fplchat-test-{}", Uuid::new_v4()));
            // A nested path that does not exist yet: connect must create it.
            let file = dir.join("data").join("fpl-chat.db");
            (
                format!("sqlite://{}", file.display()),
                Cleanup::Sqlite { dir },
            )
        }
    };
    let store = Store::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    (
        Ctx {
            store,
            url,
            backend,
        },
        cleanup,
    )
}

async fn teardown(cleanup: Cleanup) {
    match cleanup {
        Cleanup::Postgres {
            admin_url,
            database,
        } => {
            let dropped = async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                sqlx::raw_sql(&format!(
                    "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
                ))
                .execute(&mut admin)
                .await?;
                admin.close().await
            }
            .await;
            if let Err(e) = dropped {
                eprintln!("could not drop test database {database}: {e}");
            }
        }
        Cleanup::Sqlite { dir } => {
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                eprintln!("could not remove {}: {e}", dir.display());
            }
        }
    }
}

/// Runs one test body on a fresh database of `backend`, always cleaning up.
async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (ctx, cleanup) = setup(backend).await;
    let store = ctx.store.clone();
    let outcome = tokio::spawn(test(ctx)).await;
    store.close().await;
    teardown(cleanup).await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test task failed: {e}"),
        }
    }
}

/// Generates `postgres::<test>` and `sqlite::<test>` for each named test fn.
macro_rules! store_tests {
    ($($test:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::run(super::Backend::Postgres, super::$test).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::run(super::Backend::Sqlite, super::$test).await;
                }
            )*
        }
    };
}

store_tests!(
    migrations_are_idempotent,
    owner_isolation,
    concurrent_appends_keep_seq_and_order,
    finish_turn_metrics_are_exact,
    finish_turn_without_user_message_counts_one,
    claim_anonymous_moves_conversations,
    duplicate_email_is_a_conflict,
    emails_are_case_insensitive,
    delete_cascades_to_messages_and_metrics,
    tool_json_round_trips,
    data_survives_restart,
    begin_turn_starts_a_conversation,
    topics_and_summary,
    concurrent_turns_are_all_stored,
    list_is_newest_first_and_limited,
    touch_anonymous_tracks_last_seen,
    missing_rows_are_not_found,
    prune_deletes_only_idle_anonymous_identities,
    prune_runs_archive_every_batch_and_end_expired_sessions,
    backup_is_a_whole_copy_taken_while_turns_are_written,
    deleted_conversations_can_be_restored_until_purged,
    search_finds_the_owners_titles_and_messages,
    share_links_show_a_snapshot_until_revoked,
    regenerated_answers_and_edited_questions_are_versions,
);

/// The pool pings a connection only when it has been idle for a second or more (not before
/// every query): one whose server side was ended while it sat in the pool (a restart, an
/// administrator, an idle timeout) is found dead there and replaced, and the query succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connection_ended_while_idle_is_replaced() {
    run(Backend::Postgres, |ctx: Ctx| async move {
        let owner = Owner::Anonymous(Uuid::new_v4());
        let store = &ctx.store;
        let found = store.get_conversation(owner, Uuid::new_v4()).await;
        assert!(matches!(found, Ok(None)), "{found:?}");
        let mut admin = PgConnection::connect(&ctx.url).await.unwrap();
        let ended: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_all(&mut admin)
        .await
        .unwrap();
        assert!(!ended.is_empty(), "the store held a pooled connection");
        admin.close().await.ok();
        tokio::time::sleep(Duration::from_millis(1_300)).await;
        for _ in 0..ended.len() + 1 {
            let found = store.get_conversation(owner, Uuid::new_v4()).await;
            assert!(matches!(found, Ok(None)), "{found:?}");
        }
    })
    .await;
}

/// A read (a turn's admission, a session's lookup) never queues for a connection behind
/// writes: with the one write connection held by a write waiting on a row lock, the
/// conversation is still read at once, and the write completes when the lock is released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reads_do_not_wait_for_writes() {
    run(Backend::Postgres, |ctx: Ctx| async move {
        let owner = Owner::Anonymous(Uuid::new_v4());
        let id = Uuid::new_v4();
        ctx.store
            .begin_turn(turn_starting(owner, id, "Captain?"))
            .await
            .unwrap();
        let options = StoreOptions {
            max_connections: 1,
            acquire_timeout: Duration::from_secs(2),
            ..StoreOptions::default()
        };
        let store = Store::connect_with(&ctx.url, options).await.unwrap();
        let mut admin = PgConnection::connect(&ctx.url).await.unwrap();
        let mut locked = admin.begin().await.unwrap();
        sqlx::query("SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE")
            .bind(id)
            .execute(&mut *locked)
            .await
            .unwrap();
        let writing = tokio::spawn({
            let store = store.clone();
            async move { store.begin_turn(turn_in(owner, id, "And then?")).await }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!writing.is_finished(), "the write waits for the row lock");
        let read = store.get_conversation(owner, id).await;
        assert!(matches!(&read, Ok(Some(c)) if c.last_seq == 1), "{read:?}");
        locked.rollback().await.unwrap();
        let written = writing.await.unwrap().unwrap();
        assert_eq!(written.question.seq, 2);
        store.close().await;
    })
    .await;
}

/// A turn's two writes change its conversation's row (last_seq, updated_at) but no indexed
/// column, so PostgreSQL updates the row in place (HOT): no index entry per write, no index
/// bloat. A regression (an index on updated_at, a full page) shows as non-HOT updates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_turn_updates_touch_no_index() {
    run(Backend::Postgres, |ctx: Ctx| async move {
        let store = &ctx.store;
        let owner = Owner::Anonymous(Uuid::new_v4());
        let id = Uuid::new_v4();
        let turns = 5;
        for turn in 0..turns {
            let start = match turn {
                0 => turn_starting(owner, id, "Captain?"),
                _ => turn_in(owner, id, "And then?"),
            };
            store.begin_turn(start).await.unwrap();
            store
                .finish_turn(id, assistant("Salah.", 2, 0, None))
                .await
                .unwrap();
        }
        // A backend reports its counts when it ends (and now and then while idle).
        store.close().await;
        let mut admin = PgConnection::connect(&ctx.url).await.unwrap();
        let (mut updated, mut hot) = (0_i64, 0_i64);
        // The statistics arrive when the backends flush them: within a second on a quiet
        // machine, several on a busy one (CI failed once after 5 s with 4 of 9 counted).
        for _ in 0..200 {
            (updated, hot) = sqlx::query_as(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables \
                 WHERE relname = 'conversations'",
            )
            .fetch_one(&mut admin)
            .await
            .unwrap();
            if updated >= 2 * turns - 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        admin.close().await.ok();
        assert_eq!(
            updated,
            2 * turns - 1,
            "every write but the first updates the row"
        );
        assert_eq!(hot, updated, "every update of the conversation is HOT");
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

fn title(s: &str) -> Title {
    Title::parse(s).unwrap()
}

async fn new_user(store: &Store, address: &str) -> User {
    store
        .create_user(&email(address), "$argon2id$v=19$test")
        .await
        .unwrap()
}

fn assistant(
    content: &str,
    tokens: i32,
    tool_calls: usize,
    duration_ms: Option<i32>,
) -> NewMessage {
    let mut m = NewMessage::assistant(content, tokens);
    m.tool_calls = json!((0..tool_calls)
        .map(|i| json!({"id": format!("toolu_{i}"), "name": "fpl_player_data", "input": {}}))
        .collect::<Vec<_>>());
    m.tool_results = json!((0..tool_calls)
        .map(|i| json!({"id": format!("toolu_{i}"), "ok": true}))
        .collect::<Vec<_>>());
    m.duration_ms = duration_ms;
    m.model = Some("offline-analyst".into());
    m
}

/// Runs `$body` with `$pool` a direct connection pool to the test database (bypassing the
/// store), expanded once per backend.
macro_rules! with_raw_pool {
    ($ctx:expr, |$pool:ident| $body:expr) => {
        match $ctx.backend {
            Backend::Postgres => {
                let $pool = PgPool::connect(&$ctx.url).await.unwrap();
                let out = $body;
                $pool.close().await;
                out
            }
            Backend::Sqlite => {
                let $pool = SqlitePool::connect(&$ctx.url).await.unwrap();
                let out = $body;
                $pool.close().await;
                out
            }
        }
    };
}

/// A scalar from a direct connection to the test database.
async fn raw_i64(ctx: &Ctx, sql: &str) -> i64 {
    with_raw_pool!(ctx, |pool| sqlx::query_scalar(sql)
        .fetch_one(&pool)
        .await
        .unwrap())
}

/// Runs `sql` with `$1` bound to `at` and `$2` to `id` on a direct connection.
async fn raw_set_time(ctx: &Ctx, sql: &str, at: chrono::DateTime<chrono::Utc>, id: Uuid) {
    with_raw_pool!(ctx, |pool| sqlx::query(sql)
        .bind(at)
        .bind(id)
        .execute(&pool)
        .await
        .map(|done| done.rows_affected())
        .unwrap());
}

/// Makes every anonymous identity but `except`, and every conversation not owned by it, look
/// last used `days` ago.
async fn age_all_but(ctx: &Ctx, except: Uuid, days: i64) {
    let then = chrono::Utc::now() - chrono::Duration::days(days);
    raw_set_time(
        ctx,
        "UPDATE anonymous_identities SET last_seen_at = $1 WHERE id <> $2",
        then,
        except,
    )
    .await;
    raw_set_time(
        ctx,
        "UPDATE conversations SET updated_at = $1 \
         WHERE owner_anon_id IS NULL OR owner_anon_id <> $2",
        then,
        except,
    )
    .await;
}

/// What receives a pruned batch before it is deleted.
type ArchiveSink = fn(&[ArchivedIdentity]) -> std::io::Result<()>;
/// No archive, typed.
const NO_ARCHIVE: Option<ArchiveSink> = None;

// ---------------------------------------------------------------------------------------------
// Tests

async fn migrations_are_idempotent(ctx: Ctx) {
    let store = &ctx.store;
    assert_eq!(store.backend(), ctx.backend);
    assert_eq!(store.backend_name(), ctx.backend.name());
    store.migrate().await.expect("second migrate");
    store.migrate().await.expect("third migrate");
    // A second instance starting against the same database migrates too.
    let other = Store::connect(&ctx.url).await.unwrap();
    other.migrate().await.expect("migrate from a second store");
    other.close().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(ctx.backend.name());
    let files = std::fs::read_dir(dir).unwrap().count() as i64;
    assert_eq!(
        raw_i64(&ctx, "SELECT count(*) FROM _sqlx_migrations").await,
        files,
        "each embedded migration is recorded exactly once"
    );
    store.ping().await.unwrap();
    let user = new_user(store, "after-migrate@example.com").await;
    assert_eq!(store.find_user(user.id).await.unwrap(), Some(user));
}

async fn owner_isolation(ctx: Ctx) {
    let store = &ctx.store;
    let alice = Owner::User(new_user(store, "alice@example.com").await.id);
    let bob = Owner::User(new_user(store, "bob@example.com").await.id);
    let anon = Owner::Anonymous(Uuid::new_v4());
    let created = store
        .create_conversation(alice, &title("Captain picks"))
        .await
        .unwrap();
    assert_eq!(created.owner, alice);
    store
        .append_message(created.id, NewMessage::user("Salah or Haaland?", 5))
        .await
        .unwrap();
    let anon_conv = store
        .create_conversation(anon, &title("Anon chat"))
        .await
        .unwrap();

    // Same id, other kind of owner: still not Alice.
    let alice_id_as_anon = Owner::Anonymous(alice.id());
    for stranger in [bob, anon, alice_id_as_anon] {
        assert_eq!(
            store.get_conversation(stranger, created.id).await.unwrap(),
            None
        );
        assert!(!store
            .rename_conversation(stranger, created.id, &title("hijacked"))
            .await
            .unwrap());
        assert!(!store
            .delete_conversation(stranger, created.id)
            .await
            .unwrap());
        let listed = store.list_conversations(stranger, 50).await.unwrap();
        assert!(
            listed.iter().all(|c| c.id != created.id),
            "{stranger:?} sees it"
        );
    }
    let other_anon = Owner::Anonymous(Uuid::new_v4());
    store.touch_anonymous(other_anon.id()).await.unwrap();
    let anon_id_as_user = Owner::User(anon.id());
    for stranger in [alice, bob, other_anon, anon_id_as_user] {
        assert_eq!(
            store
                .get_conversation(stranger, anon_conv.id)
                .await
                .unwrap(),
            None
        );
        assert!(!store
            .rename_conversation(stranger, anon_conv.id, &title("hijacked"))
            .await
            .unwrap());
        assert!(!store
            .delete_conversation(stranger, anon_conv.id)
            .await
            .unwrap());
        let listed = store.list_conversations(stranger, 50).await.unwrap();
        assert!(
            listed.iter().all(|c| c.id != anon_conv.id),
            "{stranger:?} sees it"
        );
    }

    let mine = store
        .get_conversation(alice, created.id)
        .await
        .unwrap()
        .expect("owner sees it");
    assert_eq!(mine.title.as_str(), "Captain picks");
    assert_eq!(mine.id, created.id);
    assert_eq!(mine.created_at, created.created_at);
    assert!(mine.updated_at >= created.updated_at);
    assert_eq!(store.list_messages(created.id).await.unwrap().len(), 1);
    assert_eq!(store.list_conversations(alice, 50).await.unwrap().len(), 1);
    assert_eq!(store.list_conversations(bob, 50).await.unwrap().len(), 0);
    let anon_list = store.list_conversations(anon, 50).await.unwrap();
    assert_eq!(anon_list.len(), 1);
    assert_eq!(anon_list[0].id, anon_conv.id);
    assert_eq!(
        store.get_conversation(anon, anon_conv.id).await.unwrap(),
        Some(anon_conv)
    );

    assert!(store
        .rename_conversation(alice, created.id, &title("  Captain\npicks GW8 "))
        .await
        .unwrap());
    let renamed = store
        .get_conversation(alice, created.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renamed.title.as_str(), "Captain picks GW8");
    assert!(store.delete_conversation(alice, created.id).await.unwrap());
    assert_eq!(
        store.get_conversation(alice, created.id).await.unwrap(),
        None
    );
}

async fn concurrent_appends_keep_seq_and_order(ctx: Ctx) {
    let store = &ctx.store;
    let owner = Owner::Anonymous(Uuid::new_v4());
    let conv = store
        .create_conversation(owner, &title("Busy"))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .append_message(conv.id, NewMessage::user(format!("message {i}"), i))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut appended = Vec::new();
    for task in tasks {
        appended.push(task.await.unwrap());
    }
    let mut seqs: Vec<i64> = appended.iter().map(|m| m.seq).collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=20).collect::<Vec<i64>>(),
        "no duplicate or missing seq"
    );

    let listed = store.list_messages(conv.id).await.unwrap();
    assert_eq!(
        listed.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=20).collect::<Vec<i64>>(),
        "listed in seq order"
    );
    for m in &listed {
        let original = appended.iter().find(|a| a.id == m.id).expect("same ids");
        assert_eq!(m, original, "read back exactly as returned");
    }
    let next = store
        .append_message(conv.id, NewMessage::user("after", 1))
        .await
        .unwrap();
    assert_eq!(next.seq, 21);
    let after = store
        .get_conversation(owner, conv.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.updated_at, next.created_at, "append sets updated_at");
}

async fn finish_turn_metrics_are_exact(ctx: Ctx) {
    let store = &ctx.store;
    let owner = Owner::User(new_user(store, "metrics@example.com").await.id);
    let conv = store
        .create_conversation(owner, &title("Metrics"))
        .await
        .unwrap();
    assert_eq!(store.metrics(conv.id).await.unwrap(), None);

    // (user tokens, assistant tokens, tool calls, duration) per turn, and expected totals after
    // it: (message_count, tool_call_count, total_tokens, timed responses, average).
    let turns = [
        ((10, 20, 2, Some(100)), (2, 2, 30, 1, 100.0)),
        ((5, 7, 0, Some(200)), (4, 2, 42, 2, 150.0)),
        ((1, 2, 3, Some(400)), (6, 5, 45, 3, 700.0 / 3.0)),
        // An interrupted turn without a duration leaves the average alone.
        ((3, 4, 0, None), (8, 5, 52, 3, 700.0 / 3.0)),
    ];
    for (n, ((user_tokens, asst_tokens, tools, duration), expected)) in
        turns.into_iter().enumerate()
    {
        let user = store
            .append_message(conv.id, NewMessage::user("question", user_tokens))
            .await
            .unwrap();
        let mut answer = assistant("answer", asst_tokens, tools, duration);
        if duration.is_none() {
            answer.status = MessageStatus::Interrupted;
        }
        let stored = store.finish_turn(conv.id, answer).await.unwrap();
        assert_eq!(stored.seq, user.seq + 1);
        assert_eq!(stored.seq, 2 * (n as i64 + 1));
        assert_eq!(stored.role, Role::Assistant);

        let metrics = store.metrics(conv.id).await.unwrap().expect("metrics row");
        let (messages, tool_calls, tokens, timed, avg) = expected;
        assert_eq!(metrics.conversation_id, conv.id);
        assert_eq!(
            metrics.message_count, messages,
            "message_count after turn {n}"
        );
        assert_eq!(
            metrics.tool_call_count, tool_calls,
            "tool_call_count after turn {n}"
        );
        assert_eq!(metrics.total_tokens, tokens, "total_tokens after turn {n}");
        assert_eq!(metrics.timed_response_count, timed, "timed after turn {n}");
        assert!(
            (metrics.avg_response_time_ms - avg).abs() < 1e-9,
            "average after turn {n}: {} != {avg}",
            metrics.avg_response_time_ms
        );
        assert_eq!(metrics.last_activity, stored.created_at);
    }
    let listed = store.list_conversations(owner, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].message_count, 8,
        "list shows metrics' message_count"
    );

    // finish_turn only takes assistant messages.
    let err = store
        .finish_turn(conv.id, NewMessage::user("not an answer", 1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert_eq!(store.list_messages(conv.id).await.unwrap().len(), 8);
}

async fn finish_turn_without_user_message_counts_one(ctx: Ctx) {
    let store = &ctx.store;
    let owner = Owner::Anonymous(Uuid::new_v4());
    let conv = store
        .create_conversation(owner, &title("Greeting"))
        .await
        .unwrap();
    let stored = store
        .finish_turn(conv.id, assistant("Welcome!", 9, 1, Some(50)))
        .await
        .unwrap();
    assert_eq!(stored.seq, 1);
    let metrics = store.metrics(conv.id).await.unwrap().unwrap();
    assert_eq!(metrics.message_count, 1);
    assert_eq!(metrics.total_tokens, 9);
    assert_eq!(metrics.tool_call_count, 1);
    assert_eq!(metrics.avg_response_time_ms, 50.0);
    // An assistant message right before does not count as the turn's user message.
    store
        .finish_turn(conv.id, assistant("And another", 4, 0, Some(150)))
        .await
        .unwrap();
    let metrics = store.metrics(conv.id).await.unwrap().unwrap();
    assert_eq!(metrics.message_count, 2);
    assert_eq!(metrics.total_tokens, 13);
    assert_eq!(metrics.avg_response_time_ms, 100.0);
}

async fn claim_anonymous_moves_conversations(ctx: Ctx) {
    let store = &ctx.store;
    let anon_id = Uuid::new_v4();
    let anon = Owner::Anonymous(anon_id);
    let other_anon = Owner::Anonymous(Uuid::new_v4());
    store.touch_anonymous(anon_id).await.unwrap();
    let first = store
        .create_conversation(anon, &title("One"))
        .await
        .unwrap();
    let second = store
        .create_conversation(anon, &title("Two"))
        .await
        .unwrap();
    let untouched = store
        .create_conversation(other_anon, &title("Not mine"))
        .await
        .unwrap();
    store
        .append_message(first.id, NewMessage::user("hello", 1))
        .await
        .unwrap();

    let user = new_user(store, "signup@example.com").await;
    let owner = Owner::User(user.id);
    assert_eq!(store.claim_anonymous(anon_id, user.id).await.unwrap(), 2);

    let mut mine: Vec<Uuid> = store
        .list_conversations(owner, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    mine.sort();
    let mut expected = vec![first.id, second.id];
    expected.sort();
    assert_eq!(mine, expected);
    assert!(store.list_conversations(anon, 50).await.unwrap().is_empty());
    assert_eq!(store.get_conversation(anon, first.id).await.unwrap(), None);
    let moved = store
        .get_conversation(owner, first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.owner, owner);
    assert_eq!(store.list_messages(first.id).await.unwrap().len(), 1);
    assert!(store
        .get_conversation(other_anon, untouched.id)
        .await
        .unwrap()
        .is_some());
    let identity = store.find_anonymous(anon_id).await.unwrap().unwrap();
    assert_eq!(identity.claimed_by_user, Some(user.id));

    assert_eq!(store.claim_anonymous(anon_id, user.id).await.unwrap(), 0);
    let err = store
        .claim_anonymous(other_anon.id(), Uuid::new_v4())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert!(store
        .get_conversation(other_anon, untouched.id)
        .await
        .unwrap()
        .is_some());
}

async fn duplicate_email_is_a_conflict(ctx: Ctx) {
    let store = &ctx.store;
    let first = store
        .create_user(&email("fan@example.com"), "hash-one")
        .await
        .unwrap();
    assert_eq!(first.tier, Tier::Default);
    let err = store
        .create_user(&email("fan@example.com"), "hash-two")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(err.to_string().contains("email"), "{err}");
    let found = store
        .find_user_by_email(&email("fan@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, first);
    assert_eq!(found.password_hash, "hash-one");
}

async fn emails_are_case_insensitive(ctx: Ctx) {
    let store = &ctx.store;
    let user = store
        .create_user(&email("  Fan.Name@Example.COM "), "hash")
        .await
        .unwrap();
    assert_eq!(user.email.as_str(), "fan.name@example.com");
    for variant in [
        "fan.name@example.com",
        "FAN.NAME@EXAMPLE.COM",
        "Fan.Name@example.com",
    ] {
        let found = store.find_user_by_email(&email(variant)).await.unwrap();
        assert_eq!(found.as_ref().map(|u| u.id), Some(user.id), "{variant}");
    }
    let err = store
        .create_user(&email("FAN.name@example.com"), "other")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    assert!(store
        .set_tier(&email("FAN.NAME@example.com"), Tier::Premium)
        .await
        .unwrap());
    assert_eq!(
        store.find_user(user.id).await.unwrap().unwrap().tier,
        Tier::Premium
    );
    assert!(store
        .set_tier(&email("fan.name@example.com"), Tier::Default)
        .await
        .unwrap());
    assert_eq!(
        store.find_user(user.id).await.unwrap().unwrap().tier,
        Tier::Default
    );
    assert!(!store
        .set_tier(&email("nobody@example.com"), Tier::Premium)
        .await
        .unwrap());
    let err = store
        .set_tier(&email("fan.name@example.com"), Tier::Anonymous)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert_eq!(store.find_user(Uuid::new_v4()).await.unwrap(), None);
}

async fn delete_cascades_to_messages_and_metrics(ctx: Ctx) {
    let store = &ctx.store;
    let owner = Owner::User(new_user(store, "delete@example.com").await.id);
    let doomed = store
        .create_conversation(owner, &title("Doomed"))
        .await
        .unwrap();
    let kept = store
        .create_conversation(owner, &title("Kept"))
        .await
        .unwrap();
    for conv in [&doomed, &kept] {
        for _ in 0..2 {
            store
                .append_message(conv.id, NewMessage::user("q", 1))
                .await
                .unwrap();
            store
                .finish_turn(conv.id, assistant("a", 2, 1, Some(10)))
                .await
                .unwrap();
        }
    }
    assert_eq!(raw_i64(&ctx, "SELECT count(*) FROM messages").await, 8);
    assert!(store.delete_conversation(owner, doomed.id).await.unwrap());
    let later = chrono::Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(store.purge_deleted(later).await.unwrap(), 1);

    assert!(store.list_messages(doomed.id).await.unwrap().is_empty());
    assert_eq!(store.metrics(doomed.id).await.unwrap(), None);
    assert_eq!(
        store.get_conversation(owner, doomed.id).await.unwrap(),
        None
    );
    assert!(!store.delete_conversation(owner, doomed.id).await.unwrap());
    assert_eq!(raw_i64(&ctx, "SELECT count(*) FROM messages").await, 4);
    assert_eq!(
        raw_i64(&ctx, "SELECT count(*) FROM conversation_metrics").await,
        1
    );

    assert_eq!(store.list_messages(kept.id).await.unwrap().len(), 4);
    assert_eq!(
        store.metrics(kept.id).await.unwrap().unwrap().message_count,
        4
    );
    let err = store
        .append_message(doomed.id, NewMessage::user("too late", 1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

async fn tool_json_round_trips(ctx: Ctx) {
    let store = &ctx.store;
    let owner = Owner::Anonymous(Uuid::new_v4());
    let conv = store
        .create_conversation(owner, &title("Tools"))
        .await
        .unwrap();
    let tool_calls = json!([
        {
            "id": "toolu_01",
            "name": "fpl_player_data",
            "input": {
                "player_name": "Haaland",
                "nested": [1, 2.5, null, true, {"deep": ["x"]}],
                "unicode": "Ødegaard ✓ \"quoted\" \\ back\nslash"
            }
        },
        {"id": "toolu_02", "name": "fpl_fixture_difficulty", "input": {"team": "ARS", "gws": 5}}
    ]);
    let tool_results = json!([
        {"id": "toolu_01", "ok": true, "duration_ms": 12, "output": {"now_cost": 145, "form": "8.5"}},
        {"id": "toolu_02", "ok": false, "error": "unknown team"}
    ]);
    store
        .append_message(conv.id, NewMessage::user("Haaland?", 3))
        .await
        .unwrap();
    let mut answer = NewMessage::assistant("Haaland costs £14.5m.", 8);
    answer.tool_calls = tool_calls.clone();
    answer.tool_results = tool_results.clone();
    answer.status = MessageStatus::Error;
    answer.error_code = Some("upstream_error".into());
    answer.model = Some("claude-test".into());
    answer.input_tokens = Some(1234);
    answer.output_tokens = Some(56);
    answer.first_token_ms = Some(87);
    answer.duration_ms = Some(912);
    let stored = store.finish_turn(conv.id, answer).await.unwrap();

    let listed = store.list_messages(conv.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1], stored, "every field reads back as written");
    assert_eq!(listed[1].tool_calls, tool_calls);
    assert_eq!(listed[1].tool_results, tool_results);
    assert_eq!(listed[0].tool_calls, json!([]));
    assert_eq!(listed[0].tool_results, json!([]));
    assert_eq!(
        store
            .metrics(conv.id)
            .await
            .unwrap()
            .unwrap()
            .tool_call_count,
        2
    );

    let mut bad = NewMessage::assistant("bad", 1);
    bad.tool_calls = json!({"id": "not an array"});
    let err = store.finish_turn(conv.id, bad).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert_eq!(store.list_messages(conv.id).await.unwrap().len(), 2);
}

async fn data_survives_restart(ctx: Ctx) {
    let user = new_user(&ctx.store, "restart@example.com").await;
    let owner = Owner::User(user.id);
    let conv = ctx
        .store
        .create_conversation(owner, &title("Before restart"))
        .await
        .unwrap();
    ctx.store
        .begin_turn(TurnStart {
            topics: Some(vec!["Haaland".to_string()]),
            ..turn_in(owner, conv.id, "Who to captain?")
        })
        .await
        .unwrap();
    ctx.store
        .finish_turn(conv.id, assistant("Haaland.", 2, 1, Some(300)))
        .await
        .unwrap();
    let before_messages = ctx.store.list_messages(conv.id).await.unwrap();
    let before_conv = ctx.store.get_conversation(owner, conv.id).await.unwrap();
    let before_metrics = ctx.store.metrics(conv.id).await.unwrap();
    ctx.store.close().await;
    assert!(ctx.store.ping().await.is_err(), "closed store refuses work");

    if ctx.backend == Backend::Sqlite {
        let path = ctx.url.strip_prefix("sqlite://").unwrap();
        assert!(std::path::Path::new(path).is_file(), "database file exists");
    }

    let reopened = Store::connect(&ctx.url).await.unwrap();
    reopened.migrate().await.unwrap();
    assert_eq!(
        reopened.find_user(user.id).await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(
        reopened.get_conversation(owner, conv.id).await.unwrap(),
        before_conv
    );
    assert_eq!(
        reopened.list_messages(conv.id).await.unwrap(),
        before_messages
    );
    assert_eq!(reopened.metrics(conv.id).await.unwrap(), before_metrics);
    let listed = reopened.list_conversations(owner, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].title.as_str(), "Before restart");
    assert_eq!(listed[0].message_count, 2);
    let next = reopened
        .append_message(conv.id, NewMessage::user("And vice?", 2))
        .await
        .unwrap();
    assert_eq!(next.seq, 3, "numbering continues after a restart");
    if ctx.backend == Backend::Sqlite {
        let pool = SqlitePool::connect(&ctx.url).await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        assert_eq!(mode, "wal");
    }
    reopened.close().await;
}

/// A turn's first write on an existing conversation of `owner`.
fn turn_in(owner: Owner, conversation: Uuid, question: &str) -> TurnStart {
    TurnStart {
        conversation_id: conversation,
        owner,
        new: None,
        question: NewMessage::user(question, 1),
        after: None,
        topics: None,
        title: None,
        summary: None,
    }
}

/// The first turn of a new conversation of `owner`, titled by its question.
fn turn_starting(owner: Owner, conversation: Uuid, question: &str) -> TurnStart {
    TurnStart {
        new: Some(title(question)),
        ..turn_in(owner, conversation, question)
    }
}

fn summary(text: &str, token_count: i32, through_seq: i64) -> Option<SummaryUpdate> {
    Some(SummaryUpdate {
        text: text.into(),
        token_count,
        through_seq,
        replaces_other_branch: false,
    })
}

async fn begin_turn_starts_a_conversation(ctx: Ctx) {
    let store = &ctx.store;
    let anon = Uuid::new_v4();
    let owner = Owner::Anonymous(anon);
    let id = Uuid::new_v4();
    let started = store
        .begin_turn(TurnStart {
            new: Some(title("How is Haaland doing?")),
            topics: Some(vec!["Haaland".into()]),
            ..turn_in(owner, id, "How is Haaland doing?")
        })
        .await
        .unwrap();
    assert_eq!(started.question.seq, 1);
    assert!(!started.summary_stored);
    assert!(
        started.identity_created,
        "the identity's first conversation"
    );
    let again = store
        .begin_turn(turn_starting(owner, Uuid::new_v4(), "Salah?"))
        .await
        .unwrap();
    assert!(!again.identity_created, "its second");
    let got = store.get_conversation(owner, id).await.unwrap().unwrap();
    assert_eq!(got.title.as_str(), "How is Haaland doing?");
    assert_eq!(got.topics, vec!["Haaland".to_string()]);
    assert_eq!(got.last_seq, 1);
    assert!(
        store.find_anonymous(anon).await.unwrap().is_some(),
        "the identity that owns it exists"
    );
    assert_eq!(
        store.list_messages(id).await.unwrap(),
        vec![started.question]
    );
    let listed = store.list_conversations(owner, 10).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().any(|c| c.id == id));
    // A user's conversation; another owner does not see it.
    let user = Owner::User(new_user(store, "turns@example.com").await.id);
    let mine = Uuid::new_v4();
    store
        .begin_turn(TurnStart {
            new: Some(title("Mine")),
            ..turn_in(user, mine, "hello")
        })
        .await
        .unwrap();
    assert!(store.get_conversation(owner, mine).await.unwrap().is_none());
    assert!(store.get_conversation(user, mine).await.unwrap().is_some());
    // Nobody else's turn changes it: not the anonymous owner, not a stranger.
    for other in [owner, Owner::Anonymous(Uuid::new_v4())] {
        let theirs = store
            .begin_turn(TurnStart {
                topics: Some(vec!["Salah".into()]),
                ..turn_in(other, mine, "mine now?")
            })
            .await;
        assert!(matches!(theirs, Err(StoreError::NotFound)), "{theirs:?}");
    }
    let untouched = store.get_conversation(user, mine).await.unwrap().unwrap();
    assert_eq!((untouched.last_seq, untouched.topics.len()), (1, 0));
    assert_eq!(store.list_messages(mine).await.unwrap().len(), 1);
}

async fn topics_and_summary(ctx: Ctx) {
    let store = &ctx.store;
    let owner = Owner::Anonymous(Uuid::new_v4());
    let conv = store
        .create_conversation(owner, &title("Long"))
        .await
        .unwrap();
    assert!(conv.topics.is_empty());
    for i in 0..6 {
        store
            .append_message(conv.id, NewMessage::user(format!("m{i}"), 1))
            .await
            .unwrap();
    }
    let topics = vec![
        "Haaland".to_string(),
        "Arsenal".to_string(),
        "GW8".to_string(),
    ];
    let started = store
        .begin_turn(TurnStart {
            topics: Some(topics.clone()),
            title: Some(title("Haaland, Arsenal, GW8")),
            summary: summary("Summary to 4", 40, 4),
            ..turn_in(owner, conv.id, "m6")
        })
        .await
        .unwrap();
    assert_eq!(started.question.seq, 7);
    assert!(started.summary_stored);
    let got = store
        .get_conversation(owner, conv.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got.title.as_str(),
        "Haaland, Arsenal, GW8",
        "named by its topics"
    );
    assert_eq!(got.topics, topics);
    assert_eq!(got.summary.as_deref(), Some("Summary to 4"));
    assert_eq!(got.summary_token_count, Some(40));
    assert_eq!(got.summarized_through_seq, Some(4));
    // Once the user renames it, topics no longer change the title; an older summary does
    // not replace a newer one, but the question is stored.
    assert!(store
        .rename_conversation(owner, conv.id, &title("Mine"))
        .await
        .unwrap());
    let started = store
        .begin_turn(TurnStart {
            topics: Some(topics[..2].to_vec()),
            title: Some(title("Haaland, Arsenal")),
            summary: summary("Stale to 2", 20, 2),
            ..turn_in(owner, conv.id, "m7")
        })
        .await
        .unwrap();
    assert!(
        !started.summary_stored,
        "an older summary must not replace a newer one"
    );
    let got = store
        .get_conversation(owner, conv.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.title.as_str(), "Mine");
    assert_eq!(got.topics, topics[..2].to_vec());
    assert_eq!(got.summary.as_deref(), Some("Summary to 4"));
    assert_eq!(got.last_seq, 8);
    // Without changes only the question is added.
    let started = store
        .begin_turn(TurnStart {
            summary: summary("Summary to 5", 45, 5),
            ..turn_in(owner, conv.id, "m8")
        })
        .await
        .unwrap();
    assert!(started.summary_stored);
    let got = store
        .get_conversation(owner, conv.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.topics, topics[..2].to_vec());
    assert_eq!(got.summary.as_deref(), Some("Summary to 5"));
    assert_eq!(got.summarized_through_seq, Some(5));
    let rest = store.list_messages_after(conv.id, 5).await.unwrap();
    assert_eq!(
        rest.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(),
        vec!["m5", "m6", "m7", "m8"]
    );
    // A conversation that is gone.
    let gone = store
        .begin_turn(turn_in(owner, Uuid::new_v4(), "lost"))
        .await;
    assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");
}

/// Many turns at once (on SQLite, their writes are committed in groups): every question and
/// answer is stored once, in its own conversation's order, and the metrics add up.
async fn concurrent_turns_are_all_stored(ctx: Ctx) {
    let store = &ctx.store;
    let owner = Owner::Anonymous(Uuid::new_v4());
    let conversations: Vec<Uuid> = (0..8).map(|_| Uuid::new_v4()).collect();
    for id in &conversations {
        store
            .begin_turn(TurnStart {
                new: Some(title("Busy")),
                ..turn_in(owner, *id, "first")
            })
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let store = store.clone();
            let id = conversations[i % conversations.len()];
            tokio::spawn(async move {
                let q = store
                    .begin_turn(turn_in(owner, id, &format!("q{i}")))
                    .await
                    .unwrap();
                let a = store
                    .finish_turn(id, assistant(&format!("a{i}"), 2, 0, Some(5)))
                    .await
                    .unwrap();
                (q.question.seq, a.seq)
            })
        })
        .collect();
    for task in tasks {
        let (q, a) = task.await.unwrap();
        assert!(a > q, "an answer is stored after its question");
    }
    for id in &conversations {
        let messages = store.list_messages(*id).await.unwrap();
        assert_eq!(messages.len(), 1 + 2 * 8);
        let seqs: Vec<i64> = messages.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, (1..=17).collect::<Vec<i64>>());
        let metrics = store.metrics(*id).await.unwrap().unwrap();
        assert_eq!(metrics.timed_response_count, 8);
    }
}

async fn list_is_newest_first_and_limited(ctx: Ctx) {
    let store = &ctx.store;
    let owner = Owner::User(new_user(store, "lister@example.com").await.id);
    let mut ids = Vec::new();
    for name in ["first", "second", "third"] {
        ids.push(
            store
                .create_conversation(owner, &title(name))
                .await
                .unwrap()
                .id,
        );
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let listed: Vec<Uuid> = store
        .list_conversations(owner, 10)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(listed, vec![ids[2], ids[1], ids[0]]);

    store
        .append_message(ids[0], NewMessage::user("bump", 1))
        .await
        .unwrap();
    assert!(store
        .rename_conversation(owner, ids[1], &title("renamed"))
        .await
        .unwrap());
    let listed = store.list_conversations(owner, 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![ids[0], ids[2], ids[1]],
        "a new message moves a conversation to the top; renaming does not"
    );
    assert_eq!(listed[2].title.as_str(), "renamed");
    assert!(listed.iter().all(|c| c.message_count == 0));

    let limited = store.list_conversations(owner, 2).await.unwrap();
    assert_eq!(
        limited.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![ids[0], ids[2]]
    );
    assert!(store.list_conversations(owner, 0).await.unwrap().is_empty());
}

async fn touch_anonymous_tracks_last_seen(ctx: Ctx) {
    let store = &ctx.store;
    let id = Uuid::new_v4();
    assert_eq!(store.find_anonymous(id).await.unwrap(), None);
    store.touch_anonymous(id).await.unwrap();
    let first = store.find_anonymous(id).await.unwrap().unwrap();
    assert_eq!(first.created_at, first.last_seen_at);
    assert_eq!(first.claimed_by_user, None);
    tokio::time::sleep(Duration::from_millis(5)).await;
    store.touch_anonymous(id).await.unwrap();
    let second = store.find_anonymous(id).await.unwrap().unwrap();
    assert_eq!(second.created_at, first.created_at);
    assert!(second.last_seen_at > first.last_seen_at);
    // Starting a conversation also counts as being seen, and creates the identity if needed.
    let fresh = Uuid::new_v4();
    store
        .create_conversation(Owner::Anonymous(fresh), &title("hi"))
        .await
        .unwrap();
    assert!(store.find_anonymous(fresh).await.unwrap().is_some());
}

async fn missing_rows_are_not_found(ctx: Ctx) {
    let store = &ctx.store;
    let err = store
        .append_message(Uuid::new_v4(), NewMessage::user("nowhere", 1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let err = store
        .finish_turn(Uuid::new_v4(), assistant("nowhere", 1, 0, Some(1)))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let err = store
        .create_conversation(Owner::User(Uuid::new_v4()), &title("ghost"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(raw_i64(&ctx, "SELECT count(*) FROM conversations").await, 0);
    assert_eq!(
        raw_i64(&ctx, "SELECT count(*) FROM conversation_metrics").await,
        0
    );
    assert_eq!(store.metrics(Uuid::new_v4()).await.unwrap(), None);
    assert!(store
        .list_messages(Uuid::new_v4())
        .await
        .unwrap()
        .is_empty());
}

/// Pruning deletes an anonymous identity only when it and all its conversations are idle, and
/// with it its conversations and messages; accounts' conversations (also those claimed from an
/// identity) stay; a failing archive keeps everything; the archive holds exactly what went.
async fn prune_deletes_only_idle_anonymous_identities(ctx: Ctx) {
    let store = &ctx.store;
    let cutoff = chrono::Utc::now() - chrono::Duration::days(30);
    let idle = Owner::Anonymous(Uuid::new_v4());
    let (c1, c2) = (Uuid::new_v4(), Uuid::new_v4());
    store
        .begin_turn(turn_starting(idle, c1, "How is Haaland doing?"))
        .await
        .unwrap();
    store
        .finish_turn(c1, assistant("Very well.", 3, 1, Some(10)))
        .await
        .unwrap();
    store
        .begin_turn(turn_starting(idle, c2, "Salah?"))
        .await
        .unwrap();
    // Old, but one of its conversations goes on today.
    let resumed = Owner::Anonymous(Uuid::new_v4());
    let (r1, r2) = (Uuid::new_v4(), Uuid::new_v4());
    for (id, q) in [(r1, "Palmer?"), (r2, "Saka?")] {
        store
            .begin_turn(turn_starting(resumed, id, q))
            .await
            .unwrap();
    }
    let recent_id = Uuid::new_v4();
    let recent = Owner::Anonymous(recent_id);
    let r3 = Uuid::new_v4();
    store
        .begin_turn(turn_starting(recent, r3, "Isak?"))
        .await
        .unwrap();
    let user_id = new_user(store, "keeps@example.com").await.id;
    let user = Owner::User(user_id);
    let (u1, k1) = (Uuid::new_v4(), Uuid::new_v4());
    store
        .begin_turn(turn_starting(user, u1, "My team?"))
        .await
        .unwrap();
    // Signed up from an identity: its conversation is the account's now.
    let claimed = Uuid::new_v4();
    store
        .begin_turn(turn_starting(
            Owner::Anonymous(claimed),
            k1,
            "Before signing up",
        ))
        .await
        .unwrap();
    store.claim_anonymous(claimed, user_id).await.unwrap();
    age_all_but(&ctx, recent_id, 40).await;
    store
        .begin_turn(turn_in(resumed, r2, "And now?"))
        .await
        .unwrap();

    let failed = store
        .prune_anonymous_batch(
            cutoff,
            100,
            Some(|_: &[ArchivedIdentity]| Err(std::io::Error::other("disk full"))),
        )
        .await;
    assert!(
        matches!(failed, Err(StoreError::Filesystem(_))),
        "{failed:?}"
    );
    assert!(store.get_conversation(idle, c1).await.unwrap().is_some());

    let mut archived = Vec::new();
    let pruned = store
        .prune_anonymous_batch(
            cutoff,
            100,
            Some(|batch: &[ArchivedIdentity]| {
                archived.extend_from_slice(batch);
                Ok(())
            }),
        )
        .await
        .unwrap();
    assert_eq!(
        pruned,
        Pruned {
            anonymous_identities: 2,
            conversations: 2,
            messages: 3,
            sessions: 0,
            deleted_conversations: 0,
        }
    );
    let mut ids: Vec<Uuid> = archived.iter().map(|a| a.identity.id).collect();
    ids.sort();
    let mut expected = vec![idle.id(), claimed];
    expected.sort();
    assert_eq!(ids, expected);
    let idle_archive = archived
        .iter()
        .find(|a| a.identity.id == idle.id())
        .unwrap();
    let shape: Vec<(Uuid, Vec<i64>)> = idle_archive
        .conversations
        .iter()
        .map(|c| {
            (
                c.conversation.id,
                c.messages.iter().map(|m| m.seq).collect(),
            )
        })
        .collect();
    assert_eq!(shape, vec![(c1, vec![1, 2]), (c2, vec![1])]);
    assert_eq!(
        idle_archive.conversations[0].messages[1].content,
        "Very well."
    );

    assert!(store.get_conversation(idle, c1).await.unwrap().is_none());
    assert!(store.list_messages(c1).await.unwrap().is_empty());
    assert!(store.find_anonymous(idle.id()).await.unwrap().is_none());
    assert!(store.find_anonymous(claimed).await.unwrap().is_none());
    for (owner, id) in [
        (resumed, r1),
        (resumed, r2),
        (recent, r3),
        (user, u1),
        (user, k1),
    ] {
        assert!(
            store.get_conversation(owner, id).await.unwrap().is_some(),
            "{id} kept"
        );
    }
    assert_eq!(
        raw_i64(&ctx, "SELECT count(*) FROM conversation_metrics").await,
        0,
        "the pruned conversation's metrics went with it; the others have no finished turn"
    );
    let again = store
        .prune_anonymous_batch(cutoff, 100, NO_ARCHIVE)
        .await
        .unwrap();
    assert_eq!(again, Pruned::default());
}

/// `retention::prune` goes on batch after batch until nothing idle is left, appends each
/// batch to the archive file as JSON Lines, and deletes expired sessions (not live ones).
async fn prune_runs_archive_every_batch_and_end_expired_sessions(ctx: Ctx) {
    let store = &ctx.store;
    let n = fpl_chat::retention::BATCH as usize + 3;
    let mut conversations = Vec::new();
    for i in 0..n {
        let id = Uuid::new_v4();
        store
            .begin_turn(turn_starting(
                Owner::Anonymous(Uuid::new_v4()),
                id,
                &format!("q{i}"),
            ))
            .await
            .unwrap();
        conversations.push(id);
    }
    let keep = Uuid::new_v4();
    store
        .begin_turn(turn_starting(
            Owner::Anonymous(keep),
            Uuid::new_v4(),
            "today",
        ))
        .await
        .unwrap();
    age_all_but(&ctx, keep, 31).await;
    let user = new_user(store, "sessions@example.com").await.id;
    let (ended, live) = (Uuid::new_v4(), Uuid::new_v4());
    let now = chrono::Utc::now();
    store
        .create_session(ended, user, now - chrono::Duration::minutes(1))
        .await
        .unwrap();
    store
        .create_session(live, user, now + chrono::Duration::days(1))
        .await
        .unwrap();

    let dir = std::env::temp_dir().join(format!("fplchat-archive-{}", Uuid::new_v4()));
    let mut file = fpl_chat::retention::ArchiveFile::create(&dir).unwrap();
    let pruned = fpl_chat::retention::prune(
        store,
        Some(Duration::from_secs(30 * 86_400)),
        Some(&mut file),
    )
    .await
    .unwrap();
    assert_eq!(
        pruned,
        Pruned {
            anonymous_identities: n as u64,
            conversations: n as u64,
            messages: n as u64,
            sessions: 1,
            deleted_conversations: 0,
        }
    );
    let text = std::fs::read_to_string(file.path()).unwrap();
    let lines: Vec<ArchivedIdentity> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), n);
    let mut archived: Vec<Uuid> = lines
        .iter()
        .flat_map(|a| a.conversations.iter().map(|c| c.conversation.id))
        .collect();
    archived.sort();
    conversations.sort();
    assert_eq!(archived, conversations);
    assert!(store.find_anonymous(keep).await.unwrap().is_some());
    assert!(store.session_user(live).await.unwrap().is_some());
    assert_eq!(
        raw_i64(&ctx, "SELECT count(*) FROM sessions").await,
        1,
        "the expired session is gone"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `backup_into` on SQLite: a copy taken while turns are being written opens as a database in
/// which the account is there and every conversation is whole (its messages are 1..=last_seq);
/// a missing directory is made; an existing file is never overwritten. PostgreSQL is pointed
/// to pg_dump.
async fn backup_is_a_whole_copy_taken_while_turns_are_written(ctx: Ctx) {
    let store = &ctx.store;
    let dir = std::env::temp_dir().join(format!("fplchat-backup-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    // In a directory that does not exist yet: the backup makes it.
    let out = dir.join("backups").join("backup.db");
    if ctx.backend == Backend::Postgres {
        let refused = store.backup_into(&out).await;
        assert!(
            matches!(&refused, Err(StoreError::Invalid(m)) if m.contains("pg_dump")),
            "{refused:?}"
        );
        assert!(!out.exists());
        std::fs::remove_dir_all(&dir).unwrap();
        return;
    }
    let user = Owner::User(new_user(store, "backup@example.com").await.id);
    let writer = tokio::spawn({
        let store = store.clone();
        async move {
            for i in 0..60 {
                let id = Uuid::new_v4();
                store
                    .begin_turn(turn_starting(user, id, &format!("question {i}")))
                    .await
                    .unwrap();
                store
                    .finish_turn(id, assistant("an answer", 2, 1, Some(5)))
                    .await
                    .unwrap();
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let bytes = store.backup_into(&out).await.unwrap();
    writer.await.unwrap();
    assert_eq!(bytes, std::fs::metadata(&out).unwrap().len());
    let again = store.backup_into(&out).await;
    assert!(matches!(again, Err(StoreError::Invalid(_))), "{again:?}");
    assert_eq!(
        std::fs::metadata(&out).unwrap().len(),
        bytes,
        "the first copy stands"
    );

    let copy = Store::connect(&format!("sqlite://{}", out.display()))
        .await
        .unwrap();
    copy.migrate().await.unwrap();
    assert!(copy
        .find_user_by_email(&email("backup@example.com"))
        .await
        .unwrap()
        .is_some());
    let listed = copy.list_conversations(user, 1000).await.unwrap();
    for c in &listed {
        let conversation = copy.get_conversation(user, c.id).await.unwrap().unwrap();
        let seqs: Vec<i64> = copy
            .list_messages(c.id)
            .await
            .unwrap()
            .iter()
            .map(|m| m.seq)
            .collect();
        assert_eq!(seqs, (1..=conversation.last_seq).collect::<Vec<_>>());
    }
    println!(
        "backup taken during the writes holds {} of 60 conversations",
        listed.len()
    );
    copy.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Delete with undo: a deleted conversation is missing everywhere at once (reads, the list,
/// renames, new turns, its share link), comes back whole when restored, and is purged with its
/// messages only once the cutoff passes its deletion.
async fn deleted_conversations_can_be_restored_until_purged(ctx: Ctx) {
    let store = &ctx.store;
    let owner = Owner::Anonymous(Uuid::new_v4());
    let other = Owner::Anonymous(Uuid::new_v4());
    let id = Uuid::new_v4();
    store
        .begin_turn(turn_starting(owner, id, "Haaland?"))
        .await
        .unwrap();
    store
        .finish_turn(id, assistant("Haaland has 14 goals.", 5, 0, Some(10)))
        .await
        .unwrap();
    let token = store
        .share_conversation(owner, id)
        .await
        .unwrap()
        .unwrap()
        .token;

    assert!(!store.delete_conversation(other, id).await.unwrap());
    assert!(store.delete_conversation(owner, id).await.unwrap());
    assert!(
        !store.delete_conversation(owner, id).await.unwrap(),
        "already deleted"
    );
    assert_eq!(store.get_conversation(owner, id).await.unwrap(), None);
    assert!(store
        .list_conversations(owner, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(!store
        .rename_conversation(owner, id, &title("New"))
        .await
        .unwrap());
    assert_eq!(store.shared(&token).await.unwrap(), None);
    let query = SearchQuery::parse("haaland").unwrap();
    assert!(store.search(owner, &query).await.unwrap().is_empty());
    let err = store
        .begin_turn(turn_in(owner, id, "and Salah?"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    // Purging what was deleted before an earlier cutoff leaves it restorable.
    let earlier = chrono::Utc::now() - chrono::Duration::seconds(60);
    assert_eq!(store.purge_deleted(earlier).await.unwrap(), 0);
    assert!(!store.restore_conversation(other, id).await.unwrap());
    assert!(store.restore_conversation(owner, id).await.unwrap());
    assert!(
        !store.restore_conversation(owner, id).await.unwrap(),
        "not deleted"
    );
    let back = store.get_conversation(owner, id).await.unwrap().unwrap();
    assert_eq!(back.title.as_str(), "Haaland?");
    assert_eq!(store.list_messages(id).await.unwrap().len(), 2);
    assert!(store.shared(&token).await.unwrap().is_some());
    store
        .begin_turn(turn_in(owner, id, "and Salah?"))
        .await
        .unwrap();

    assert!(store.delete_conversation(owner, id).await.unwrap());
    let later = chrono::Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(store.purge_deleted(later).await.unwrap(), 1);
    assert!(!store.restore_conversation(owner, id).await.unwrap());
    assert!(store.list_messages(id).await.unwrap().is_empty());
    assert_eq!(raw_i64(&ctx, "SELECT count(*) FROM shares").await, 0);
}

/// Search: words in titles and in message text (stemmed, as word starts), only the owner's
/// live conversations, newest first, with a snippet from the newest matching message; what
/// the user types never reaches the query language.
async fn search_finds_the_owners_titles_and_messages(ctx: Ctx) {
    let store = &ctx.store;
    let owner = Owner::User(new_user(store, "search@example.com").await.id);
    let other = Owner::Anonymous(Uuid::new_v4());
    let mut ids = Vec::new();
    for (who, question, answer) in [
        (
            owner,
            "Captain pick for gameweek 12",
            "Haaland scored two goals at home.",
        ),
        (
            owner,
            "Cheap defenders",
            "Gabriel costs £6.1m and has 3 goals.",
        ),
        (owner, "Who to captain?", "Both are premium picks."),
        (
            other,
            "Haaland for the other owner",
            "Haaland scored a goal.",
        ),
    ] {
        let id = Uuid::new_v4();
        store
            .begin_turn(turn_starting(who, id, question))
            .await
            .unwrap();
        store
            .finish_turn(id, assistant(answer, 5, 0, Some(10)))
            .await
            .unwrap();
        ids.push(id);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let search = |q: &str| {
        let q = SearchQuery::parse(q).unwrap();
        async move { store.search(owner, &q).await.unwrap() }
    };
    let ids_of =
        |hits: &[fpl_chat::store::SearchHit]| hits.iter().map(|h| h.id).collect::<Vec<_>>();

    // A title match (newest) and a message match; never the other owner's.
    assert!(store
        .rename_conversation(owner, ids[2], &title("Haaland or Salah"))
        .await
        .unwrap());
    let hits = search("haaland").await;
    assert_eq!(ids_of(&hits), vec![ids[2], ids[0]]);
    assert_eq!(hits[0].snippet, None, "title only");
    assert_eq!(
        hits[1].snippet.as_deref(),
        Some("Haaland scored two goals at home.")
    );
    // Stems and prefixes: "goal" is in "goals"; "haal" starts "Haaland".
    assert_eq!(ids_of(&search("goal").await), vec![ids[1], ids[0]]);
    assert_eq!(ids_of(&search("HAAL goals").await), vec![ids[0]]);
    // Every word must be there.
    assert!(search("haaland gabriel").await.is_empty());
    // Query syntax is only words: quotes, operators and columns find nothing special.
    for hostile in [
        r#"" OR 1=1 --"#,
        "content:haaland",
        "haaland*",
        "NEAR(haaland home)",
    ] {
        let q = SearchQuery::parse(hostile).unwrap();
        store.search(owner, &q).await.unwrap();
    }
    assert_eq!(ids_of(&search("haaland*").await), vec![ids[2], ids[0]]);
    // Renamed titles are searched; deleted conversations are not.
    assert!(store
        .rename_conversation(owner, ids[1], &title("Budget defenders"))
        .await
        .unwrap());
    assert_eq!(ids_of(&search("budget").await), vec![ids[1]]);
    assert!(store.delete_conversation(owner, ids[0]).await.unwrap());
    assert_eq!(ids_of(&search("haaland").await), vec![ids[2]]);
}

/// Share links: an unguessable token showing the conversation through the newest message
/// when it was made (later turns are not shown until it is shared again, which keeps the
/// token), only the owner makes or revokes it, and a revoked token shows nothing.
async fn share_links_show_a_snapshot_until_revoked(ctx: Ctx) {
    let store = &ctx.store;
    let owner = Owner::Anonymous(Uuid::new_v4());
    let other = Owner::Anonymous(Uuid::new_v4());
    let id = Uuid::new_v4();
    store
        .begin_turn(turn_starting(owner, id, "Haaland?"))
        .await
        .unwrap();
    store
        .finish_turn(id, assistant("14 goals.", 5, 1, Some(10)))
        .await
        .unwrap();

    assert_eq!(store.share_conversation(other, id).await.unwrap(), None);
    assert_eq!(store.share_of(owner, id).await.unwrap(), None);
    let share = store.share_conversation(owner, id).await.unwrap().unwrap();
    assert_eq!(share.token.as_str().len(), ShareToken::LEN);
    assert_eq!(
        ShareToken::parse(share.token.as_str()),
        Some(share.token.clone())
    );
    assert_eq!(share.through_seq, 2);
    assert_eq!(
        store.share_of(owner, id).await.unwrap(),
        Some(share.clone())
    );
    assert_eq!(store.share_of(other, id).await.unwrap(), None);

    store
        .begin_turn(turn_in(owner, id, "And Salah?"))
        .await
        .unwrap();
    let shown = store.shared(&share.token).await.unwrap().unwrap();
    assert_eq!(shown.title, "Haaland?");
    let contents: Vec<_> = shown.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(contents, ["Haaland?", "14 goals."]);
    assert_eq!(shown.messages[1].tool_calls.as_array().unwrap().len(), 1);

    let again = store.share_conversation(owner, id).await.unwrap().unwrap();
    assert_eq!(again.token, share.token);
    assert_eq!(again.through_seq, 3);
    assert_eq!(
        store
            .shared(&share.token)
            .await
            .unwrap()
            .unwrap()
            .messages
            .len(),
        3
    );

    assert!(!store.revoke_share(other, id).await.unwrap());
    assert!(store.revoke_share(owner, id).await.unwrap());
    assert!(!store.revoke_share(owner, id).await.unwrap());
    assert_eq!(store.shared(&share.token).await.unwrap(), None);
    let fresh = store.share_conversation(owner, id).await.unwrap().unwrap();
    assert_ne!(fresh.token, share.token, "a new link after a revoke");
    assert_eq!(
        store.shared(&ShareToken::generate()).await.unwrap(),
        None,
        "an unknown token"
    );
    for bad in [
        "",
        "short",
        &"a".repeat(33),
        &format!("{}/", "a".repeat(31)),
    ] {
        assert_eq!(ShareToken::parse(bad), None, "{bad:?}");
    }
}

/// Versions: a regenerated answer and an edited question are siblings of the old ones; the
/// branch shown moves to them, the old ones are one `show_version` away (with what followed
/// them), a question is counted in the metrics with its first answer only, and share links
/// show the branch they were made on.
async fn regenerated_answers_and_edited_questions_are_versions(ctx: Ctx) {
    let store = &ctx.store;
    let owner = Owner::Anonymous(Uuid::new_v4());
    let id = Uuid::new_v4();
    let q1 = store
        .begin_turn(turn_starting(owner, id, "Haaland?"))
        .await
        .unwrap()
        .question;
    assert_eq!(q1.parent_seq, None);
    let a1 = store
        .finish_turn(id, assistant("14 goals.", 5, 0, Some(10)))
        .await
        .unwrap();
    assert_eq!(
        a1.parent_seq,
        Some(q1.seq),
        "an answer follows the leaf by default"
    );
    let q2 = store
        .begin_turn(turn_in(owner, id, "His price?"))
        .await
        .unwrap()
        .question;
    assert_eq!(q2.parent_seq, Some(a1.seq));
    store
        .finish_turn(id, assistant("£14.5m.", 3, 0, Some(10)))
        .await
        .unwrap();
    let shown = || async move {
        let leaf = store
            .get_conversation(owner, id)
            .await
            .unwrap()
            .unwrap()
            .leaf_seq;
        let all = store.list_messages(id).await.unwrap();
        let branch: Vec<(String, Option<(u32, u32)>)> = thread::branch(&all, leaf)
            .into_iter()
            .map(|(m, v)| (m.content.clone(), v.map(|v| (v.number, v.count))))
            .collect();
        branch
    };

    // Regenerate the first answer: its question becomes the leaf, then the new answer.
    assert!(store.resume_at(owner, id, q1.seq).await.unwrap());
    assert!(!store
        .resume_at(Owner::Anonymous(Uuid::new_v4()), id, q1.seq)
        .await
        .unwrap());
    let mut again = assistant("15 goals.", 5, 0, Some(10));
    again.parent_seq = Some(q1.seq);
    let a1b = store.finish_turn(id, again).await.unwrap();
    assert_eq!(
        shown().await,
        [
            ("Haaland?".into(), None),
            ("15 goals.".into(), Some((2, 2)))
        ]
    );
    let metrics = store.metrics(id).await.unwrap().unwrap();
    assert_eq!(
        metrics.message_count, 5,
        "the question is not counted twice"
    );

    // Back to the first answer: with the follow-up it had.
    assert!(store.show_version(owner, id, a1.id).await.unwrap());
    assert_eq!(
        shown().await,
        [
            ("Haaland?".into(), None),
            ("14 goals.".into(), Some((1, 2))),
            ("His price?".into(), None),
            ("£14.5m.".into(), None),
        ]
    );
    let other = Owner::Anonymous(Uuid::new_v4());
    assert!(!store.show_version(other, id, a1b.id).await.unwrap());
    assert!(!store.show_version(owner, id, Uuid::new_v4()).await.unwrap());

    // Edit the first question: a new first question, and its answer.
    let edit = TurnStart {
        after: Some(0),
        ..turn_in(owner, id, "Salah?")
    };
    let q1b = store.begin_turn(edit).await.unwrap().question;
    assert_eq!(q1b.parent_seq, None);
    store
        .finish_turn(id, assistant("9 goals.", 3, 0, Some(10)))
        .await
        .unwrap();
    assert_eq!(
        shown().await,
        [("Salah?".into(), Some((2, 2))), ("9 goals.".into(), None)]
    );
    let share = store.share_conversation(owner, id).await.unwrap().unwrap();
    let shared = store.shared(&share.token).await.unwrap().unwrap();
    let contents: Vec<_> = shared.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(contents, ["Salah?", "9 goals."]);
    let branch = store.branch_messages(id, a1b.seq).await.unwrap();
    let contents: Vec<_> = branch.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(contents, ["Haaland?", "15 goals."]);

    // An answer written while the user moved to another branch does not move it back.
    store
        .begin_turn(turn_in(owner, id, "And Palmer?"))
        .await
        .unwrap();
    assert!(store.show_version(owner, id, q1.id).await.unwrap());
    let leaf = store
        .get_conversation(owner, id)
        .await
        .unwrap()
        .unwrap()
        .leaf_seq;
    store
        .finish_turn(id, {
            let mut late = assistant("Injured.", 2, 0, Some(10));
            late.parent_seq = Some(q1b.seq + 2);
            late
        })
        .await
        .unwrap();
    let after = store
        .get_conversation(owner, id)
        .await
        .unwrap()
        .unwrap()
        .leaf_seq;
    assert_eq!(after, leaf);
}
