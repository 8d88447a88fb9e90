//! The stand-in's state, shared by the API, the hosted pages and the event sender: its
//! options, the objects created so far, the recorded calls.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

/// How the stand-in is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// Secret keys the API accepts (anything else answers 401).
    pub api_keys: Vec<String>,
    /// Price ids that exist (`line_items[N][price]` must name one).
    pub prices: Vec<String>,
    /// A webhook endpoint that exists from the start: `(url, signing secret)`.
    pub webhook: Option<(String, String)>,
    /// Where browsers reach the hosted pages (`http://127.0.0.1:12111`); `None`: the bound
    /// address.
    pub public_url: Option<String>,
    /// Ids without the random part (`we_0001`, `we_0002`), for tests that name them. The
    /// default random part keeps ids unique across restarts, as Stripe's are.
    pub sequential_ids: bool,
}

/// How the API answers (to exercise a client's error paths).
#[derive(Debug, Clone)]
pub enum Mode {
    Normal,
    /// Every API request answers this status with a Stripe-shaped error carrying `message`.
    Fail(u16, String),
    /// Answer normally, but only after this long.
    Slow(Duration),
}

/// One API request as received.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    /// The Bearer key sent, if any.
    pub key: Option<String>,
    /// The form fields in the order sent.
    pub form: Vec<(String, String)>,
}

impl Call {
    /// The (first) value of form field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated form field (`enabled_events[]`).
    pub fn fields(&self, name: &str) -> Vec<&str> {
        self.form
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A webhook endpoint: where events go, and the secret they are signed with.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: String,
    pub secret: String,
}

/// Everything the stand-in knows, shared by the API, the hosted pages and the event sender.
pub(crate) struct Inner {
    pub options: Options,
    pub public_url: String,
    pub calls: Vec<Call>,
    pub mode: Mode,
    pub endpoints: BTreeMap<String, Endpoint>,
    /// Checkout sessions by id (Stripe's JSON object, kept up to date).
    pub sessions: BTreeMap<String, Value>,
    /// Customers by id: their email.
    pub customers: BTreeMap<String, Option<String>>,
    /// Portal sessions by id: (customer, return_url).
    pub portal_sessions: BTreeMap<String, (String, Option<String>)>,
    /// Subscriptions by id: their customer.
    pub subscriptions: BTreeMap<String, String>,
    /// Events sent so far, oldest first, with the status each endpoint answered.
    pub deliveries: Vec<(String, String, u16)>,
    next: u64,
}

impl Inner {
    pub fn new(options: Options, public_url: String) -> Inner {
        Inner {
            options,
            public_url,
            calls: Vec::new(),
            mode: Mode::Normal,
            endpoints: BTreeMap::new(),
            sessions: BTreeMap::new(),
            customers: BTreeMap::new(),
            portal_sessions: BTreeMap::new(),
            subscriptions: BTreeMap::new(),
            deliveries: Vec::new(),
            next: 0,
        }
    }

    /// A fresh id with Stripe's prefix for the object (`cs_test_...`, `cus_...`).
    pub fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        if self.options.sequential_ids {
            return format!("{prefix}_{:04}", self.next);
        }
        format!(
            "{prefix}_{:06}{}",
            self.next,
            &uuid::Uuid::new_v4().simple().to_string()[..16]
        )
    }
}

/// Unix time in seconds, as Stripe's `created` fields carry it.
pub(crate) fn api_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub(crate) type Shared = Arc<Mutex<Inner>>;

pub(crate) fn lock(shared: &Shared) -> MutexGuard<'_, Inner> {
    // A panicking handler must not take the whole stand-in down with it.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
