//! `load`: the load harness behind `scripts/load` (see README, "Load harness").
//!
//! Starts the release app as its own process (SQLite in a temp dir, or PostgreSQL + Redis on
//! a fresh database and key prefix) in front of the Claude stand-in (`claude-stand-in`, its own
//! process too), drives N users over `POST /api/chat` (each its own cookie, M turns: a new
//! conversation, then follow-ups) and, in the same run, the same turns straight to the
//! stand-in, and reports time to first token and to the last byte, what the app adds, when
//! the upstream saw each request, turns/s, CPU per 1,000 turns, RSS and open files.
//!
//! Promises: every run starts fresh processes and a fresh database, and removes both; each
//! scenario prints a table and one JSON line (`{"scenario": …}`) with the medians of its runs;
//! budgets print PASS/OVER and fail the command only with `--check`.
mod budget;
mod cli;
mod faults;
mod figures;
mod procs;
mod report;
mod run;
mod sample;
mod scenario;
mod services;
mod stats;
mod users;

use clap::Parser;

/// What a harness step can fail with: a message for the person running it.
type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() {
    let args = cli::Args::parse();
    // One thread: the driver stays off the second core as much as it can, and timings taken
    // on it are comparable between the direct client and the app.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run::all(args)) {
        Ok(true) => {}
        Ok(false) => std::process::exit(3),
        Err(e) => {
            eprintln!("load: {e}");
            std::process::exit(1)
        }
    }
}
