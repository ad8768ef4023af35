//! The `fpl-chat` binary: configuration, logging, then the chosen command (see [`fpl_chat::cli`]).
use std::process::ExitCode;

use clap::Parser;
use fpl_chat::cli::{self, Cli};
use fpl_chat::config::Config;

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    fpl_chat::logging::init(config.log_format);
    cli::run(cli, config).await
}

/// glibc's malloc hands out up to 8 arenas per core, one to each thread that meets contention
/// (the runtime's workers, blocking threads, SQLite's connection threads); each arena keeps
/// its own free memory, which the threads on other arenas cannot reuse, so under a burst
/// every arena grows to its own peak. One arena per core (at least two) still spares the
/// runtime's workers from contending, and cut RSS per active stream in the 1,000-user burst
/// from 68 to 59 KiB (README, "Load harness"). Called before any thread starts;
/// `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES` set by the operator win.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let operator_set = ["MALLOC_ARENA_MAX", "GLIBC_TUNABLES"]
            .iter()
            .any(|name| std::env::var_os(name).is_some());
        if !operator_set {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            let arenas = libc::c_int::try_from(cores.max(2)).unwrap_or(libc::c_int::MAX);
            // SAFETY: mallopt only sets a malloc parameter; no other thread runs yet.
            unsafe { libc::mallopt(libc::M_ARENA_MAX, arenas) };
        }
    }
}
