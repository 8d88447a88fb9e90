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
//! - [`state`]: what the stand-in knows (sessions, customers, endpoints, recorded calls).
//! - [`webhooks`]: events as Stripe sends them, signed (`Stripe-Signature: t=...,v1=...`) with
//!   each endpoint's secret and posted to every endpoint.
//!
//! Every API request is recorded ([`StandIn::calls`]) so tests can assert what was (not) sent.

pub mod api;
pub mod hosted;
pub mod state;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use serde_json::Value;

use state::{lock, Inner, Shared};
pub use state::{Call, Endpoint, Mode, Options};

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
    // reqwest (which sends the webhooks) is built without a crypto provider of its own; the
    // first one installed wins, so this is harmless next to the backend's.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let public_url = options
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_string();
    let mut inner = Inner::new(options, public_url);
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
