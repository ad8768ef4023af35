//! The `fpl-chat` binary: configuration, logging, then the chosen command (see [`fpl_chat::cli`]).
use std::process::ExitCode;

use clap::Parser;
use fpl_chat::cli::{self, Cli};
use fpl_chat::config::Config;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn,sqlx=warn".into()),
        )
        .init();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    cli::run(cli, config).await
}
