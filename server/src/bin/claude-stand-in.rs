//! `claude-stand-in [ADDR]`: the scripted stand-in for Claude's Messages API
//! (`fpl_chat::testkit::claude`), for the browser tests and for measuring the app against an
//! upstream that answers at once. Listens on ADDR (default 127.0.0.1:0) and prints its base URL.
use std::net::SocketAddr;
use std::time::Duration;

use fpl_chat::testkit::claude::{ClaudeStandIn, Fallback};

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
    stand_in.set_fallback(Fallback::Scripted {
        pace: Duration::from_millis(pace_ms),
    });
    println!("{}", stand_in.base_url);
    let _ = tokio::signal::ctrl_c().await;
}
