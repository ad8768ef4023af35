//! Load harness: assembling a 100k-token conversation's context (budget ≤ 2 ms, no
//! re-tokenizing: docs/testing.md, "Performance budgets").
//!
//! `cargo bench -p fpl-chat --bench context` builds 145 stored turns of about 350 tokens a
//! message, 100k tokens (their counts stored, as the store keeps them), then times, 300 times:
//! - the stored rows → model messages with their counts, within a 150k budget (no compression);
//! - the same within a 60k budget (compression: folding turns into the extractive summary);
//! - the conversation's prepared context from the context cache: from this process, from Redis
//!   (`TEST_REDIS_URL`, default local; skipped when unreachable), and rebuilt from the database
//!   on a miss (SQLite in memory).
//!
//! Prints p50 and p99. Not a test: it asserts nothing.
use std::time::{Duration, Instant};

use fpl_chat::cache::Cache;
use fpl_chat::context::cache::ContextCache;
use fpl_chat::context::compress;
use fpl_chat::context::head::Head;
use fpl_chat::context::summarizer::Extractive;
use fpl_chat::context::{history, tokens};
use fpl_chat::llm::Role as ModelRole;
use fpl_chat::store::{Message, NewMessage, Owner, Role, Store, Title};
use fpl_chat::testkit::message::stored;
use uuid::Uuid;

fn stored_conversation() -> Vec<Message> {
    let conversation_id = Uuid::new_v4();
    let question = "How is Haaland doing this season, and is he worth his price compared with Salah and Palmer? ";
    let answer = "Haaland has 9 goals and 2 assists in 7 gameweeks, 68 points, £14.5m, form 9.7. \
                  Salah has 3 goals, 41 points at £13.0m. Palmer is injured until GW9. ";
    (0..290)
        .map(|i| {
            let (role, content) = if i % 2 == 0 {
                (Role::User, question.repeat(12))
            } else {
                (Role::Assistant, answer.repeat(8))
            };
            Message {
                conversation_id,
                token_count: tokens::count(&content) as i32,
                ..stored(i + 1, (i > 0).then_some(i), role, &content)
            }
        })
        .collect()
}

fn main() {
    tokens::warm_up();
    let stored = stored_conversation();
    let total: i64 = stored.iter().map(|m| i64::from(m.token_count)).sum();
    println!(
        "context assembly, {} stored messages, {total} tokens",
        stored.len()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for (name, budget) in [
        ("fits (150k budget)", 150_000u32),
        ("compressed (60k budget)", 60_000),
    ] {
        let times: Vec<Duration> = (0..300)
            .map(|_| {
                let started = Instant::now();
                let mut context = history::to_context(&stored);
                history::push_text(&mut context, ModelRole::User, "And Saka?".into(), 3);
                let fitted = runtime.block_on(compress::fit(
                    context,
                    None,
                    budget,
                    &tokens::count,
                    &Extractive,
                ));
                std::hint::black_box(&fitted);
                started.elapsed()
            })
            .collect();
        report(name, times);
    }
    runtime.block_on(context_cache(&stored));
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:>24}: p50 {:.3} ms, p99 {:.3} ms",
        ms(times[times.len() / 2]),
        ms(times[times.len() * 99 / 100])
    );
}

/// The prepared context of the same conversation, stored in SQLite, through the context cache.
async fn context_cache(stored: &[Message]) {
    let store = Store::connect("sqlite::memory:").await.expect("sqlite");
    store.migrate().await.expect("migrations");
    let owner = Owner::Anonymous(Uuid::new_v4());
    store.touch_anonymous(owner.id()).await.expect("identity");
    let title = Title::parse("Bench").expect("title");
    let id = store
        .create_conversation(owner, &title)
        .await
        .expect("conversation")
        .id;
    for m in stored {
        let new = match m.role {
            Role::User => NewMessage::user(m.content.clone(), m.token_count),
            Role::Assistant => NewMessage::assistant(m.content.clone(), m.token_count),
        };
        store.append_message(id, new).await.expect("message");
    }
    let conversation = store
        .get_conversation(owner, id)
        .await
        .expect("read")
        .expect("conversation");
    let conversation = Head::from(&conversation);
    let metrics = std::sync::Arc::new(fpl_chat::metrics::Metrics::new());
    let time = |cache: ContextCache| {
        let (store, conversation) = (&store, &conversation);
        async move {
            let mut times = Vec::new();
            for _ in 0..300 {
                let started = Instant::now();
                let prepared = cache.load(store, conversation).await.expect("load");
                std::hint::black_box(fpl_chat::context::cache::Prepared::clone(&prepared));
                times.push(started.elapsed());
            }
            times
        }
    };
    let local = ContextCache::new(&Cache::local(), metrics.clone());
    local.load(&store, &conversation).await.expect("warm");
    report("cache: in process", time(local).await);

    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("bench:{}:", Uuid::new_v4().simple());
    let shared = |local_ttl| {
        let client = fpl_chat::testkit::redis::client(&url);
        let cache = Cache::new(Some(client), &prefix, metrics.clone());
        ContextCache::with_local_ttl(&cache, metrics.clone(), local_ttl)
    };
    let writer = shared(Duration::from_secs(600));
    writer.load(&store, &conversation).await.expect("warm");
    let reader = shared(Duration::ZERO);
    let times = time(reader).await;
    if metrics.encode_prometheus().contains(r#"result="error""#) {
        println!("{:>24}: skipped (Redis unreachable)", "cache: Redis");
    } else {
        report("cache: Redis", times);
    }
    // A miss every time: rebuilt from the database.
    let times = {
        let mut times = Vec::new();
        for _ in 0..100 {
            let cold = ContextCache::new(&Cache::local(), metrics.clone());
            let started = Instant::now();
            std::hint::black_box(cold.load(&store, &conversation).await.expect("load"));
            times.push(started.elapsed());
        }
        times
    };
    report("cache miss: database", times);
}
