//! Serving a service's routes over HTTP/1.1: the listener settings every service shares
//! ([`ServeArgs`]), the acceptor, and [`Server`], which adds `/healthz` and the access log and
//! runs the drain sequence of [`crate::shutdown`] around the acceptor.
//!
//! There is one way to serve: `Server::new(routes, &args)`, optionally `.peer_addr()`,
//! `.healthz_headers(..)`, `.ready_when(..)` and `.cleanup(..)`, then `.serve(listener, stop)`. Tests build the same
//! [`ServeArgs`] that `main` parses, with shorter timings.
//!
//! # Layout
//! - [`workers`]: thread-per-core serving: one single-threaded runtime per worker thread, fed
//!   accepted connections round-robin by the acceptor here.
//! - [`timer`]: the coarse clock behind the keep-alive / header-read timeout.

pub mod timer;
pub mod workers;

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::Router;
use tokio::net::TcpListener;

use crate::config::parse_seconds;
use crate::health::{Health, Readiness};
use crate::shutdown::{self, Timing};
use crate::telemetry::AccessLogLayer;
use workers::Workers;

/// The idle keep-alive timeout when `KEEPALIVE_TIMEOUT_SECONDS` is not set.
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(75);

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
          default_value = "75", value_parser = parse_keepalive)]
    pub keepalive_timeout: Duration,
}

impl Default for ServeArgs {
    /// The flags' defaults (a test in this module keeps the two in step).
    fn default() -> Self {
        ServeArgs {
            host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            shutdown: Timing::default(),
            workers: 0,
            keepalive_timeout: DEFAULT_KEEPALIVE_TIMEOUT,
        }
    }
}

/// A keep-alive timeout of 0 would also give every request 0 s for its headers.
fn parse_keepalive(input: &str) -> Result<Duration, String> {
    match parse_seconds(input)? {
        d if d.is_zero() => Err("must be at least 1".into()),
        d => Ok(d),
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
            cleanup: None,
        }
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
            cleanup,
        } = self;
        let health = Health::gated(started);
        let app = routes
            .merge(health.router(healthz_headers))
            .layer(AccessLogLayer);
        let options = workers::Options {
            count: args.workers,
            header_read_timeout: args.keepalive_timeout,
            peer_addr,
        };
        let mut workers = Workers::start(&app, options)?;
        let timing = args.shutdown;
        shutdown::until_drained(
            accept_loop(&listener, &mut workers),
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
    fn keepalive_timeout_is_whole_seconds_from_one_to_a_day() {
        let args = parse(&["--keepalive-timeout-seconds", "90"]).expect("parses");
        assert_eq!(args.keepalive_timeout, Duration::from_secs(90));
        assert!(parse(&["--keepalive-timeout-seconds", "0"]).is_err());
        assert!(parse(&["--keepalive-timeout-seconds", "86401"]).is_err());
        assert!(parse(&["--keepalive-timeout-seconds", "1.5"]).is_err());
    }
}
