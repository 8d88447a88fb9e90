//! Prometheus metrics: one registry per service, served as Prometheus text on its own port
//! (`METRICS_PORT`, default 9090; never routed by the Gateway).
//!
//! Built on `prometheus-client` (the Prometheus project's Rust client). It was picked over
//! `metrics` + `metrics-exporter-prometheus` for the request path: its metrics are plain
//! values (a counter is an `Arc<AtomicU64>`) that can be held and bumped directly, with no
//! global recorder and no key lookup per update, while the exporter keeps histogram samples in
//! a lock-free queue it allocates blocks for and summarises on scrape. What the crate does
//! with a lock (its mutex histogram, the label-set map of a family) is kept off the request
//! path: [`histogram::Histogram`] is atomic buckets, and [`http`] resolves label sets once per
//! worker thread.
//!
//! Every registry made by [`registry`] carries `service_build_info{version,revision}` (the
//! revision from `SERVICE_REVISION` at start, which the images set), the [`process`] metrics
//! from `/proc`, and the access log's dropped-line counter; [`crate::Server`] adds the [`http`]
//! metrics and the drain state; each service adds its own before serving.
//!
//! # Layout
//! - [`histogram`]: the lock-free latency histogram.
//! - [`http`]: requests by method/route/status, latency, in-flight, connections.
//! - [`process`]: RSS, CPU seconds, open fds... read at scrape time.
//! - [`endpoint`]: the `/metrics` listener.

pub mod endpoint;
pub mod histogram;
pub mod http;
pub mod process;

pub use prometheus_client::registry::Registry;

use prometheus_client::metrics::info::Info;

/// `Content-Type` of the Prometheus text format (version 0.0.4), what `/metrics` answers.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The environment variable naming the source revision: the images set it to the git revision
/// they were built from (docker/Dockerfile). Read at start rather than compiled in, so that a new
/// commit does not recompile the crate every binary depends on, and relink every binary.
pub const REVISION_ENV: &str = "SERVICE_REVISION";

/// The source revision of this process: [`REVISION_ENV`] if set and not empty, else `unknown`.
pub fn revision() -> String {
    revision_from(std::env::var(REVISION_ENV).ok())
}

fn revision_from(value: Option<String>) -> String {
    value
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The workspace version every binary shares.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A registry with what every service exports: build info, process metrics, dropped access-log
/// lines.
pub fn registry() -> Registry {
    let mut registry = Registry::default();
    registry.register(
        "service_build",
        "The version and source revision of this binary (value 1)",
        Info::new(vec![
            ("version", VERSION.to_owned()),
            ("revision", revision()),
        ]),
    );
    registry.register_collector(Box::new(process::ProcessCollector));
    registry.register(
        "access_log_dropped_lines",
        "Access-log lines dropped because the log writer fell behind",
        crate::access_log::dropped(),
    );
    registry
}

/// The registry in the Prometheus text format.
pub fn encode(registry: &Registry) -> String {
    let mut out = String::with_capacity(8 * 1024);
    // Writing to a String cannot fail; a metric that fails to encode ends the text early.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, registry);
    out
}

#[cfg(test)]
mod tests {
    use super::revision_from;

    #[test]
    fn revision_is_the_variable_or_unknown() {
        assert_eq!(revision_from(Some("0123abc".into())), "0123abc");
        assert_eq!(revision_from(Some(String::new())), "unknown");
        assert_eq!(revision_from(None), "unknown");
    }
}
