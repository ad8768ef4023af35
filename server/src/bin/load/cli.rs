//! The command line of `scripts/load`: named presets, or one scenario described by flags;
//! flags given with a preset override its values.
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "load",
    about = "Load harness: the release app against the Claude stand-in"
)]
pub struct Args {
    /// Named scenarios; none: one scenario from the flags below.
    #[arg(value_enum)]
    pub presets: Vec<Preset>,
    /// The presets' short forms, for CI (fewer users and turns, a 1-minute soak).
    #[arg(long)]
    pub short: bool,
    /// Exit non-zero (3) when a budget is over.
    #[arg(long)]
    pub check: bool,
    /// Runs per scenario, each on fresh processes and data; the report shows their medians.
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Store(s): `sqlite`, or `postgres` (PostgreSQL + Redis at TEST_DATABASE_URL and
    /// TEST_REDIS_URL). Default: the preset's (`ttft`: both), else sqlite.
    #[arg(long, value_enum)]
    pub db: Option<Db>,
    /// Concurrent users, each with its own identity (cookie).
    #[arg(long)]
    pub users: Option<usize>,
    /// Turns each user sends, one after the other.
    #[arg(long)]
    pub turns: Option<usize>,
    /// Turns per conversation: a new conversation, then follow-ups in it.
    #[arg(long)]
    pub conversation_turns: Option<usize>,
    /// Text pieces (tokens) of the stand-in's answer.
    #[arg(long)]
    pub upstream_tokens: Option<usize>,
    /// Milliseconds between the stand-in's events.
    #[arg(long)]
    pub upstream_pace_ms: Option<u64>,
    /// Run for this long instead of a number of turns (the soak).
    #[arg(long)]
    pub minutes: Option<f64>,
    /// The release `fpl-chat` binary.
    #[arg(long)]
    pub app_bin: PathBuf,
    /// The `claude-stand-in` binary.
    #[arg(long)]
    pub stand_in_bin: PathBuf,
    /// The offline FPL snapshot the app serves.
    #[arg(long)]
    pub snapshot: PathBuf,
    /// Also append each scenario's JSON line to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// Added time to first token: 1 user and 50 users, on each store.
    Ttft,
    /// 1,000 users starting at once, a 50-token answer 20 ms apart.
    Burst,
    /// Persisted turns/s on SQLite, upstream answering at once.
    Throughput,
    /// A steady moderate load for `--minutes` (default 10): RSS and open files over time.
    Soak,
    /// Faults under load: Redis stopped and back, PostgreSQL restarted, a 529 storm, 200
    /// clients hanging up mid-answer, SIGTERM.
    Faults,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    pub fn label(self) -> &'static str {
        match self {
            Db::Sqlite => "SQLite",
            Db::Postgres => "PostgreSQL + Redis",
        }
    }
}
