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
//! revision from `GIT_REVISION` at build time), the [`process`] metrics from `/proc`, and the
//! access log's dropped-line counter; [`crate::Server`] adds the [`http`] metrics and the drain
//! state; each service adds its own before serving.
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

/// The revision the binary was built from: `GIT_REVISION` in the build's environment (the
/// image build passes it), else `unknown`.
pub const REVISION: &str = match option_env!("GIT_REVISION") {
    Some(r) => r,
    None => "unknown",
};

/// The workspace version every binary shares.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A registry with what every service exports: build info, process metrics, dropped access-log
/// lines.
pub fn registry() -> Registry {
    let mut registry = Registry::default();
    registry.register(
        "service_build",
        "The version and source revision of this binary (value 1)",
        Info::new(vec![("version", VERSION), ("revision", REVISION)]),
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
