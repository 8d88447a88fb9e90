//! Stripe billing, the domain: checkout and portal sessions, the events the webhook acts on
//! (applied exactly once, in the order Stripe created them), the trial and whether a user may
//! write. The handlers (`POST /billing/checkout`, `POST /billing/portal`,
//! `POST /billing/webhook`, `GET /billing/subscription`) and the write guard are in
//! `routes::billing`.
//!
//! # Layout
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

use std::sync::Arc;

use axum::http::StatusCode;
use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::ApiError;

pub use events::{
    process, Outcome, CHECKOUT_COMPLETED, EVENTS, INVOICE_PAID, INVOICE_PAYMENT_FAILED,
    SUBSCRIPTION_DELETED,
};

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
        .fetch_optional(&mut *crate::db::acquire(pool).await?)
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
