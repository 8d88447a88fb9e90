//! `GET|HEAD /healthz`: `200 text/plain "1"` while serving, `503` while starting or draining
//! (readiness), and `GET|HEAD /livez`: `200 text/plain "1"` whenever the HTTP server answers at
//! all, starting, draining or not (liveness: a pod waiting for its schema or draining must not be
//! restarted, and a pod whose server stopped answering must be, which a bare TCP connect to the
//! port would not notice).
//!
//! Probes hit these constantly, so they do no I/O and touch no database: `/healthz` only reads
//! flags. The draining flag is raised by the shutdown sequence ([`crate::shutdown::until_drained`])
//! when a stop signal arrives. A service whose start-up finishes after the listener is bound (the
//! backend waits for the database schema it was built for) holds a [`Readiness`] gate closed
//! until it is done, and opens it once: readiness never goes back to "starting". What the gate
//! waits for is the service's business; this module only reports it. [`crate::server::Server`]
//! mounts the routes on every service, so no service can be without them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;

/// A start-up condition: closed until its owner opens it, then open for good.
///
/// Cloning shares the flag: the task that establishes the condition opens it, `/healthz` (and
/// whatever else must wait, such as the routes that need it) reads it with one atomic load.
#[derive(Clone, Debug, Default)]
pub struct Readiness {
    open: Arc<AtomicBool>,
}

impl Readiness {
    /// A gate that holds `/healthz` at 503 until [`Readiness::open`] is called.
    pub fn closed() -> Self {
        Self::default()
    }

    /// A gate with nothing to wait for.
    pub fn open_now() -> Self {
        let gate = Self::default();
        gate.open();
        gate
    }

    pub fn open(&self) {
        self.open.store(true, Ordering::Release);
    }

    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }
}

/// The process's readiness, shared between the /healthz route and the shutdown sequence.
#[derive(Clone, Debug)]
pub struct Health {
    draining: Arc<AtomicBool>,
    started: Readiness,
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

impl Health {
    /// Ready as soon as it serves (nothing to wait for at start).
    pub fn new() -> Self {
        Self::gated(Readiness::open_now())
    }

    /// Ready once `started` is open (and until draining).
    pub fn gated(started: Readiness) -> Self {
        Self {
            draining: Arc::new(AtomicBool::new(false)),
            started,
        }
    }

    /// From now on /healthz answers 503 so load balancers take this instance out of rotation.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// A router with just `/healthz` and `/livez`, their answers carrying `extra_headers` as well
    /// (a site's security headers, say).
    pub fn router<S: Clone + Send + Sync + 'static>(&self, extra_headers: HeaderMap) -> Router<S> {
        let health = self.clone();
        let with_headers = move |mut response: Response| {
            for (name, value) in &extra_headers {
                response.headers_mut().insert(name, value.clone());
            }
            std::future::ready(response)
        };
        let live_headers = with_headers.clone();
        Router::new()
            .route("/healthz", get(move || with_headers(health.response())))
            .route(
                "/livez",
                get(move || live_headers(plain(StatusCode::OK, "1"))),
            )
    }

    /// The /healthz answer for the current state.
    pub fn response(&self) -> Response {
        if self.is_draining() {
            plain(StatusCode::SERVICE_UNAVAILABLE, "draining")
        } else if !self.started.is_open() {
            plain(StatusCode::SERVICE_UNAVAILABLE, "starting")
        } else {
            plain(StatusCode::OK, "1")
        }
    }
}

/// The draining flag as the gauge `http_draining` (1 from the stop signal on), read at scrape
/// time: a pod that drains for longer than its drain period is stuck.
impl Collector for Health {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let gauge = ConstGauge::new(i64::from(self.is_draining()));
        gauge.encode(encoder.encode_descriptor(
            "http_draining",
            "1 while the service drains after a stop signal (/healthz answers 503), else 0",
            None,
            gauge.metric_type(),
        )?)
    }
}

/// The paths the probes use, which the access log keeps at debug level.
pub const PROBE_PATHS: [&str; 2] = ["/healthz", "/livez"];

fn plain(status: StatusCode, body: &'static str) -> Response {
    const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
    const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
    (
        status,
        [
            (header::CONTENT_TYPE, TEXT),
            (header::CACHE_CONTROL, NO_STORE),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starting_then_ready_then_draining() {
        let gate = Readiness::closed();
        let health = Health::gated(gate.clone());
        assert_eq!(health.response().status(), StatusCode::SERVICE_UNAVAILABLE);
        gate.open();
        assert_eq!(health.response().status(), StatusCode::OK);
        health.start_draining();
        assert_eq!(health.response().status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(Health::new().response().status(), StatusCode::OK);
    }
}
