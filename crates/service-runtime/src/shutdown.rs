//! Graceful shutdown with a drain period, for a binary that is PID 1 in a container.
//!
//! The sequence after SIGTERM/SIGINT/SIGQUIT, chosen so rolling restarts lose no request:
//! 1. `/healthz` answers 503 for `SHUTDOWN_DRAIN_SECONDS` while every other request is still
//!    served, so Kubernetes endpoints / load balancers stop sending new traffic here;
//! 2. the listener closes and idle keep-alive connections are closed;
//! 3. in-flight requests get up to `SHUTDOWN_TIMEOUT_SECONDS` to finish; then the process exits 0.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use crate::health::Health;
use crate::workers::{self, Workers};

/// Drain period and in-flight timeout when nothing else is configured (`ServeArgs`, [`Server`]).
pub const DEFAULT_DRAIN_SECONDS: u64 = 5;
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 20;

/// Listener and shutdown settings shared by every service (the port is per binary).
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    pub host: IpAddr,
    /// After a stop signal, answer 503 on /healthz for this many seconds while still serving.
    #[arg(long, env = "SHUTDOWN_DRAIN_SECONDS", default_value_t = DEFAULT_DRAIN_SECONDS)]
    pub shutdown_drain_seconds: u64,
    /// Then give in-flight requests at most this many seconds to finish.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECONDS", default_value_t = DEFAULT_TIMEOUT_SECONDS)]
    pub shutdown_timeout_seconds: u64,
    /// HTTP worker threads (one single-threaded runtime each); 0 means one per available CPU.
    #[arg(long, env = "WORKERS", default_value_t = 0)]
    pub workers: usize,
}

impl ServeArgs {
    pub fn timing(&self) -> Timing {
        Timing {
            drain: Duration::from_secs(self.shutdown_drain_seconds),
            timeout: Duration::from_secs(self.shutdown_timeout_seconds),
        }
    }

    /// Serves `app` on `listener` until SIGTERM/SIGINT/SIGQUIT, with these settings.
    pub fn server(&self, app: Router, health: Health) -> Server {
        Server::new(app, health)
            .timing(self.timing())
            .workers(self.workers)
    }

    /// Binds `host:port`; the error names the address so a port clash reads clearly.
    pub async fn bind(&self, port: u16) -> anyhow::Result<TcpListener> {
        let addr = SocketAddr::new(self.host, port);
        TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))
    }
}

/// The runtime a service's `main` blocks on. It only binds, accepts and coordinates shutdown:
/// requests run on the HTTP worker threads ([`Server`]), so one thread is enough.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
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

/// Serves `app` (which should include `health.router()`) with one worker per CPU until `stop`
/// resolves, then runs the drain sequence. See [`Server`] for the knobs.
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
    Server::new(app, health)
        .timing(timing)
        .serve(listener, stop)
        .await
}

/// A router served on worker threads ([`crate::workers`]) with the drain contract.
pub struct Server {
    app: Router,
    health: Health,
    timing: Timing,
    workers: workers::Options,
    cleanup: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl Server {
    /// Defaults: drain 5 s, timeout 20 s, one worker per CPU.
    pub fn new(app: Router, health: Health) -> Self {
        Self {
            app,
            health,
            timing: Timing {
                drain: Duration::from_secs(DEFAULT_DRAIN_SECONDS),
                timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECONDS),
            },
            workers: workers::Options::default(),
            cleanup: None,
        }
    }

    pub fn timing(mut self, timing: Timing) -> Self {
        self.timing = timing;
        self
    }

    /// Worker threads; 0 means one per CPU.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers.count = workers;
        self
    }

    /// How long a client may take to send request headers, and an idle keep-alive connection
    /// may stay open (default 75 s; see [`workers::Options`]).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.workers.header_read_timeout = timeout;
        self
    }

    /// Give handlers the peer address as `ConnectInfo<SocketAddr>` (off by default).
    pub fn peer_addr(mut self) -> Self {
        self.workers.peer_addr = true;
        self
    }

    /// Runs after in-flight requests finished (or the timeout passed), while the workers'
    /// runtimes still run: the place to close a database pool whose connections they hold.
    /// Bounded by the shutdown timeout as well.
    pub fn cleanup(mut self, cleanup: impl Future<Output = ()> + Send + 'static) -> Self {
        self.cleanup = Some(Box::pin(cleanup));
        self
    }

    /// Serves until `stop` resolves, then: 503 on /healthz for the drain period while still
    /// serving, close the listener and idle connections, give in-flight requests up to the
    /// timeout. Exceeding the timeout is logged, not an error: the orchestrator is about to kill
    /// us anyway and exit 0 is the contract.
    pub async fn serve<S>(self, listener: TcpListener, stop: S) -> std::io::Result<()>
    where
        S: Future + Send,
        S::Output: std::fmt::Debug,
    {
        let Self {
            app,
            health,
            timing,
            workers: options,
            cleanup,
        } = self;
        let mut workers = Workers::start(&app, options)?;
        {
            let accept = accept_loop(&listener, &mut workers);
            tokio::pin!(accept);
            tokio::select! {
                why = stop => tracing::info!(reason = ?why, drain_seconds = timing.drain.as_secs(), "shutdown requested; draining"),
                never = &mut accept => match never {},
            }
            health.start_draining();
            tokio::select! {
                _ = tokio::time::sleep(timing.drain) => {}
                never = &mut accept => match never {},
            }
        }
        drop(listener);
        tracing::info!(
            timeout_seconds = timing.timeout.as_secs(),
            "drain over; closing listener and finishing in-flight requests"
        );
        let deadline = tokio::time::Instant::now() + timing.timeout;
        match tokio::time::timeout_at(deadline, workers.finish()).await {
            Ok(()) => tracing::info!("stopped cleanly"),
            Err(_) => tracing::warn!(
                "in-flight requests did not finish within the shutdown timeout; exiting anyway"
            ),
        }
        if let Some(cleanup) = cleanup {
            if tokio::time::timeout_at(deadline + Duration::from_secs(1), cleanup)
                .await
                .is_err()
            {
                tracing::warn!("shutdown cleanup did not finish in time");
            }
        }
        tokio::task::spawn_blocking(move || workers.release())
            .await
            .map_err(std::io::Error::other)
    }
}

/// Accepts forever, handing connections to the workers. Per-connection errors (the peer gave
/// up) are skipped; resource errors (EMFILE, ENOBUFS...) back off briefly instead of spinning.
async fn accept_loop(listener: &TcpListener, workers: &mut Workers) -> Infallible {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => workers.dispatch(stream, peer),
            Err(e)
                if matches!(
                    e.kind(),
                    ConnectionAborted | ConnectionRefused | ConnectionReset
                ) => {}
            Err(e) => {
                tracing::warn!(error = %e, "accept failed; retrying in 50 ms");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
