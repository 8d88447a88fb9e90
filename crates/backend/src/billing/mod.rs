//! Stripe billing, the domain: the events the webhook acts on, applying one exactly once, and
//! whether a user is subscribed. The handlers (`POST /billing/webhook`,
//! `GET /billing/subscription`) are in `routes::billing`.
//!
//! The webhook is the only writer of `subscriptions`. Each event id is inserted into
//! `stripe_events` in the same database transaction as the state change it causes, so an event
//! is applied exactly once: a replay (Stripe retries, an attacker re-posting a captured request
//! within the tolerance) finds its id already there and changes nothing.
//!
//! With `SUBSCRIPTIONS_ENABLED=false` the routes are not mounted (404) and
//! [`Billing::is_subscribed`] is true for everyone.

pub mod signature;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::ApiError;

/// `checkout.session.completed`: the user paid; the subscription becomes active.
pub const CHECKOUT_COMPLETED: &str = "checkout.session.completed";
/// `invoice.paid`: a renewal went through; active, with the new period end.
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

/// Billing as configured: on or off, and the webhook's signing secret.
#[derive(Debug, Clone)]
pub struct Billing {
    pub enabled: bool,
    pub webhook_secret: Option<SecretString>,
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
        Ok(status.as_deref() == Some("active"))
    }
}

/// What became of one verified event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Seen before: nothing changed.
    Duplicate,
    /// Recorded; `applied` is false when it referred to nothing we know.
    Recorded { applied: bool },
}

/// Records a verified event (the raw webhook body) and applies it, exactly once.
pub async fn process(pool: &PgPool, body: &[u8]) -> Result<Outcome, ApiError> {
    let event: Value = serde_json::from_slice(body).map_err(|_| bad_payload("body is not JSON"))?;
    let id = str_at(&event, "/id").ok_or_else(|| bad_payload("event has no id"))?;
    let kind = str_at(&event, "/type").ok_or_else(|| bad_payload("event has no type"))?;
    let object = event
        .pointer("/data/object")
        .cloned()
        .unwrap_or(Value::Null);

    let mut tx = pool.begin().await?;
    let fresh = sqlx::query_scalar!(
        "INSERT INTO stripe_events (id, type) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id",
        id,
        kind
    )
    .fetch_optional(&mut *tx)
    .await?
    .is_some();
    if !fresh {
        tx.rollback().await?;
        tracing::info!(
            event_id = id,
            event_type = kind,
            "duplicate webhook event ignored"
        );
        return Ok(Outcome::Duplicate);
    }
    let applied = apply(&mut tx, kind, &object).await?;
    tx.commit().await?;
    tracing::info!(
        event_id = id,
        event_type = kind,
        applied,
        "webhook event processed"
    );
    Ok(Outcome::Recorded { applied })
}

/// `400 invalid_signature`: the signature header is missing, stale or does not match.
pub fn bad_signature(e: signature::SignatureError) -> ApiError {
    ApiError::BadRequest {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_signature",
        message: e.to_string(),
    }
}

fn bad_payload(message: &str) -> ApiError {
    ApiError::BadRequest {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_payload",
        message: message.to_string(),
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// Applies one event; `false` when it referred to nothing we know (still recorded as seen,
/// because a retry would not find anything either).
async fn apply(tx: &mut sqlx::PgConnection, kind: &str, object: &Value) -> Result<bool, ApiError> {
    let customer = str_at(object, "/customer");
    match kind {
        CHECKOUT_COMPLETED => {
            let user_id =
                str_at(object, "/client_reference_id").and_then(|s| Uuid::parse_str(s).ok());
            let (Some(user_id), Some(customer)) = (user_id, customer) else {
                tracing::warn!("checkout.session.completed without client_reference_id/customer");
                return Ok(false);
            };
            let subscription = str_at(object, "/subscription");
            let done = sqlx::query!(
                "INSERT INTO subscriptions (user_id, stripe_customer_id, stripe_subscription_id, status)
                 SELECT id, $2, $3, 'active' FROM users WHERE id = $1
                 ON CONFLICT (user_id) DO UPDATE
                 SET stripe_customer_id = EXCLUDED.stripe_customer_id,
                     stripe_subscription_id = COALESCE(EXCLUDED.stripe_subscription_id,
                                                       subscriptions.stripe_subscription_id),
                     status = 'active', updated_at = now()",
                user_id,
                customer,
                subscription
            )
            .execute(&mut *tx)
            .await?;
            Ok(done.rows_affected() > 0)
        }
        INVOICE_PAID | INVOICE_PAYMENT_FAILED | SUBSCRIPTION_DELETED => {
            let Some(customer) = customer else {
                return Ok(false);
            };
            let status = match kind {
                INVOICE_PAID => "active",
                INVOICE_PAYMENT_FAILED => "past_due",
                _ => "canceled",
            };
            let period_end = if kind == INVOICE_PAID {
                object
                    .pointer("/lines/data/0/period/end")
                    .and_then(Value::as_i64)
                    .and_then(|ts| DateTime::<Utc>::from_timestamp(ts, 0))
            } else {
                None
            };
            let done = sqlx::query!(
                "UPDATE subscriptions
                 SET status = $2, current_period_end = COALESCE($3, current_period_end), updated_at = now()
                 WHERE stripe_customer_id = $1",
                customer,
                status,
                period_end
            )
            .execute(&mut *tx)
            .await?;
            Ok(done.rows_affected() > 0)
        }
        _ => Ok(false),
    }
}
