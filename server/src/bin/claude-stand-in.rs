//! `claude-stand-in [ADDR]`: the scripted stand-in for Claude's Messages API
//! (`fpl_chat::testkit::claude`), for the browser tests and for measuring the app against an
//! upstream that answers at once. Listens on ADDR (default 127.0.0.1:0) and prints its base URL.
//!
//! `STAND_IN_PACE_MS` (default 15): the pause before each event. `STAND_IN_TOKENS=K` (for
//! `scripts/load`): every question gets the same answer of K text pieces instead of the
//! scripted FPL model, and request bodies are not kept (a long run would pile them up).
//! `STAND_IN_STATUS=S` (for the harness's 529 storm): every request is answered with the API
//! error of status S (529 `overloaded_error`, 429 `rate_limit_error`, else `api_error`).
use std::net::SocketAddr;
use std::time::Duration;

use fpl_chat::testkit::claude::{ClaudeStandIn, Fallback, Reply, Sse};

#[tokio::main]
async fn main() {
    let addr: SocketAddr = match std::env::args().nth(1) {
        Some(a) => a.parse().unwrap_or_else(|_| {
            eprintln!("usage: claude-stand-in [HOST:PORT]");
            std::process::exit(2)
        }),
        None => SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let pace_ms: u64 = std::env::var("STAND_IN_PACE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let stand_in = match ClaudeStandIn::start_on(addr).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("claude-stand-in: cannot listen on {addr}: {e}");
            std::process::exit(1)
        }
    };
    let pace = Duration::from_millis(pace_ms);
    let tokens: Option<usize> = std::env::var("STAND_IN_TOKENS")
        .ok()
        .and_then(|v| v.parse().ok());
    let status: Option<u16> = std::env::var("STAND_IN_STATUS")
        .ok()
        .and_then(|v| v.parse().ok());
    match (status, tokens) {
        (Some(status), _) => {
            let kind = match status {
                529 => "overloaded_error",
                429 => "rate_limit_error",
                _ => "api_error",
            };
            stand_in.set_fallback(Fallback::Always(Reply::error(status, kind)));
            stand_in.keep_bodies(false);
        }
        (None, Some(tokens)) => {
            let pieces = vec![" word"; tokens.max(1)];
            let reply = Sse::new().pace(pace).text(&pieces).end("end_turn");
            stand_in.set_fallback(Fallback::Always(reply));
            stand_in.keep_bodies(false);
        }
        (None, None) => stand_in.set_fallback(Fallback::Scripted { pace }),
    }
    println!("{}", stand_in.base_url);
    let _ = tokio::signal::ctrl_c().await;
}
