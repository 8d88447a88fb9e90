//! A latency histogram that records with a few relaxed atomic adds and no lock.
//!
//! prometheus-client's own `Histogram` takes a mutex per observation; on the request path of
//! every worker thread that is a shared lock per request. This one keeps one atomic per bucket
//! (non-cumulative; summed at scrape time), the count, and the sum in whole nanoseconds, so
//! recording is lock-free and a scrape sees each bucket consistent on its own (Prometheus
//! tolerates the tiny skew between buckets that a scrape racing a request can see).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// Upper bounds (seconds) of the request-latency buckets: fine below a millisecond, where the
/// static site and `/healthz` answer, and up to the 10 s a slow database request may take.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// A histogram of durations with fixed buckets ([`LATENCY_BUCKETS`] unless told otherwise).
/// Clones share the same counts.
#[derive(Clone, Debug)]
pub struct Histogram {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Upper bounds in nanoseconds, for an integer compare per bucket.
    bounds_nanos: Vec<u64>,
    bounds: &'static [f64],
    /// `buckets[i]` counts observations in `(bounds[i-1], bounds[i]]`; the last one is `+Inf`.
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new(LATENCY_BUCKETS)
    }
}

impl Histogram {
    /// A histogram with these upper bounds (seconds, ascending).
    pub fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            inner: Arc::new(Inner {
                bounds_nanos: bounds.iter().map(|b| (b * 1e9) as u64).collect(),
                bounds,
                buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
                count: AtomicU64::new(0),
                sum_nanos: AtomicU64::new(0),
            }),
        }
    }

    /// Records one duration.
    pub fn observe(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let inner = &*self.inner;
        let i = inner.bounds_nanos.partition_point(|&b| b < nanos);
        inner.buckets[i].fetch_add(1, Ordering::Relaxed);
        inner.count.fetch_add(1, Ordering::Relaxed);
        inner.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.inner.count.load(Ordering::Relaxed)
    }
}

impl TypedMetric for Histogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Histogram {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), std::fmt::Error> {
        let inner = &*self.inner;
        // The encoder adds the buckets up itself; it wants each one's own count.
        let mut count = 0;
        let mut buckets = Vec::with_capacity(inner.buckets.len());
        for (i, bucket) in inner.buckets.iter().enumerate() {
            let n = bucket.load(Ordering::Relaxed);
            count += n;
            buckets.push((inner.bounds.get(i).copied().unwrap_or(f64::INFINITY), n));
        }
        // The count is the +Inf bucket, so the two always agree within one scrape.
        let sum = inner.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        let h = Histogram::new(&[0.001, 0.01]);
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(1)); // on the bound: le="0.001"
        h.observe(Duration::from_millis(5));
        h.observe(Duration::from_secs(3));
        let counts: Vec<u64> = h
            .inner
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        assert_eq!(counts, [2, 1, 1]);
        assert_eq!(h.count(), 4);
    }
}
