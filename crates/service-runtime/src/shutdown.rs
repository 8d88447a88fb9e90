//! The drain contract of a binary that is PID 1 in a container: which signals stop it, how long
//! each phase of stopping may take, and the waits that make up the sequence.
//!
//! After SIGTERM, SIGINT or SIGQUIT (chosen so rolling restarts lose no request):
//! 1. `/healthz` answers 503 for the drain period (`SHUTDOWN_DRAIN_SECONDS`, default 5) while
//!    every other request is still served, so Kubernetes endpoints and load balancers stop
//!    sending new traffic here before anything closes;
//! 2. the listener closes and idle keep-alive connections are closed;
//! 3. in-flight requests get up to `SHUTDOWN_TIMEOUT_SECONDS` (default 20) to finish; then the
//!    process exits 0, even if some did not: the orchestrator is about to kill it anyway.
//!
//! [`crate::server::Server`] runs this sequence around its acceptor; the phases are
//! [`until_drained`] and [`finish_by`]. The stop trigger is a future, so tests stop a server
//! with a channel instead of a signal.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::parse_seconds;
use crate::health::Health;

/// How long each phase may take: `--shutdown-drain-seconds` / `SHUTDOWN_DRAIN_SECONDS` and
/// `--shutdown-timeout-seconds` / `SHUTDOWN_TIMEOUT_SECONDS`.
#[derive(clap::Args, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// After a stop signal, answer 503 on /healthz for this many seconds while still serving.
    #[arg(long = "shutdown-drain-seconds", env = "SHUTDOWN_DRAIN_SECONDS", default_value = "5",
          value_parser = parse_seconds)]
    pub drain: Duration,
    /// Then give in-flight requests at most this many seconds to finish.
    #[arg(long = "shutdown-timeout-seconds", env = "SHUTDOWN_TIMEOUT_SECONDS",
          default_value = "20", value_parser = parse_seconds)]
    pub timeout: Duration,
}

impl Default for Timing {
    /// The flags' defaults: drain 5 s, timeout 20 s.
    fn default() -> Self {
        Timing {
            drain: Duration::from_secs(5),
            timeout: Duration::from_secs(20),
        }
    }
}

/// Resolves on the first SIGTERM, SIGINT or SIGQUIT and returns its name. A signal whose handler
/// cannot be installed is logged and never fires; the others still do.
pub async fn signal() -> &'static str {
    use tokio::signal::unix::SignalKind;
    tokio::select! {
        name = one(SignalKind::terminate(), "SIGTERM") => name,
        name = one(SignalKind::interrupt(), "SIGINT") => name,
        name = one(SignalKind::quit(), "SIGQUIT") => name,
    }
}

async fn one(kind: tokio::signal::unix::SignalKind, name: &'static str) -> &'static str {
    match tokio::signal::unix::signal(kind) {
        Ok(mut stream) => {
            stream.recv().await;
            name
        }
        Err(e) => {
            tracing::warn!(error = %e, signal = name, "cannot install signal handler");
            std::future::pending().await
        }
    }
}

/// Phases 1 and 2: keeps `serving` (an accept loop, which never ends by itself) running until
/// `stop` resolves, then raises the draining flag and keeps serving for `drain`. Returns when the
/// listener may close.
pub async fn until_drained<S>(
    serving: impl Future<Output = Infallible>,
    stop: S,
    health: &Health,
    drain: Duration,
) where
    S: Future,
    S::Output: std::fmt::Debug,
{
    tokio::pin!(serving);
    tokio::select! {
        why = stop => tracing::info!(
            reason = ?why,
            drain_seconds = drain.as_secs(),
            "shutdown requested; draining"
        ),
        never = &mut serving => match never {},
    }
    health.start_draining();
    tokio::select! {
        () = tokio::time::sleep(drain) => {}
        never = &mut serving => match never {},
    }
}

/// Phase 3: waits for `in_flight` until `deadline`. Exceeding it is logged, not an error: exit 0
/// is the contract either way. Returns whether everything finished in time.
pub async fn finish_by(in_flight: impl Future<Output = ()>, deadline: Instant) -> bool {
    match tokio::time::timeout_at(deadline, in_flight).await {
        Ok(()) => {
            tracing::info!("stopped cleanly");
            true
        }
        Err(_) => {
            tracing::warn!(
                "in-flight requests did not finish within the shutdown timeout; exiting anyway"
            );
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn healthz_flips_at_the_stop_and_serving_goes_on_through_the_drain() {
        let health = Health::new();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let started = Instant::now();
        let drained = until_drained(
            std::future::pending(),
            stopped,
            &health,
            Duration::from_secs(5),
        );
        tokio::pin!(drained);
        tokio::select! {
            () = &mut drained => panic!("drained before the stop"),
            () = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
        assert!(!health.is_draining());
        let _ = stop.send(());
        drained.await;
        assert!(health.is_draining());
        assert_eq!(started.elapsed(), Duration::from_secs(65));
    }

    #[tokio::test(start_paused = true)]
    async fn finish_by_reports_whether_in_flight_work_made_the_deadline() {
        let deadline = Instant::now() + Duration::from_secs(20);
        assert!(finish_by(tokio::time::sleep(Duration::from_secs(19)), deadline).await);
        let deadline = Instant::now() + Duration::from_secs(20);
        assert!(!finish_by(std::future::pending(), deadline).await);
    }
}
