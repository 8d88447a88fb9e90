//! Graceful shutdown with a drain period, for a binary that is PID 1 in a container.
//!
//! The sequence after SIGTERM/SIGINT/SIGQUIT, chosen so rolling restarts lose no request:
//! 1. `/healthz` answers 503 for `SHUTDOWN_DRAIN_SECONDS` while every other request is still
//!    served, so Kubernetes endpoints / load balancers stop sending new traffic here;
//! 2. the listener closes and idle keep-alive connections are closed;
//! 3. in-flight requests get up to `SHUTDOWN_TIMEOUT_SECONDS` to finish; then the process exits 0.

use std::future::{Future, IntoFuture};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use crate::health::Health;

/// Listener and shutdown settings shared by every service (the port is per binary).
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    pub host: IpAddr,
    /// After a stop signal, answer 503 on /healthz for this many seconds while still serving.
    #[arg(long, env = "SHUTDOWN_DRAIN_SECONDS", default_value_t = 5)]
    pub shutdown_drain_seconds: u64,
    /// Then give in-flight requests at most this many seconds to finish.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECONDS", default_value_t = 20)]
    pub shutdown_timeout_seconds: u64,
}

impl ServeArgs {
    pub fn timing(&self) -> Timing {
        Timing {
            drain: Duration::from_secs(self.shutdown_drain_seconds),
            timeout: Duration::from_secs(self.shutdown_timeout_seconds),
        }
    }

    /// Binds `host:port`; the error names the address so a port clash reads clearly.
    pub async fn bind(&self, port: u16) -> anyhow::Result<TcpListener> {
        let addr = SocketAddr::new(self.host, port);
        TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))
    }
}

/// How long to drain and how long to wait for in-flight requests.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub drain: Duration,
    pub timeout: Duration,
}

/// Resolves on the first SIGTERM, SIGINT or SIGQUIT and returns its name.
pub async fn signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut streams = Vec::new();
    for (kind, name) in [
        (SignalKind::terminate(), "SIGTERM"),
        (SignalKind::interrupt(), "SIGINT"),
        (SignalKind::quit(), "SIGQUIT"),
    ] {
        match signal(kind) {
            Ok(stream) => streams.push((stream, name)),
            Err(e) => tracing::warn!(error = %e, signal = name, "cannot install signal handler"),
        }
    }
    if streams.is_empty() {
        return std::future::pending().await;
    }
    let waits = streams.into_iter().map(|(mut s, name)| {
        Box::pin(async move {
            s.recv().await;
            name
        })
    });
    futures_select_first(waits).await
}

async fn futures_select_first<F: Future<Output = &'static str> + Unpin>(
    futures: impl IntoIterator<Item = F>,
) -> &'static str {
    let mut futures: Vec<F> = futures.into_iter().collect();
    std::future::poll_fn(move |cx| {
        for f in futures.iter_mut() {
            if let std::task::Poll::Ready(name) = std::pin::Pin::new(f).poll(cx) {
                return std::task::Poll::Ready(name);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// Serves `app` (which should include `health.router()`) until `stop` resolves, then runs the
/// drain sequence. Returns when the server has stopped; exceeding the timeout is logged, not an
/// error, because the orchestrator is about to kill us anyway and exit 0 is the contract.
pub async fn serve<S>(
    listener: TcpListener,
    app: Router,
    health: Health,
    timing: Timing,
    stop: S,
) -> std::io::Result<()>
where
    S: Future + Send,
    S::Output: std::fmt::Debug,
{
    let (stop_accepting, accepting_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = accepting_stopped.await;
    });
    let mut server = tokio::spawn(server.into_future());

    tokio::select! {
        why = stop => tracing::info!(reason = ?why, drain_seconds = timing.drain.as_secs(), "shutdown requested; draining"),
        result = &mut server => return flatten(result),
    }
    health.start_draining();
    tokio::select! {
        _ = tokio::time::sleep(timing.drain) => {}
        result = &mut server => return flatten(result),
    }
    tracing::info!(
        timeout_seconds = timing.timeout.as_secs(),
        "drain over; closing listener and finishing in-flight requests"
    );
    let _ = stop_accepting.send(());
    match tokio::time::timeout(timing.timeout, &mut server).await {
        Ok(result) => {
            tracing::info!("stopped cleanly");
            flatten(result)
        }
        Err(_) => {
            tracing::warn!(
                "in-flight requests did not finish within the shutdown timeout; exiting anyway"
            );
            server.abort();
            Ok(())
        }
    }
}

fn flatten(result: Result<std::io::Result<()>, tokio::task::JoinError>) -> std::io::Result<()> {
    match result {
        Ok(r) => r,
        Err(e) => Err(std::io::Error::other(e)),
    }
}
