//! The middleware on every request: a request id (echoed in `x-request-id`), the HTTP
//! metrics ([`crate::metrics::http`]) and one access-log line — debug for `/healthz` and `/livez` (probes
//! hit it constantly), warn for 5xx, info otherwise.
//!
//! A hand-written service rather than `axum::middleware::from_fn`: it sits on every request,
//! and this costs one allocation (the boxed future). The access-log line is handed to the
//! buffered writer ([`crate::access_log`]) when one runs, and only when `RUST_LOG` lets its
//! level through (a cached callsite check); otherwise it is a `tracing` event as before.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, Uri};
use axum::response::Response;
use tower::{Layer, Service};
use tracing::Instrument;

use crate::access_log::{self, Level, Line, TARGET};
use crate::metrics::http::{take_route_label, HttpMetrics, UNMATCHED};
use crate::telemetry::{is_sane_id, new_request_id, REQUEST_ID};

/// Tower layer adding request ids, metrics (when given) and the access log:
/// `router.layer(ObserveLayer::new(metrics))`.
#[derive(Clone, Debug, Default)]
pub struct ObserveLayer {
    metrics: Option<Arc<HttpMetrics>>,
}

impl ObserveLayer {
    pub fn new(metrics: Option<Arc<HttpMetrics>>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service made by [`ObserveLayer`].
#[derive(Clone, Debug)]
pub struct Observe<S> {
    inner: S,
    metrics: Option<Arc<HttpMetrics>>,
}

impl<S> Service<Request> for Observe<S>
where
    S: Service<Request, Response = Response>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let id = req
            .headers()
            .get(&REQUEST_ID)
            .filter(|v| is_sane_id(v.as_bytes()))
            .cloned()
            .unwrap_or_else(new_request_id);
        // All of these clones are reference counts, not copies.
        let method = req.method().clone();
        let uri = req.uri().clone();
        let matched = req.extensions().get::<MatchedPath>().cloned();
        let metrics = self.metrics.clone();
        let in_flight = metrics.as_ref().map(|m| m.in_flight());
        // A label left by a handler whose response never reached this point is stale.
        let _ = take_route_label();
        // The span gives the handler's own log events the request id. Probes (constantly hit,
        // logged at debug, their handler never logs) skip it: a span is most of their cost.
        let probe = crate::health::PROBE_PATHS.contains(&uri.path());
        let span = if probe {
            tracing::Span::none()
        } else {
            tracing::info_span!("request", request_id = id.to_str().unwrap_or(""))
        };
        let started = Instant::now();
        let future = self.inner.call(req).instrument(span.clone());
        Box::pin(async move {
            let result = future.await;
            // Read at once: the handler set it on this thread in the poll that just finished.
            let label = take_route_label();
            let mut response = result?;
            let elapsed = started.elapsed();
            let status = response.status().as_u16();
            if let Some(metrics) = &metrics {
                let route = label
                    .or(matched.as_ref().map(MatchedPath::as_str))
                    .unwrap_or(UNMATCHED);
                metrics.record(&method, route, status, elapsed);
            }
            drop(in_flight);
            let micros = elapsed.as_micros() as u64;
            let level = if probe {
                Level::Debug
            } else if status >= 500 {
                Level::Warn
            } else {
                Level::Info
            };
            if access_log::is_buffered() {
                if enabled(level) {
                    access_log::submit(Line {
                        time: SystemTime::now(),
                        level,
                        method,
                        uri,
                        status,
                        micros,
                        request_id: id.clone(),
                    });
                }
            } else {
                let _guard = span.enter();
                log_inline(level, &method, &uri, status, micros);
            }
            response.headers_mut().insert(REQUEST_ID.clone(), id);
            Ok(response)
        })
    }
}

/// Whether `RUST_LOG` lets an access-log line of `level` through (cached per callsite).
fn enabled(level: Level) -> bool {
    match level {
        Level::Debug => tracing::enabled!(target: TARGET, tracing::Level::DEBUG),
        Level::Info => tracing::enabled!(target: TARGET, tracing::Level::INFO),
        Level::Warn => tracing::enabled!(target: TARGET, tracing::Level::WARN),
    }
}

/// The access-log line as a `tracing` event (pretty logs, or no writer installed).
fn log_inline(level: Level, method: &Method, uri: &Uri, status: u16, micros: u64) {
    let path = uri.path();
    match level {
        Level::Debug => tracing::debug!(target: TARGET, %method, path, status, micros, "request"),
        Level::Info => tracing::info!(target: TARGET, %method, path, status, micros, "request"),
        Level::Warn => tracing::warn!(target: TARGET, %method, path, status, micros, "request"),
    }
}
