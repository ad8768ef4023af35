//! The layered cache suite, on Redis (two handles on one prefix standing for two instances)
//! and in process; each Redis test runs on a single node (`node::…`) and on a Redis Cluster
//! (`cluster::…`, see `fpl_chat::testkit::redis`).
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fpl_chat::cache::{Cache, Layered};
use fpl_chat::metrics::Metrics;
use fpl_chat::testkit::redis::client;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Note(String);
fpl_chat::json_codec!(Note);

/// How each "instance" of a test gets its cache.
#[derive(Clone)]
enum Setup {
    Redis { url: String, prefix: String },
    Local,
}

impl Setup {
    /// Redis at `url` under a fresh prefix, and the process alone.
    fn all(url: &str) -> [Setup; 2] {
        let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
        let url = url.to_string();
        [Setup::Redis { url, prefix }, Setup::Local]
    }

    fn instance(&self) -> (Cache, Arc<Metrics>) {
        let metrics = Arc::new(Metrics::new());
        let cache = match self {
            Setup::Redis { url, prefix } => Cache::new(Some(client(url)), prefix, metrics.clone()),
            Setup::Local => Cache::new(None, "", metrics.clone()),
        };
        (cache, metrics)
    }

    fn notes(&self) -> (Layered<Note>, Arc<Metrics>) {
        let (cache, metrics) = self.instance();
        (
            cache.layered("notes", 100, Duration::from_secs(600)),
            metrics,
        )
    }

    fn shared(&self) -> bool {
        matches!(self, Setup::Redis { .. })
    }
}

fn note(s: &str) -> Note {
    Note(s.to_string())
}

fpl_chat::redis_tests!(
    values_round_trip_in_batches_and_expire,
    a_local_copy_never_outlives_the_redis_entry,
    patterns_invalidate_exactly_the_matching_keys_in_both_layers,
    concurrent_misses_load_once_and_failures_are_not_cached,
    stats_list_what_redis_holds_and_every_instance_hits,
    the_cli_shows_and_clears_the_shared_cache,
    conversation_heads_only_move_forward_and_answer_only_their_owner,
);

fn keys(k: &[&str]) -> Vec<String> {
    k.iter().map(|s| s.to_string()).collect()
}

fn values(found: Vec<Option<Arc<Note>>>) -> Vec<Option<String>> {
    found.into_iter().map(|v| v.map(|n| n.0.clone())).collect()
}

fn counter(metrics: &Metrics, layer: &str, result: &str) -> u64 {
    let needle =
        format!(r#"cache_requests_total{{cache="notes",layer="{layer}",result="{result}"}} "#);
    metrics
        .encode_prometheus()
        .lines()
        .find_map(|l| l.strip_prefix(&needle).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

async fn values_round_trip_in_batches_and_expire(url: String) {
    for setup in Setup::all(&url) {
        let (notes, _) = setup.notes();
        notes
            .set_many(&[
                (
                    "a:1".into(),
                    Arc::new(note("one")),
                    Duration::from_millis(400),
                ),
                ("a:2".into(), Arc::new(note("two")), Duration::from_secs(60)),
            ])
            .await;
        assert_eq!(
            values(notes.get_many(&keys(&["a:1", "a:3", "a:2"])).await),
            [Some("one".into()), None, Some("two".into())]
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(notes.get("a:1").await, None, "expired");
        // Another instance reads the same entry from Redis, in one batch with a miss.
        let (other, metrics) = setup.notes();
        let found = values(other.get_many(&keys(&["a:1", "a:2"])).await);
        if setup.shared() {
            assert_eq!(found, [None, Some("two".into())]);
            assert_eq!(counter(&metrics, "redis", "hit"), 1);
            assert_eq!(counter(&metrics, "redis", "miss"), 1);
            // Now it is in that instance's process.
            assert!(other.get("a:2").await.is_some());
            assert_eq!(counter(&metrics, "memory", "hit"), 1);
        } else {
            assert_eq!(found, [None, None], "nothing is shared without Redis");
        }
    }
}

async fn a_local_copy_never_outlives_the_redis_entry(url: String) {
    let [setup, _] = Setup::all(&url);
    let (writer, _) = setup.notes();
    writer
        .set("k:1", note("v"), Duration::from_millis(600))
        .await;
    // The reader keeps values ten minutes, but this one only until Redis drops it.
    let (reader, _) = setup.notes();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(reader.get("k:1").await.is_some());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(reader.peek("k:1").is_none());
    assert!(reader.get("k:1").await.is_none());
}

async fn patterns_invalidate_exactly_the_matching_keys_in_both_layers(url: String) {
    for setup in Setup::all(&url) {
        let (notes, _) = setup.notes();
        let ttl = Duration::from_secs(60);
        for k in [
            "fpl:bootstrap",
            "fpl:es:1",
            "fpl:es:2",
            "fplx:1",
            "context:1",
        ] {
            notes.set(k, note(k), ttl).await;
        }
        let deleted = notes.invalidate_pattern("fpl:es:*").await.unwrap();
        assert_eq!(deleted, 2);
        let (other, _) = setup.notes();
        for reader in [&notes, &other] {
            let found = values(
                reader
                    .get_many(&keys(&["fpl:es:1", "fpl:es:2", "fpl:bootstrap", "fplx:1"]))
                    .await,
            );
            assert_eq!(found[..2], [None, None]);
            if setup.shared() || std::ptr::eq(reader, &notes) {
                assert_eq!(
                    found[2..],
                    [Some("fpl:bootstrap".into()), Some("fplx:1".into())]
                );
            }
        }
        notes.invalidate("context:1").await;
        assert!(other.get("context:1").await.is_none());
        assert!(notes.get("context:1").await.is_none());
        assert_eq!(notes.invalidate_pattern("fpl:*").await.unwrap(), 1);
        assert!(
            notes.get("fplx:1").await.is_some(),
            "fplx is not under fpl:"
        );
        let refused = notes.invalidate_pattern("fpl").await.unwrap_err();
        assert!(refused.contains("prefix:*"), "{refused}");
    }
}

async fn concurrent_misses_load_once_and_failures_are_not_cached(url: String) {
    for setup in Setup::all(&url) {
        let (notes, _) = setup.notes();
        let notes = Arc::new(notes);
        let loads = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (notes, loads) = (notes.clone(), loads.clone());
            tasks.push(tokio::spawn(async move {
                notes
                    .get_or_load(
                        "slow:1",
                        |_| Duration::from_secs(60),
                        || async {
                            loads.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok::<_, String>(note("loaded"))
                        },
                    )
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap().0, "loaded");
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);

        let failed = notes
            .get_or_load(
                "bad:1",
                |_| Duration::from_secs(60),
                || async { Err::<Note, _>("upstream down") },
            )
            .await;
        assert_eq!(failed.unwrap_err(), "upstream down");
        let (other, _) = setup.notes();
        assert!(other.get("bad:1").await.is_none());
        let again = notes
            .get_or_load(
                "bad:1",
                |_| Duration::from_secs(60),
                || async { Ok::<_, String>(note("back")) },
            )
            .await;
        assert_eq!(again.unwrap().0, "back", "the failure was not remembered");
    }
}

#[tokio::test]
async fn a_dead_redis_leaves_the_process_layer_working() {
    let metrics = Arc::new(Metrics::new());
    // Nothing listens on port 1.
    let cache = Cache::new(
        Some(client("redis://127.0.0.1:1")),
        "dead:",
        metrics.clone(),
    );
    let notes: Layered<Note> = cache.layered("notes", 10, Duration::from_secs(60));
    notes
        .set("x:1", note("kept"), Duration::from_secs(60))
        .await;
    assert_eq!(notes.get("x:1").await.unwrap().0, "kept");
    assert!(notes.get("x:2").await.is_none());
    assert!(
        counter(&metrics, "redis", "error") >= 2,
        "{}",
        metrics.encode_prometheus()
    );
    assert!(cache.stats().await.unwrap().is_err());
}

async fn stats_list_what_redis_holds_and_every_instance_hits(url: String) {
    let [setup, _] = Setup::all(&url);
    let (cache, _) = setup.instance();
    let notes: Layered<Note> = cache.layered("notes", 10, Duration::from_secs(60));
    for k in ["fpl:es:1", "fpl:es:2", "fpl:bootstrap"] {
        notes
            .set(k, note("0123456789"), Duration::from_secs(60))
            .await;
    }
    let (reader, _) = setup.notes();
    reader.get_many(&keys(&["fpl:es:1", "fpl:none"])).await;
    // The shared counters are written beside the read.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stats = cache.stats().await.unwrap().unwrap();
    let fpl = stats.indexes.iter().find(|i| i.pattern == "fpl:*").unwrap();
    assert_eq!((fpl.entries, fpl.bytes), (3, 3 * 12));
    let es = stats
        .indexes
        .iter()
        .find(|i| i.pattern == "fpl:es:*")
        .unwrap();
    assert_eq!(es.entries, 2);
    let (_, hits) = stats.hits.iter().find(|(n, _)| n == "notes").unwrap();
    assert_eq!((hits.hits, hits.misses), (1, 1));
    assert!(Cache::local().stats().await.is_none());
}

async fn cli(args: &[&str], vars: &[(&str, &str)]) -> (bool, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_fpl-chat"))
        .args(args)
        .env_clear()
        .envs(vars.iter().copied())
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn the_cli_shows_and_clears_the_shared_cache(url: String) {
    let [setup, _] = Setup::all(&url);
    let Setup::Redis { prefix, .. } = &setup else {
        unreachable!()
    };
    let (notes, _) = setup.notes();
    for k in ["fpl:es:1", "fpl:es:2", "fpl:bootstrap"] {
        notes.set(k, note("v"), Duration::from_secs(60)).await;
    }
    let vars = [
        ("REDIS_URL", url.as_str()),
        ("REDIS_PREFIX", prefix.as_str()),
    ];
    let (ok, stats) = cli(&["cache", "stats"], &vars).await;
    assert!(ok, "{stats}");
    let row = |text: &str, pattern: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(pattern))
            .map(|l| l.split_whitespace().nth(1).unwrap().to_string())
    };
    assert_eq!(row(&stats, "fpl:*").as_deref(), Some("3"), "{stats}");
    assert_eq!(row(&stats, "fpl:es:*").as_deref(), Some("2"), "{stats}");

    let (ok, cleared) = cli(&["cache", "clear", "fpl:es:*"], &vars).await;
    assert!(
        ok && cleared.contains("2 entries matching fpl:es:* deleted"),
        "{cleared}"
    );
    let (_, stats) = cli(&["cache", "stats"], &vars).await;
    assert_eq!(row(&stats, "fpl:es:*"), None, "{stats}");
    assert_eq!(row(&stats, "fpl:*").as_deref(), Some("1"), "{stats}");

    let (ok, refused) = cli(&["cache", "clear", "fpl"], &vars).await;
    assert!(!ok && refused.contains("prefix:*"), "{refused}");
    let (ok, local) = cli(&["cache", "stats"], &[]).await;
    assert!(ok && local.contains("REDIS_URL is not set"), "{local}");
}

/// Two instances write a conversation's head in the wrong order (the slower one's turn is the
/// older): the newest stays. A head answers its owner only, and is gone once forgotten.
async fn conversation_heads_only_move_forward_and_answer_only_their_owner(url: String) {
    use app::types::Owner;
    use fpl_chat::context::head::{Head, Heads};
    let [shared, _] = Setup::all(&url);
    let (cache, metrics) = shared.instance();
    let (one, two) = (
        Heads::new(&cache, metrics.clone()),
        Heads::new(&cache, metrics),
    );
    let (id, owner) = (uuid::Uuid::new_v4(), Owner::Anonymous(uuid::Uuid::new_v4()));
    let head = |leaf_seq, summarized_through| Head {
        id,
        owner,
        leaf_seq,
        summarized_through,
    };
    assert_eq!(one.get(owner, id).await, None, "none yet");
    one.set(head(4, 0)).await;
    two.set(head(2, 0)).await;
    assert_eq!(two.get(owner, id).await, Some(head(4, 0)), "not moved back");
    two.set(head(6, 3)).await;
    assert_eq!(one.get(owner, id).await, Some(head(6, 3)));
    // The same seq read again from the database (here: claimed by an account).
    let account = Owner::User(uuid::Uuid::new_v4());
    one.set(Head {
        owner: account,
        ..head(6, 3)
    })
    .await;
    assert_eq!(
        one.get(owner, id).await,
        None,
        "not the identity's any more"
    );
    assert_eq!(one.get(account, id).await.map(|h| h.owner), Some(account));
    two.forget(id).await;
    assert_eq!(one.get(account, id).await, None, "forgotten");
}
