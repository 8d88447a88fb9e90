//! A local stand-in for the parts of Stripe this project uses, behaving as Stripe's API
//! reference documents them: the tests of `backend` and `tools` run against it on
//! `127.0.0.1:0`, and the `stripe-stand-in` binary serves it to the end-to-end stack (where the
//! backend differs from production only in `STRIPE_API_BASE`).
//!
//! # Layout
//! - [`api`]: `POST /v1/checkout/sessions`, `POST /v1/billing_portal/sessions`,
//!   `POST /v1/webhook_endpoints`, `DELETE /v1/webhook_endpoints/{id}`: Bearer-key check with
//!   Stripe's 401, form bodies checked field by field, Stripe's error shape
//!   `{"error": {"type", "message", "param"?, "code"?}}`.
//! - [`hosted`]: the pages a browser is sent to: a minimal hosted checkout (`/c/pay/{id}`) whose
//!   "Pay" button completes the session, and a customer portal (`/p/session/{id}`).
//! - [`webhooks`]: events as Stripe sends them, signed (`Stripe-Signature: t=...,v1=...`) with
//!   each endpoint's secret and posted to every endpoint.
//!
//! Every API request is recorded ([`StandIn::calls`]) so tests can assert what was (not) sent.

pub mod api;
pub mod hosted;
pub mod webhooks;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
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
    /// A fresh id with Stripe's prefix for the object (`cs_test_...`, `cus_...`).
    pub fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
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

/// A running stand-in.
#[derive(Clone)]
pub struct StandIn {
    pub addr: SocketAddr,
    inner: Shared,
}

impl StandIn {
    /// Serves the stand-in on `127.0.0.1:0` in the current runtime.
    pub async fn start(options: Options) -> StandIn {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Stripe stand-in");
        Self::serve(listener, options)
    }

    /// Serves the stand-in on `listener` in the current runtime.
    pub fn serve(listener: tokio::net::TcpListener, options: Options) -> StandIn {
        let addr = listener.local_addr().expect("stand-in address");
        let (router, inner) = router(options, addr);
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        StandIn { addr, inner }
    }

    /// The API base (what `STRIPE_API_BASE` is set to).
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_mode(&self, mode: Mode) {
        lock(&self.inner).mode = mode;
    }

    pub fn calls(&self) -> Vec<Call> {
        lock(&self.inner).calls.clone()
    }

    /// Registers a webhook endpoint as if created earlier; returns its id.
    pub fn add_endpoint(&self, url: &str, secret: &str) -> String {
        let mut inner = lock(&self.inner);
        let id = inner.id("we");
        inner.endpoints.insert(
            id.clone(),
            Endpoint {
                url: url.into(),
                secret: secret.into(),
            },
        );
        id
    }

    /// Registers an endpoint under a given id (for delete tests).
    pub fn add_endpoint_with_id(&self, id: &str, url: &str) {
        lock(&self.inner).endpoints.insert(
            id.into(),
            Endpoint {
                url: url.into(),
                secret: "whsec_preset".into(),
            },
        );
    }

    pub fn has_endpoint(&self, id: &str) -> bool {
        lock(&self.inner).endpoints.contains_key(id)
    }

    /// Creates a customer (as a finished checkout would have); returns its id.
    pub fn add_customer(&self, email: &str) -> String {
        let mut inner = lock(&self.inner);
        let id = inner.id("cus");
        inner.customers.insert(id.clone(), Some(email.into()));
        id
    }

    /// The checkout session `id` as Stripe would return it.
    pub fn session(&self, id: &str) -> Option<Value> {
        lock(&self.inner).sessions.get(id).cloned()
    }

    /// Events delivered so far: (event type, endpoint url, HTTP status answered).
    pub fn deliveries(&self) -> Vec<(String, String, u16)> {
        lock(&self.inner).deliveries.clone()
    }
}

/// The stand-in's routes and its state, for `addr` (used when no public URL is configured).
pub(crate) fn router(options: Options, addr: SocketAddr) -> (Router, Shared) {
    let public_url = options
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_string();
    let mut inner = Inner {
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
    };
    if let Some((url, secret)) = inner.options.webhook.clone() {
        let id = inner.id("we");
        inner.endpoints.insert(id, Endpoint { url, secret });
    }
    let shared: Shared = Arc::new(Mutex::new(inner));
    let router = api::router()
        .merge(hosted::router())
        .with_state(shared.clone());
    (router, shared)
}
