//! `GET /metrics` on the metrics listener. It runs on the coordinating runtime, not on the
//! HTTP workers, so a scrape never queues behind traffic and traffic never waits for a scrape;
//! and it keeps answering while the service drains, so the drain is visible.

use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use super::Registry;

/// The routes of the metrics listener: `/metrics`, and a 404 for anything else.
pub fn router(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found; try /metrics\n") })
        .with_state(registry)
}

async fn metrics(axum::extract::State(registry): axum::extract::State<Arc<Registry>>) -> Response {
    let body = super::encode(&registry);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(super::CONTENT_TYPE),
        )],
        body,
    )
        .into_response()
}

/// Serves `registry` on `listener` until the task is dropped (the process exits).
pub async fn serve(listener: TcpListener, registry: Arc<Registry>) {
    if let Err(e) = axum::serve(listener, router(registry)).await {
        tracing::warn!(error = %e, "metrics listener failed");
    }
}
