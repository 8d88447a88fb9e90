//! Serving a service's routes over HTTP/1.1: the listener settings every service shares
//! ([`ServeArgs`]), the acceptor, and [`Server`], which adds `/healthz`, the access log and the
//! metrics ([`crate::observe`]), serves `/metrics` on its own listener, and runs the drain
//! sequence of [`crate::shutdown`] around the acceptor.
//!
//! There is one way to serve: `Server::new(routes, &args)`, optionally `.peer_addr()`,
//! `.healthz_headers(..)`, `.ready_when(..)`, `.metrics(..)` and `.cleanup(..)`, then
//! `.serve(listener, stop)`. Tests build the same [`ServeArgs`] that `main` parses, with
//! shorter timings.
//!
//! # Bounds
//! What one client can hold is bounded, so a flood costs refusals, not the process: at most
//! `MAX_CONNECTIONS` open connections ([`connections`]; the excess is answered 503 at once),
//! a request head within `HEADER_READ_TIMEOUT_SECONDS` and `MAX_HEADER_BYTES` (431 beyond),
//! a body within `BODY_READ_TIMEOUT_SECONDS` ([`deadlines`]), idle keep-alive connections closed
//! after `KEEPALIVE_TIMEOUT_SECONDS`, and a panicking handler answered 500 ([`panic`]).
//!
//! # Layout
//! - [`workers`]: thread-per-core serving: one single-threaded runtime per worker thread, fed
//!   accepted connections round-robin by the acceptor here.
//! - [`connections`]: the connection cap and its default from the memory limit.
//! - [`deadlines`]: the header and body read deadlines hyper's own timer does not give.
//! - [`panic`]: a handler's panic answered as a JSON 500.
//! - [`sendfile`]: large bodies kept in sealed memfds ([`sendfile::mirror`]) and sent with
//!   `sendfile(2)` by the connections' sockets.
//! - [`timer`]: the coarse clock behind all of these timeouts.

pub mod connections;
pub mod deadlines;
pub mod panic;
pub mod sendfile;
pub mod timer;
pub mod workers;

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::Router;
use tokio::net::TcpListener;

use crate::config::parse_positive_seconds;
use crate::health::{Health, Readiness};
use crate::metrics::http::HttpMetrics;
use crate::metrics::{self, Registry};
use crate::observe::ObserveLayer;
use crate::shutdown::{self, Timing};
use connections::Limit;
use panic::CatchPanicLayer;
use workers::Workers;

/// The idle keep-alive timeout when `KEEPALIVE_TIMEOUT_SECONDS` is not set.
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(75);
/// `HEADER_READ_TIMEOUT_SECONDS` when not set.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// `BODY_READ_TIMEOUT_SECONDS` when not set.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// `MAX_HEADER_BYTES` when not set: far below hyper's ~400 KiB, far above any real request.
pub const DEFAULT_MAX_HEADER_BYTES: u32 = 16 * 1024;

/// The metrics port when `METRICS_PORT` is not set: the same in every service, so one
/// PodMonitor and one NetworkPolicy port cover them all.
pub const DEFAULT_METRICS_PORT: u16 = 9090;

/// Listener, worker and shutdown settings shared by every service (the port is per binary).
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    pub host: IpAddr,
    #[command(flatten)]
    pub shutdown: Timing,
    /// HTTP worker threads (one single-threaded runtime each); 0 means one per available CPU.
    #[arg(long, env = "WORKERS", default_value_t = 0)]
    pub workers: usize,
    /// How long an idle keep-alive connection stays open waiting for its next request. The same
    /// limit bounds how long a client may take to send a request's headers (one timer covers
    /// both). Keep it above the upstream idle timeout of the proxy in front (the gateway's is
    /// 60 s), or the proxy may send a request on a connection this server is closing.
    #[arg(long = "keepalive-timeout-seconds", env = "KEEPALIVE_TIMEOUT_SECONDS",
          default_value = "75", value_parser = parse_positive_seconds)]
    pub keepalive_timeout: Duration,
    /// Port of the metrics listener (`GET /metrics`, Prometheus text), on the same host as the
    /// service. 0 turns metrics off: no listener, and nothing is recorded.
    #[arg(long, env = "METRICS_PORT", default_value_t = DEFAULT_METRICS_PORT)]
    pub metrics_port: u16,
    /// Most connections open at once; a connection beyond it is answered 503 and closed at
    /// once. 0 sizes it from the container's memory limit (a quarter of it at 64 KiB per
    /// connection: 1024 for 256 MiB; 16384 without a limit).
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub max_connections: u32,
    /// Seconds a client has to send a request's headers: counted from connecting, and on a
    /// keep-alive connection from the first byte of each later request (slowloris guard).
    #[arg(long = "header-read-timeout-seconds", env = "HEADER_READ_TIMEOUT_SECONDS",
          default_value = "10", value_parser = parse_positive_seconds)]
    pub header_read_timeout: Duration,
    /// Seconds a client has to send a request's body, counted from the end of its headers;
    /// then reading the body fails (the backend answers 408) and the connection closes.
    #[arg(long = "body-read-timeout-seconds", env = "BODY_READ_TIMEOUT_SECONDS",
          default_value = "30", value_parser = parse_positive_seconds)]
    pub body_read_timeout: Duration,
    /// Largest request head (request line and headers) in bytes; a larger one is answered 431.
    #[arg(long, env = "MAX_HEADER_BYTES", default_value_t = DEFAULT_MAX_HEADER_BYTES,
          value_parser = clap::value_parser!(u32).range(8192..=1_048_576))]
    pub max_header_bytes: u32,
}

impl Default for ServeArgs {
    /// The flags' defaults (a test in this module keeps the two in step).
    fn default() -> Self {
        ServeArgs {
            host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            shutdown: Timing::default(),
            workers: 0,
            keepalive_timeout: DEFAULT_KEEPALIVE_TIMEOUT,
            metrics_port: DEFAULT_METRICS_PORT,
            max_connections: 0,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
        }
    }
}

impl ServeArgs {
    /// Binds `host:port`; the error names the address so a port clash reads clearly.
    pub async fn bind(&self, port: u16) -> anyhow::Result<TcpListener> {
        let addr = SocketAddr::new(self.host, port);
        TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))
    }

    /// Binds the metrics listener on `host:METRICS_PORT`; `None` when metrics are off (0).
    pub async fn bind_metrics(&self) -> anyhow::Result<Option<TcpListener>> {
        match self.metrics_port {
            0 => Ok(None),
            port => {
                let addr = SocketAddr::new(self.host, port);
                let listener = TcpListener::bind(addr).await.map_err(|e| {
                    anyhow::anyhow!(
                        "cannot listen on {addr} (--metrics-port, env METRICS_PORT): {e}"
                    )
                })?;
                Ok(Some(listener))
            }
        }
    }
}

/// The runtime a service's `main` blocks on. It only binds, accepts and coordinates shutdown:
/// requests run on the HTTP worker threads ([`workers`]), so one thread is enough.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// A service's routes, served on worker threads with `/healthz`, the access log and the drain
/// contract.
pub struct Server {
    routes: Router,
    args: ServeArgs,
    healthz_headers: HeaderMap,
    peer_addr: bool,
    started: Readiness,
    metrics: Option<(TcpListener, Registry)>,
    cleanup: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl Server {
    /// Serves `routes` (everything but `/healthz`, which the server adds) with `args`.
    pub fn new(routes: Router, args: &ServeArgs) -> Self {
        Self {
            routes,
            args: args.clone(),
            healthz_headers: HeaderMap::new(),
            peer_addr: false,
            started: Readiness::open_now(),
            metrics: None,
            cleanup: None,
        }
    }

    /// Record metrics into `registry` (made by [`metrics::registry`], with the service's own
    /// metrics added) and serve it on `listener` (from [`ServeArgs::bind_metrics`]; `None`:
    /// metrics off). The server adds the HTTP metrics and the drain state.
    pub fn metrics(mut self, listener: Option<TcpListener>, registry: Registry) -> Self {
        self.metrics = listener.map(|l| (l, registry));
        self
    }

    /// Headers every `/healthz` answer carries as well (the site's security headers: a probe
    /// answer is a response like any other to a scanner).
    pub fn healthz_headers(mut self, headers: HeaderMap) -> Self {
        self.healthz_headers = headers;
        self
    }

    /// Give handlers the peer address as `ConnectInfo<SocketAddr>` (off by default: it is an
    /// extensions map allocated per request, wasted where unused).
    pub fn peer_addr(mut self) -> Self {
        self.peer_addr = true;
        self
    }

    /// `/healthz` answers 503 until `started` is open (a start-up condition the service
    /// establishes after binding, in the background; requests are served meanwhile, so the
    /// service decides what they get).
    pub fn ready_when(mut self, started: Readiness) -> Self {
        self.started = started;
        self
    }

    /// Runs after in-flight requests finished (or the timeout passed), while the workers'
    /// runtimes still run: the place to close a database pool whose connections they hold.
    /// Bounded by the shutdown timeout as well.
    pub fn cleanup(mut self, cleanup: impl Future<Output = ()> + Send + 'static) -> Self {
        self.cleanup = Some(Box::pin(cleanup));
        self
    }

    /// Serves until `stop` resolves, then runs the drain sequence ([`crate::shutdown`]) and
    /// returns `Ok` however it ended: exit 0 is the contract.
    pub async fn serve<S>(self, listener: TcpListener, stop: S) -> std::io::Result<()>
    where
        S: Future + Send,
        S::Output: std::fmt::Debug,
    {
        let Self {
            routes,
            args,
            healthz_headers,
            peer_addr,
            started,
            metrics,
            cleanup,
        } = self;
        let health = Health::gated(started);
        let (http_metrics, metrics_task) = match metrics {
            Some((listener, mut registry)) => {
                let http = HttpMetrics::register(&mut registry);
                registry.register_collector(Box::new(health.clone()));
                if let Ok(addr) = listener.local_addr() {
                    tracing::info!(%addr, "metrics listening");
                }
                let task = tokio::spawn(metrics::endpoint::serve(listener, Arc::new(registry)));
                (Some(http), Some(task))
            }
            None => (None, None),
        };
        let app = routes
            .merge(health.router(healthz_headers))
            .layer(CatchPanicLayer)
            .layer(ObserveLayer::new(http_metrics.clone()));
        let options = workers::Options {
            count: args.workers,
            keepalive_timeout: args.keepalive_timeout,
            header_read_timeout: args.header_read_timeout,
            body_read_timeout: args.body_read_timeout,
            max_header_bytes: args.max_header_bytes as usize,
            peer_addr,
        };
        let mut workers = Workers::start(&app, options, http_metrics)?;
        let mut limit = Limit::new(args.max_connections as usize);
        tracing::debug!(max_connections = limit.max(), "connection cap");
        let timing = args.shutdown;
        shutdown::until_drained(
            accept_loop(&listener, &mut workers, &mut limit),
            stop,
            &health,
            timing.drain,
        )
        .await;
        drop(listener);
        tracing::info!(
            timeout_seconds = timing.timeout.as_secs(),
            "drain over; closing listener and finishing in-flight requests"
        );
        let deadline = tokio::time::Instant::now() + timing.timeout;
        shutdown::finish_by(workers.finish(), deadline).await;
        if let Some(cleanup) = cleanup {
            if tokio::time::timeout_at(deadline + Duration::from_secs(1), cleanup)
                .await
                .is_err()
            {
                tracing::warn!("shutdown cleanup did not finish in time");
            }
        }
        let released = tokio::task::spawn_blocking(move || {
            workers.release();
            // Every request is done: write out the access log's last lines before exit.
            crate::access_log::flush(Duration::from_secs(2));
        })
        .await
        .map_err(std::io::Error::other);
        if let Some(task) = metrics_task {
            task.abort();
        }
        released
    }
}

/// Accepts forever, handing connections to the workers while the cap allows (refusing the
/// rest at once). Per-connection errors (the peer gave up) are skipped; resource errors
/// (EMFILE, ENOBUFS...) back off briefly instead of spinning.
async fn accept_loop(
    listener: &TcpListener,
    workers: &mut Workers,
    limit: &mut Limit,
) -> Infallible {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                if let Some(permit) = limit.admit(&stream) {
                    workers.dispatch(stream, peer, permit);
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, FromArgMatches};

    /// Parses `args` as a service would, ignoring the environment of the test process.
    fn parse(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        let cmd = ServeArgs::augment_args(clap::Command::new("x")).mut_args(|a| a.env(None));
        let matches = cmd.try_get_matches_from(std::iter::once("x").chain(args.iter().copied()))?;
        ServeArgs::from_arg_matches(&matches)
    }

    #[test]
    fn default_is_what_the_flags_default_to() {
        assert_eq!(parse(&[]).expect("parses"), ServeArgs::default());
    }

    #[test]
    fn bounds_are_validated_with_the_setting_named() {
        let args = parse(&[
            "--max-connections",
            "500",
            "--header-read-timeout-seconds",
            "5",
            "--body-read-timeout-seconds",
            "60",
            "--max-header-bytes",
            "32768",
        ])
        .expect("parses");
        assert_eq!(args.max_connections, 500);
        assert_eq!(args.header_read_timeout, Duration::from_secs(5));
        assert_eq!(args.body_read_timeout, Duration::from_secs(60));
        assert_eq!(args.max_header_bytes, 32768);
        for bad in [
            ["--header-read-timeout-seconds", "0"],
            ["--body-read-timeout-seconds", "0"],
            ["--max-header-bytes", "4096"],
            ["--max-header-bytes", "2000000"],
            ["--max-connections", "lots"],
        ] {
            let err = parse(&bad).expect_err("invalid").to_string();
            assert!(err.contains(bad[0]), "{err}");
        }
    }

    #[test]
    fn keepalive_timeout_is_whole_seconds_from_one_to_a_day() {
        let args = parse(&["--keepalive-timeout-seconds", "90"]).expect("parses");
        assert_eq!(args.keepalive_timeout, Duration::from_secs(90));
        assert!(parse(&["--keepalive-timeout-seconds", "0"]).is_err());
        assert!(parse(&["--keepalive-timeout-seconds", "86401"]).is_err());
        assert!(parse(&["--keepalive-timeout-seconds", "1.5"]).is_err());
    }
}
