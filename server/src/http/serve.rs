//! Serving the router on a TCP listener: hyper's HTTP/1 server with a deadline for the request
//! head.
//!
//! Promises: a client that has not sent a request's whole head within [`HEADER_READ_TIMEOUT`]
//! is disconnected (a "slowloris" cannot hold connections open by trickling bytes); handlers
//! see the peer as `ConnectInfo<SocketAddr>`; small writes go out at once (`TCP_NODELAY`);
//! when `stop` completes no new connection is accepted, kept-alive connections take no new
//! request, and the open ones finish their requests before [`serve`] returns, or are dropped
//! once `drain` has passed (a dropped chat stream stops its turn, whose answer is stored as
//! interrupted).
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1::Builder;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::Service;

/// The listen backlog asked for (the kernel caps it at `net.core.somaxconn`, 4096 on current
/// Linux). `TcpListener::bind` asks for 128: a burst of more new connections than that, while
/// the accept loop is busy, overflows the queue, and each dropped handshake costs its client a
/// 1 s retransmission (measured: 1,843 overflows and a 1.9 s p99 for 1,000 users at once).
pub const LISTEN_BACKLOG: u32 = 4096;

/// A listener on `addr` with [`LISTEN_BACKLOG`] (and `SO_REUSEADDR`, as `bind` sets it).
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// How long a client has to send a request's head (request line and headers). Also how long
/// an idle kept-alive connection waits for its next request.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `stop` completes, then waits up to `drain` for open
/// connections.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    stop: impl Future<Output = ()>,
    drain: Duration,
) -> std::io::Result<()> {
    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    // HTTP/1 only, as before (HTTP/2's version sniffing would wait on a trickled preface
    // with no deadline).
    let mut builder = Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let graceful = GracefulShutdown::new();
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(stop);
    loop {
        while connections.try_join_next().is_some() {}
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // Small writes (SSE events) go out at once: with Nagle's algorithm on, an event written
        // while the previous one is unacknowledged waits for the client's delayed ACK (~40 ms).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let Ok(service) = make_service.call(peer).await;
        let connection =
            builder.serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            connections = connections.len(),
            "drain time is up: dropping the connections still open"
        );
        connections.shutdown().await;
    }
    Ok(())
}
