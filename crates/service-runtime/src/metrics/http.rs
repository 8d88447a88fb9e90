//! What every service measures about HTTP: requests by method, route and status, their latency,
//! requests in flight, and open connections.
//!
//! The route label is a template, never the raw path, so its values are bounded: a label the
//! handler chose with [`label_route`] (the static site labels by file class), else axum's
//! [`MatchedPath`](axum::extract::MatchedPath) (`/accounts/{id}`), else `unmatched`.
//!
//! Recording sits on every request, so it is a few relaxed atomic adds on handles resolved
//! once: each worker thread keeps its own map from (route, method, status) to the counter and
//! histogram of that label set, filled on first use. After warm-up a request takes no lock and
//! allocates nothing here; prometheus-client's label-set lookup (a read lock and a hash of
//! owned strings) only runs on a thread's first request of a kind.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::histogram::Histogram;

thread_local! {
    /// The label the handler of this thread's current request chose, if any.
    static ROUTE_LABEL: Cell<Option<&'static str>> = const { Cell::new(None) };
}

/// Labels the current request's route with `label` (from a small fixed set: it is a label
/// value), instead of its matched path. Call it in the handler after its last `.await`: the
/// label is per thread, and the middleware reads it as soon as the handler returns, before
/// the worker thread runs anything else. (A response extension would do the same at the cost
/// of two allocations per request.)
pub fn label_route(label: &'static str) {
    ROUTE_LABEL.with(|l| l.set(Some(label)));
}

/// Takes the label [`label_route`] set on this thread (and clears it).
pub(crate) fn take_route_label() -> Option<&'static str> {
    ROUTE_LABEL.with(Cell::take)
}

/// The route label of requests no route matched (the fallback).
pub const UNMATCHED: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

/// The HTTP metrics of one server. Cloned handles share the counts.
#[derive(Debug)]
pub struct HttpMetrics {
    /// Tells this instance's entries apart in the per-thread handle maps.
    id: usize,
    requests: Family<RequestLabels, Counter>,
    duration: Family<RouteLabels, Histogram>,
    in_flight: Gauge,
    connections_open: Gauge,
    connections: Counter,
}

impl HttpMetrics {
    /// Creates the metrics and registers them with `registry`.
    pub fn register(registry: &mut Registry) -> Arc<Self> {
        static NEXT_ID: AtomicUsize = AtomicUsize::new(1);
        let metrics = HttpMetrics {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            requests: Family::default(),
            duration: Family::default(),
            in_flight: Gauge::default(),
            connections_open: Gauge::default(),
            connections: Counter::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status code",
            metrics.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from receiving a request to its response headers, by method and route template",
            metrics.duration.clone(),
        );
        registry.register(
            "http_requests_in_flight",
            "HTTP requests being handled right now",
            metrics.in_flight.clone(),
        );
        registry.register(
            "http_connections_open",
            "HTTP connections open right now",
            metrics.connections_open.clone(),
        );
        registry.register(
            "http_connections",
            "HTTP connections accepted",
            metrics.connections.clone(),
        );
        Arc::new(metrics)
    }

    /// Counts a request in flight until the guard is dropped (answered, or given up by the
    /// client).
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    /// Counts an open connection until the guard is dropped.
    pub fn connection(&self) -> InFlight {
        self.connections.inc();
        self.connections_open.inc();
        InFlight(self.connections_open.clone())
    }

    /// Records one answered request. `route` must be a template or a fixed label.
    pub fn record(&self, method: &Method, route: &str, status: u16, elapsed: Duration) {
        let method = method_index(method);
        let key = Key {
            instance: self.id,
            route: route.as_ptr() as usize,
            route_len: route.len(),
            method,
            status,
        };
        HANDLES.with(|handles| {
            let mut handles = handles.borrow_mut();
            let entry = match handles.get(&key) {
                // The pointer names the label: routers and labels live as long as the server.
                Some(entry) if &*entry.route == route => entry,
                _ => {
                    let entry = self.resolve(route, method, status);
                    handles.insert(key, entry);
                    match handles.get(&key) {
                        Some(entry) => entry,
                        None => return,
                    }
                }
            };
            entry.requests.inc();
            entry.duration.observe(elapsed);
        });
    }

    fn resolve(&self, route: &str, method: usize, status: u16) -> Handles {
        let method = METHODS[method].1;
        let requests = self.requests.get_or_create_owned(&RequestLabels {
            method,
            route: route.to_owned(),
            status,
        });
        let duration = self.duration.get_or_create_owned(&RouteLabels {
            method,
            route: route.to_owned(),
        });
        Handles {
            route: route.into(),
            requests,
            duration,
        }
    }
}

/// Decrements its gauge when dropped.
#[derive(Debug)]
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Method label values: the standard methods, anything else is `other` (methods are
/// client-chosen, and a label must stay bounded).
const METHODS: [(Method, &str); 9] = [
    (Method::GET, "GET"),
    (Method::HEAD, "HEAD"),
    (Method::POST, "POST"),
    (Method::PUT, "PUT"),
    (Method::PATCH, "PATCH"),
    (Method::DELETE, "DELETE"),
    (Method::OPTIONS, "OPTIONS"),
    (Method::TRACE, "TRACE"),
    (Method::CONNECT, "other"),
];

fn method_index(method: &Method) -> usize {
    METHODS[..8]
        .iter()
        .position(|(m, _)| m == method)
        .unwrap_or(8)
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
struct Key {
    instance: usize,
    route: usize,
    route_len: usize,
    method: usize,
    status: u16,
}

struct Handles {
    route: Box<str>,
    requests: Counter,
    duration: Histogram,
}

thread_local! {
    static HANDLES: RefCell<HashMap<Key, Handles, BuildHasherDefault<KeyHasher>>> =
        RefCell::new(HashMap::default());
}

/// A multiply-rotate hasher for the small integer keys above (SipHash would be most of the
/// lookup's cost; the keys are not attacker-chosen beyond a bounded set).
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }

    fn write_u16(&mut self, v: u16) {
        self.write_u64(u64::from(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(registry: &Registry) -> String {
        super::super::encode(registry)
    }

    #[test]
    fn requests_are_counted_by_method_route_and_status() {
        let mut registry = Registry::default();
        let metrics = HttpMetrics::register(&mut registry);
        let route: &'static str = "/accounts/{id}";
        for _ in 0..3 {
            metrics.record(&Method::GET, route, 200, Duration::from_millis(2));
        }
        metrics.record(&Method::GET, route, 404, Duration::from_millis(1));
        metrics.record(
            &Method::from_bytes(b"BREW").expect("method"),
            UNMATCHED,
            405,
            Duration::ZERO,
        );
        let out = text(&registry);
        assert!(
            out.contains(
                r#"http_requests_total{method="GET",route="/accounts/{id}",status="200"} 3"#
            ),
            "{out}"
        );
        assert!(
            out.contains(
                r#"http_requests_total{method="GET",route="/accounts/{id}",status="404"} 1"#
            ),
            "{out}"
        );
        assert!(
            out.contains(r#"http_requests_total{method="other",route="unmatched",status="405"} 1"#),
            "{out}"
        );
        assert!(
            out.contains(
                r#"http_request_duration_seconds_count{method="GET",route="/accounts/{id}"} 4"#
            ),
            "{out}"
        );
    }

    #[test]
    fn a_different_label_at_a_reused_address_is_not_confused() {
        let mut registry = Registry::default();
        let metrics = HttpMetrics::register(&mut registry);
        let a = String::from("/a");
        metrics.record(&Method::GET, &a, 200, Duration::ZERO);
        let b = String::from("/b");
        // Same length; possibly the same address once `a` is freed.
        drop(a);
        metrics.record(&Method::GET, &b, 200, Duration::ZERO);
        let out = text(&registry);
        assert!(out.contains(r#"route="/b",status="200"} 1"#), "{out}");
    }

    #[test]
    fn guards_count_while_alive() {
        let mut registry = Registry::default();
        let metrics = HttpMetrics::register(&mut registry);
        let a = metrics.in_flight();
        let b = metrics.connection();
        assert_eq!(metrics.in_flight.get(), 1);
        assert_eq!(metrics.connections_open.get(), 1);
        drop((a, b));
        assert_eq!(metrics.in_flight.get(), 0);
        assert_eq!(metrics.connections_open.get(), 0);
        assert_eq!(metrics.connections.get(), 1);
    }
}
