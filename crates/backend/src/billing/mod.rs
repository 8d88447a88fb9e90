//! Stripe billing, the domain: checkout and portal sessions, the events the webhook acts on
//! (applied exactly once, in the order Stripe created them), the trial and whether a user may
//! write. The handlers (`POST /billing/checkout`, `POST /billing/portal`,
//! `POST /billing/webhook`, `GET /billing/subscription`) and the write guard are in
//! `routes::billing`.
//!
//! # Layout
//! - [`stripe`]: the Stripe API client (form POSTs, DELETEs, Stripe's errors); `tools` uses it too.
//! - [`checkout`]: the Checkout Session and customer portal calls.
//! - [`events`]: recording and applying webhook events.
//! - [`access`]: trial end, subscription state, and what that allows.
//! - [`signature`]: `Stripe-Signature` verification.
//!
//! The webhook is the only writer of `subscriptions`. With `SUBSCRIPTIONS_ENABLED=false` the
//! routes are not mounted (404) and [`Billing::is_subscribed`] is true for everyone.

pub mod access;
pub mod checkout;
pub mod events;
pub mod signature;
pub mod stripe;

use std::sync::Arc;

use axum::http::StatusCode;
use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::ApiError;

pub use events::{process, Outcome};

/// `checkout.session.completed`: the user finished checkout; active once paid.
pub const CHECKOUT_COMPLETED: &str = "checkout.session.completed";
/// `invoice.paid`: a payment went through; active, with the new period end.
pub const INVOICE_PAID: &str = "invoice.paid";
/// `invoice.payment_failed`: past due.
pub const INVOICE_PAYMENT_FAILED: &str = "invoice.payment_failed";
/// `customer.subscription.deleted`: canceled.
pub const SUBSCRIPTION_DELETED: &str = "customer.subscription.deleted";

/// Every event the webhook acts on: `tools inject-stripe-secret` subscribes the endpoint to
/// exactly these.
pub const EVENTS: [&str; 4] = [
    CHECKOUT_COMPLETED,
    INVOICE_PAID,
    INVOICE_PAYMENT_FAILED,
    SUBSCRIPTION_DELETED,
];

/// Billing as configured.
#[derive(Debug, Clone)]
pub struct Billing {
    pub enabled: bool,
    pub webhook_secret: Option<SecretString>,
    /// Stripe Checkout and the portal (present whenever billing is enabled).
    pub checkout: Option<Arc<checkout::Checkout>>,
    /// How long after sign-up a user may write without a subscription (`TRIAL_DAYS`).
    pub trial: chrono::TimeDelta,
}

impl Billing {
    /// Whether the user has access to paid features.
    pub async fn is_subscribed(&self, pool: &PgPool, user_id: Uuid) -> Result<bool, ApiError> {
        if !self.enabled {
            return Ok(true);
        }
        let status = sqlx::query_scalar!(
            "SELECT status FROM subscriptions WHERE user_id = $1",
            user_id
        )
        .fetch_optional(pool)
        .await?;
        Ok(status.as_deref() == Some(access::ACTIVE))
    }
}

/// `400 invalid_signature`: the signature header is missing, stale or does not match.
pub fn bad_signature(e: signature::SignatureError) -> ApiError {
    ApiError::BadRequest {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_signature",
        message: e.to_string(),
    }
}
