//! Request handling: a hand-written fallback handler over the in-memory [`Site`].
//!
//! Per request: a method check, path normalisation (borrowed unless the path has `%`), one hash
//! lookup, `Accept-Encoding` / `If-None-Match` parsing without allocation, then a response made
//! of a cloned precomputed `HeaderMap` and a cloned `Bytes`. `/healthz` is routed by axum before
//! any of this (the shared server mounts it), so probes never touch the site.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::Router;
use bytes::Bytes;
use service_runtime::metrics::http::label_route;
use service_runtime::{ServeArgs, Server};

use crate::negotiate::{accepts_html, none_match, Encoding, Preferences};
use crate::path::{has_extension, normalize};
use crate::site::{Resource, Route, Site, Variant};

/// The service: every path from the site, behind the shared [`Server`] (which adds `/healthz`,
/// given the site's security headers too, the access log, and the metrics on
/// `metrics_listener` when it is given).
pub fn build(
    site: Arc<Site>,
    args: &ServeArgs,
    metrics_listener: Option<tokio::net::TcpListener>,
) -> Server {
    let security = site.security_headers().clone();
    let mut registry = service_runtime::metrics::registry();
    site.metrics().register(&mut registry);
    let routes = Router::new().fallback(handle).with_state(site);
    Server::new(routes, args)
        .healthz_headers(security)
        .metrics(metrics_listener, registry)
}

/// Answers one request from the site. Its route label in the metrics is the file class
/// (`page`, `asset`, `hashed_asset`) or the kind of answer (`not_found`, `redirect`,
/// `method_not_allowed`): never the path.
pub async fn handle(State(site): State<Arc<Site>>, request: Request) -> Response {
    let (label, response) = respond(&site, request.method(), request.uri(), request.headers());
    label_route(label);
    if request.method() == Method::GET {
        count_body(site.metrics(), &response);
    }
    response
}

fn count_body(metrics: &crate::metrics::SiteMetrics, response: &Response) {
    use axum::body::HttpBody;
    if response.status() == StatusCode::NOT_MODIFIED {
        metrics.not_modified();
        return;
    }
    let encoding = match response.headers().get(header::CONTENT_ENCODING) {
        Some(v) if v == "br" => "br",
        Some(v) if v == "gzip" => "gzip",
        _ => "identity",
    };
    metrics.sent(encoding, response.body().size_hint().exact().unwrap_or(0));
}

fn respond(
    site: &Site,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
) -> (&'static str, Response) {
    if method != Method::GET && method != Method::HEAD {
        return (
            "method_not_allowed",
            answer(
                StatusCode::METHOD_NOT_ALLOWED,
                site.method_not_allowed_headers(),
                Bytes::from_static(b"method not allowed\n"),
            ),
        );
    }
    let raw = uri.path();
    let Some(path) = normalize(raw) else {
        return ("not_found", not_found(site, headers));
    };
    match site.route(&path) {
        Some(Route::File(resource)) => (resource.class, serve(resource, headers)),
        Some(Route::AddSlash) => ("redirect", add_slash(site, raw, uri.query())),
        None => match site.spa_index() {
            Some(index) if !has_extension(&path) && accepts_html(headers) => {
                (index.class, serve(index, headers))
            }
            _ => ("not_found", not_found(site, headers)),
        },
    }
}

fn pick<'a>(resource: &'a Resource, headers: &HeaderMap) -> &'a Variant {
    let prefs = Preferences::from_headers(headers);
    let (br, gzip) = (resource.br(), resource.gzip());
    match prefs.choose(br.is_some(), gzip.is_some()) {
        Encoding::Br => br.unwrap_or(&resource.identity),
        Encoding::Gzip => gzip.unwrap_or(&resource.identity),
        Encoding::Identity => &resource.identity,
    }
}

fn serve(resource: &Resource, headers: &HeaderMap) -> Response {
    let variant = pick(resource, headers);
    if none_match(headers, &variant.etag) {
        return answer(
            StatusCode::NOT_MODIFIED,
            &variant.not_modified,
            Bytes::new(),
        );
    }
    answer(StatusCode::OK, &variant.headers, variant.body.clone())
}

fn not_found(site: &Site, headers: &HeaderMap) -> Response {
    let variant = pick(site.not_found(), headers);
    answer(
        StatusCode::NOT_FOUND,
        &variant.headers,
        variant.body.clone(),
    )
}

fn add_slash(site: &Site, raw_path: &str, query: Option<&str>) -> Response {
    let location = match query {
        Some(q) => format!("{raw_path}/?{q}"),
        None => format!("{raw_path}/"),
    };
    let mut response = answer(
        StatusCode::MOVED_PERMANENTLY,
        site.redirect_headers(),
        Bytes::new(),
    );
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// HEAD answers carry the same headers; hyper drops the body for them.
fn answer(status: StatusCode, headers: &HeaderMap, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers.clone();
    response
}
