//! The static site's own metrics, beside the HTTP and process metrics every service exports:
//! body bytes sent by content encoding (how much compression saves) and 304 answers (how much
//! revalidation saves). Handles are resolved once, so counting is one atomic add each.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EncodingLabels {
    encoding: &'static str,
}

/// The site's counters (one set per loaded site).
#[derive(Debug)]
pub struct SiteMetrics {
    bytes: Family<EncodingLabels, Counter>,
    identity: Counter,
    gzip: Counter,
    br: Counter,
    not_modified: Counter,
}

impl Default for SiteMetrics {
    fn default() -> Self {
        let bytes = Family::<EncodingLabels, Counter>::default();
        let get = |encoding| bytes.get_or_create_owned(&EncodingLabels { encoding });
        SiteMetrics {
            identity: get("identity"),
            gzip: get("gzip"),
            br: get("br"),
            bytes,
            not_modified: Counter::default(),
        }
    }
}

impl SiteMetrics {
    /// Adds these metrics to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "site_response_body_bytes",
            "Response body bytes sent for GET requests, by content encoding (identity, gzip, br)",
            self.bytes.clone(),
        );
        registry.register(
            "site_not_modified_responses",
            "304 Not Modified answers (the client's cached copy was still current)",
            self.not_modified.clone(),
        );
    }

    /// A body of `len` bytes in `encoding` is being sent.
    pub fn sent(&self, encoding: &str, len: u64) {
        let counter = match encoding {
            "gzip" => &self.gzip,
            "br" => &self.br,
            _ => &self.identity,
        };
        counter.inc_by(len);
    }

    /// A 304 answer.
    pub fn not_modified(&self) {
        self.not_modified.inc();
    }
}
