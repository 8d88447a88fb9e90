//! `GET|HEAD /healthz`: `200 text/plain "1"` while serving, `503` while draining (readiness), and
//! `GET|HEAD /livez`: `200 text/plain "1"` whenever the HTTP server answers at all, draining or not
//! (liveness: a draining pod must not be restarted, and a pod whose server stopped answering
//! must be, which a bare TCP connect to the port would not notice).
//!
//! Probes hit these constantly, so they do no I/O and touch no database: `/healthz` only reads the
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
        } else {
            plain(StatusCode::OK, "1")
        }
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
