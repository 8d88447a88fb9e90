//! The backend's own metrics, beside the HTTP and process metrics every service exports:
//! the database pool (connections open, idle, the maximum), answers given because the database
//! was unavailable, Stripe webhook events by type and outcome, and throttled auth attempts.
//!
//! The counters are process-wide (errors are turned into answers far from any state), and
//! every [`register`] call adds the same ones to a service's registry. Pool figures are read
//! from the pool at scrape time. sqlx does not report how long an acquire waited, so every
//! request takes its connection through [`crate::db::acquire`], which times it
//! (`db_pool_acquire_duration_seconds`): a saturated pool shows there first, as waits that
//! grow towards `DATABASE_ACQUIRE_TIMEOUT`, before it shows as `database_unavailable` answers.

use std::sync::LazyLock;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use service_runtime::metrics::histogram::Histogram;
use sqlx::PgPool;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    r#type: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    action: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

struct Counters {
    database_unavailable: Counter,
    webhook_events: Family<WebhookLabels, Counter>,
    throttled: Family<ActionLabels, Counter>,
    acquire: Histogram,
}

static COUNTERS: LazyLock<Counters> = LazyLock::new(|| Counters {
    database_unavailable: Counter::default(),
    webhook_events: Family::default(),
    throttled: Family::default(),
    // The request-latency buckets (100 us to 10 s) fit the waits too: an idle pool hands a
    // connection over in well under a millisecond, a saturated one up to
    // DATABASE_ACQUIRE_TIMEOUT (3 s by default).
    acquire: Histogram::default(),
});

/// Adds the backend's metrics, and `pool`'s figures, to `registry`.
pub fn register(registry: &mut Registry, pool: PgPool) {
    let c = &*COUNTERS;
    registry.register(
        "database_unavailable_answers",
        "Requests answered 503 because PostgreSQL could not be reached or the pool timed out",
        c.database_unavailable.clone(),
    );
    registry.register(
        "billing_webhook_events",
        "Stripe webhook deliveries by event type and outcome",
        c.webhook_events.clone(),
    );
    registry.register(
        "auth_throttled_attempts",
        "Login and sign-up attempts refused by the per-address rate limit (429)",
        c.throttled.clone(),
    );
    registry.register(
        "db_pool_acquire_duration_seconds",
        "Time a request waited for a database connection from the pool (including its ping)",
        c.acquire.clone(),
    );
    registry.register_collector(Box::new(PoolCollector(pool)));
}

/// One answer given because the database is unavailable.
pub fn database_unavailable() {
    COUNTERS.database_unavailable.inc();
}

/// One connection acquired from the pool after waiting `elapsed` (timed-out acquires too).
pub fn pool_acquired(elapsed: std::time::Duration) {
    COUNTERS.acquire.observe(elapsed);
}

/// One attempt of `action` (`login`, `signup`) refused by the rate limit.
pub fn throttled(action: &'static str) {
    COUNTERS
        .throttled
        .get_or_create(&ActionLabels { action })
        .inc();
}

/// One webhook delivery: its event `type` (one of [`crate::billing::EVENTS`] or `other`) and
/// what came of it (a fixed word: `applied`, `duplicate`, `invalid_signature`...).
pub fn webhook_event(r#type: &'static str, outcome: &'static str) {
    COUNTERS
        .webhook_events
        .get_or_create(&WebhookLabels { r#type, outcome })
        .inc();
}

/// `db_pool_connections{state="idle|in_use"}` and `db_pool_max_connections`, read on scrape.
#[derive(Debug)]
struct PoolCollector(PgPool);

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let size = i64::from(self.0.size());
        let idle = i64::try_from(self.0.num_idle()).unwrap_or(i64::MAX);
        let max = i64::from(self.0.options().get_max_connections());
        let mut family = encoder.encode_descriptor(
            "db_pool_connections",
            "Connections the database pool holds, by state",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for (state, value) in [("idle", idle), ("in_use", (size - idle).max(0))] {
            let gauge = ConstGauge::new(value);
            gauge.encode(family.encode_family(&StateLabels { state })?)?;
        }
        let gauge = ConstGauge::new(max);
        gauge.encode(encoder.encode_descriptor(
            "db_pool_max_connections",
            "The most connections the database pool opens (DATABASE_MAX_CONNECTIONS)",
            None,
            gauge.metric_type(),
        )?)
    }
}
