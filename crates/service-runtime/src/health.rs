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
