//! `GET|HEAD /healthz`: `200 text/plain "1"` while serving, `503` while draining.
//!
//! Probes hit this constantly, so it does no I/O and touches no database: it only reads the
//! draining flag that the shutdown sequence ([`crate::shutdown::until_drained`]) raises when a
//! stop signal arrives. [`crate::server::Server`] mounts the route on every service, so no
//! service can be without it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;

/// The process's readiness, shared between the /healthz route and the shutdown sequence.
#[derive(Clone, Debug, Default)]
pub struct Health {
    draining: Arc<AtomicBool>,
}

impl Health {
    pub fn new() -> Self {
        Self::default()
    }

    /// From now on /healthz answers 503 so load balancers take this instance out of rotation.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// A router with just `/healthz`, its answers carrying `extra_headers` as well (a site's
    /// security headers, say).
    pub fn router<S: Clone + Send + Sync + 'static>(&self, extra_headers: HeaderMap) -> Router<S> {
        let health = self.clone();
        Router::new().route(
            "/healthz",
            get(move || {
                let mut response = health.response();
                for (name, value) in &extra_headers {
                    response.headers_mut().insert(name, value.clone());
                }
                std::future::ready(response)
            }),
        )
    }

    /// The /healthz answer for the current state.
    pub fn response(&self) -> Response {
        const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
        const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
        let (status, body) = if self.is_draining() {
            (StatusCode::SERVICE_UNAVAILABLE, "draining")
        } else {
            (StatusCode::OK, "1")
        };
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
