//! Scenarios: what one measured run does, and the presets of issue 12 with their budgets.
use serde::Serialize;

use crate::budget::Budget;
use crate::cli::{Args, Db, Preset};
use crate::faults::{self, Fault};

/// One scenario, run `--repeat` times.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// Its name in the report and the JSON line (`ttft-50-sqlite`).
    pub name: String,
    pub db: Db,
    /// Users at once, each its own identity.
    pub users: usize,
    /// Turns per user (ignored when `minutes` is set).
    pub turns: usize,
    /// Turns per conversation before a user starts a new one.
    pub conversation_turns: usize,
    /// Text pieces of the stand-in's answer.
    pub upstream_tokens: usize,
    /// Pause before each of the stand-in's events.
    pub upstream_pace_ms: u64,
    /// A run of this many minutes (every user sends turns until then) instead of `turns`.
    pub minutes: Option<f64>,
    /// The stand-in answers every request with this API error status instead (529 storm).
    pub upstream_status: Option<u16>,
    /// What goes wrong during the run (fault scenarios: no direct client, their own checks).
    pub fault: Option<Fault>,
    /// What the issue asks of this scenario.
    #[serde(skip)]
    pub budgets: Vec<Budget>,
}

/// The scenarios the command line asks for, in order.
pub fn from_args(args: &Args) -> Vec<Scenario> {
    let mut list = Vec::new();
    if args.presets.is_empty() {
        list.push(custom(args.db.unwrap_or(Db::Sqlite)));
    }
    for preset in &args.presets {
        list.extend(preset_scenarios(*preset, args.short, args.db));
    }
    for s in &mut list {
        overrides(s, args);
    }
    list
}

fn custom(db: Db) -> Scenario {
    Scenario {
        name: format!("custom-{}", db_key(db)),
        db,
        users: 10,
        turns: 5,
        conversation_turns: 5,
        upstream_tokens: 2,
        upstream_pace_ms: 0,
        minutes: None,
        upstream_status: None,
        fault: None,
        budgets: Vec::new(),
    }
}

fn overrides(s: &mut Scenario, args: &Args) {
    s.users = args.users.unwrap_or(s.users).max(1);
    s.turns = args.turns.unwrap_or(s.turns).max(1);
    s.conversation_turns = args
        .conversation_turns
        .unwrap_or(s.conversation_turns)
        .max(1);
    s.upstream_tokens = args.upstream_tokens.unwrap_or(s.upstream_tokens).max(1);
    s.upstream_pace_ms = args.upstream_pace_ms.unwrap_or(s.upstream_pace_ms);
    if args.minutes.is_some() {
        s.minutes = args.minutes;
    }
}

fn db_key(db: Db) -> &'static str {
    match db {
        Db::Sqlite => "sqlite",
        Db::Postgres => "postgres",
    }
}

fn preset_scenarios(preset: Preset, short: bool, db: Option<Db>) -> Vec<Scenario> {
    if preset == Preset::Faults {
        return faults::scenarios(short);
    }
    let dbs = match (preset, db) {
        (_, Some(db)) => vec![db],
        (Preset::Ttft, None) => vec![Db::Sqlite, Db::Postgres],
        (_, None) => vec![Db::Sqlite],
    };
    dbs.into_iter()
        .flat_map(|db| match preset {
            Preset::Ttft => vec![ttft_one(db, short), ttft_many(db, short)],
            Preset::Burst => vec![burst(db, short)],
            Preset::Throughput => vec![throughput(db, short)],
            Preset::Soak => vec![soak(db, short)],
            Preset::Faults => Vec::new(),
        })
        .collect()
}

pub fn base(name: &str, db: Db, users: usize, turns: usize) -> Scenario {
    Scenario {
        name: format!("{name}-{}", db_key(db)),
        users,
        turns,
        ..custom(db)
    }
}

/// 1 user: added time to first token ≤ 1 ms p50.
fn ttft_one(db: Db, short: bool) -> Scenario {
    let turns = if short { 50 } else { 200 };
    Scenario {
        budgets: vec![Budget::at_most("added_ttft_p50_ms", 1.0)],
        ..base("ttft-1", db, 1, turns)
    }
}

/// 50 users at once (20 in the short form): added time to first token ≤ 25 ms p99.
fn ttft_many(db: Db, short: bool) -> Scenario {
    let (users, turns) = if short { (20, 3) } else { (50, 6) };
    Scenario {
        budgets: vec![Budget::at_most("added_ttft_p99_ms", 25.0)],
        ..base(&format!("ttft-{users}"), db, users, turns)
    }
}

/// 1,000 users starting at once (200 short), 50 tokens 20 ms apart: every one streaming from
/// the upstream within 1 s of its request (p99), ≤ 64 KiB RSS per active stream, none failed.
fn burst(db: Db, short: bool) -> Scenario {
    let users = if short { 200 } else { 1000 };
    Scenario {
        upstream_tokens: 50,
        upstream_pace_ms: 20,
        budgets: vec![
            Budget::at_most("upstream_seen_p99_ms", 1000.0),
            Budget::at_most("rss_per_stream_kib", 64.0),
            Budget::at_most("turns_failed", 0.0),
        ],
        ..base(&format!("burst-{users}"), db, users, 1)
    }
}

/// Persisted turns/s, upstream answering at once: ≥ 600 on SQLite.
fn throughput(db: Db, short: bool) -> Scenario {
    let (users, turns) = if short { (20, 10) } else { (50, 20) };
    Scenario {
        budgets: vec![
            Budget::at_least("turns_per_s", 600.0),
            Budget::at_most("turns_failed", 0.0),
        ],
        ..base("throughput", db, users, turns)
    }
}

/// 20 users chatting for 10 minutes (1 short), 50 tokens 20 ms apart: RSS and open files
/// flat (±10 %) from the end of the warm-up to the end.
fn soak(db: Db, short: bool) -> Scenario {
    Scenario {
        upstream_tokens: 50,
        upstream_pace_ms: 20,
        minutes: Some(if short { 1.0 } else { 10.0 }),
        budgets: vec![
            Budget::within("rss_change_pct", 10.0),
            Budget::within("fds_change_pct", 10.0),
            Budget::at_most("turns_failed", 0.0),
        ],
        ..base("soak", db, 20, 1)
    }
}
