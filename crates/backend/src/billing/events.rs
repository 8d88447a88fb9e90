//! Recording and applying a verified webhook event, exactly once and in order.
//!
//! Each event id is inserted into `stripe_events` in the same database transaction as the state
//! change it causes, so an event is applied exactly once: a replay (Stripe retries, an attacker
//! re-posting a captured request within the tolerance) finds its id already there and changes
//! nothing.
//!
//! Stripe does not deliver events in order, so each change is checked against the state it would
//! overwrite ([`decide`]): a change older (by the event's `created`) than the one that set the
//! current status is skipped, a canceled subscription is never reactivated by a late event about
//! that same subscription, and events about a subscription other than the user's current one
//! are skipped. `checkout.session.completed` activates only when the session is paid (or needs
//! no payment); otherwise it links the customer and waits for `invoice.paid`.
//!
//! An event that can never be applied (it names no user we know, its customer belongs to another
//! user, it is out of date) is still recorded and acknowledged with 2xx, and logged: answering
//! an error would only make Stripe retry it for three days.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use axum::http::StatusCode;

use super::access::ACTIVE;
use crate::error::ApiError;

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

const INCOMPLETE: &str = "incomplete";
const PAST_DUE: &str = "past_due";
const CANCELED: &str = "canceled";

/// What became of one verified event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Seen before: nothing changed.
    Duplicate,
    /// Recorded; `skipped` says why it changed nothing, `None` when applied.
    Recorded { skipped: Option<&'static str> },
}

/// The subscription row a change would overwrite.
#[derive(Debug, Clone)]
pub struct Current {
    pub status: String,
    pub subscription: Option<String>,
    /// `created` of the event that set `status`.
    pub changed_at: Option<DateTime<Utc>>,
}

/// A change an event asks for.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub status: &'a str,
    /// The subscription the event is about, if it names one.
    pub subscription: Option<&'a str>,
    pub created: DateTime<Utc>,
    /// A checkout starts a (possibly new) subscription rather than updating the current one.
    pub starts_subscription: bool,
}

/// Whether `change` may overwrite `current`: `Err` names why not.
pub fn decide(current: &Current, change: &Change<'_>) -> Result<(), &'static str> {
    let same = match (current.subscription.as_deref(), change.subscription) {
        (Some(a), Some(b)) => Some(a == b),
        _ => None,
    };
    if same == Some(false) && !change.starts_subscription {
        return Err("the event is about another subscription than the user's current one");
    }
    if current.status == CANCELED && same == Some(true) && change.status != CANCELED {
        return Err("the subscription was canceled; a late event cannot reactivate it");
    }
    // Deleting is final for the subscription it names, whatever arrived before it.
    let final_for_it = change.status == CANCELED && same == Some(true);
    if !final_for_it && current.changed_at.is_some_and(|at| at > change.created) {
        return Err("the event is older than the state it would overwrite");
    }
    if change.starts_subscription && current.status == ACTIVE && change.status != ACTIVE {
        return Err("an unpaid checkout does not end an active subscription");
    }
    Ok(())
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

/// Records a verified event (the raw webhook body) and applies it, exactly once.
pub async fn process(pool: &PgPool, body: &[u8]) -> Result<Outcome, ApiError> {
    let event: Value = serde_json::from_slice(body).map_err(|_| bad_payload("body is not JSON"))?;
    let id = str_at(&event, "/id").ok_or_else(|| bad_payload("event has no id"))?;
    let kind = str_at(&event, "/type").ok_or_else(|| bad_payload("event has no type"))?;
    let created = event
        .get("created")
        .and_then(Value::as_i64)
        .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0))
        .unwrap_or_else(Utc::now);
    let object = event
        .pointer("/data/object")
        .cloned()
        .unwrap_or(Value::Null);

    let mut conn = crate::db::acquire(pool).await?;
    let mut tx = conn.begin().await?;
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
    let skipped = apply(&mut tx, kind, created, &object).await?.err();
    tx.commit().await?;
    match skipped {
        None => tracing::info!(event_id = id, event_type = kind, "webhook event applied"),
        Some(reason) => tracing::warn!(
            event_id = id,
            event_type = kind,
            reason,
            "webhook event recorded but not applied"
        ),
    }
    Ok(Outcome::Recorded { skipped })
}

type Applied = Result<(), &'static str>;

/// Applies one event; the inner `Err` says why it changed nothing (still recorded as seen,
/// because a retry would not change that).
async fn apply(
    tx: &mut PgConnection,
    kind: &str,
    created: DateTime<Utc>,
    object: &Value,
) -> Result<Applied, ApiError> {
    let customer = str_at(object, "/customer");
    match kind {
        CHECKOUT_COMPLETED => checkout_completed(tx, created, object).await,
        INVOICE_PAID | INVOICE_PAYMENT_FAILED | SUBSCRIPTION_DELETED => {
            let Some(customer) = customer else {
                return Ok(Err("the event names no customer"));
            };
            let (status, subscription) = match kind {
                INVOICE_PAID => (ACTIVE, invoice_subscription(object)),
                INVOICE_PAYMENT_FAILED => (PAST_DUE, invoice_subscription(object)),
                _ => (
                    CANCELED,
                    str_at(object, "/id").filter(|id| id.starts_with("sub_")),
                ),
            };
            let period_end = (kind == INVOICE_PAID)
                .then(|| {
                    object
                        .pointer("/lines/data/0/period/end")
                        .and_then(Value::as_i64)
                })
                .flatten()
                .and_then(|ts| DateTime::<Utc>::from_timestamp(ts, 0));
            let row = sqlx::query!(
                "SELECT user_id, status, stripe_subscription_id, status_changed_at
                 FROM subscriptions WHERE stripe_customer_id = $1 FOR UPDATE",
                customer
            )
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                return Ok(Err("no user has this customer"));
            };
            let current = Current {
                status: row.status,
                subscription: row.stripe_subscription_id,
                changed_at: row.status_changed_at,
            };
            let change = Change {
                status,
                subscription,
                created,
                starts_subscription: false,
            };
            if let Err(reason) = decide(&current, &change) {
                return Ok(Err(reason));
            }
            sqlx::query!(
                "UPDATE subscriptions
                 SET status = $2, current_period_end = COALESCE($3, current_period_end),
                     stripe_subscription_id = COALESCE(stripe_subscription_id, $4),
                     status_changed_at = GREATEST(status_changed_at, $5), updated_at = now()
                 WHERE user_id = $1",
                row.user_id,
                status,
                period_end,
                subscription,
                created
            )
            .execute(&mut *tx)
            .await?;
            Ok(Ok(()))
        }
        _ => Ok(Err("not an event type billing acts on")),
    }
}

/// The subscription an invoice belongs to: `subscription` in API versions before 2025-03-31,
/// `parent.subscription_details.subscription` since.
fn invoice_subscription(invoice: &Value) -> Option<&str> {
    str_at(invoice, "/subscription")
        .or_else(|| str_at(invoice, "/parent/subscription_details/subscription"))
}

async fn checkout_completed(
    tx: &mut PgConnection,
    created: DateTime<Utc>,
    session: &Value,
) -> Result<Applied, ApiError> {
    let user_id = str_at(session, "/client_reference_id").and_then(|s| Uuid::parse_str(s).ok());
    let (Some(user_id), Some(customer)) = (user_id, str_at(session, "/customer")) else {
        return Ok(Err(
            "the session has no client_reference_id (user) or customer",
        ));
    };
    let subscription = str_at(session, "/subscription");
    // `no_payment_required`: a free trial or a 100 % coupon, paid as far as access goes.
    let paid = matches!(
        str_at(session, "/payment_status"),
        Some("paid") | Some("no_payment_required")
    );
    let status = if paid { ACTIVE } else { INCOMPLETE };

    let owner = sqlx::query_scalar!(
        "SELECT user_id FROM subscriptions WHERE stripe_customer_id = $1",
        customer
    )
    .fetch_optional(&mut *tx)
    .await?;
    if owner.is_some_and(|owner| owner != user_id) {
        return Ok(Err("the customer already belongs to another user"));
    }
    let row = sqlx::query!(
        "SELECT status, stripe_subscription_id, status_changed_at
         FROM subscriptions WHERE user_id = $1 FOR UPDATE",
        user_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = row {
        let current = Current {
            status: row.status,
            subscription: row.stripe_subscription_id,
            changed_at: row.status_changed_at,
        };
        let change = Change {
            status,
            subscription,
            created,
            starts_subscription: true,
        };
        if let Err(reason) = decide(&current, &change) {
            return Ok(Err(reason));
        }
    }
    let done = sqlx::query!(
        "INSERT INTO subscriptions
             (user_id, stripe_customer_id, stripe_subscription_id, status, status_changed_at)
         SELECT id, $2, $3, $4, $5 FROM users WHERE id = $1
         ON CONFLICT (user_id) DO UPDATE
         SET stripe_customer_id = EXCLUDED.stripe_customer_id,
             stripe_subscription_id = COALESCE(EXCLUDED.stripe_subscription_id,
                                               subscriptions.stripe_subscription_id),
             status = EXCLUDED.status, status_changed_at = EXCLUDED.status_changed_at,
             updated_at = now()",
        user_id,
        customer,
        subscription,
        status,
        created
    )
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(Err("no such user (deleted since checkout?)"));
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(t, 0).expect("time")
    }

    fn current(status: &str, sub: &str, t: i64) -> Current {
        Current {
            status: status.into(),
            subscription: Some(sub.into()),
            changed_at: Some(at(t)),
        }
    }

    fn change<'a>(status: &'a str, sub: &'a str, t: i64) -> Change<'a> {
        Change {
            status,
            subscription: Some(sub),
            created: at(t),
            starts_subscription: false,
        }
    }

    #[test]
    fn a_late_invoice_paid_does_not_reactivate_a_deleted_subscription() {
        let canceled = current(CANCELED, "sub_1", 200);
        // Older than the deletion, or in the same second: canceled stays canceled.
        assert!(decide(&canceled, &change(ACTIVE, "sub_1", 100)).is_err());
        assert!(decide(&canceled, &change(ACTIVE, "sub_1", 200)).is_err());
        assert!(decide(&canceled, &change(PAST_DUE, "sub_1", 300)).is_err());
    }

    #[test]
    fn deletion_is_final_even_when_it_arrives_after_a_newer_event() {
        let active = current(ACTIVE, "sub_1", 300);
        assert!(decide(&active, &change(CANCELED, "sub_1", 200)).is_ok());
    }

    #[test]
    fn older_events_and_other_subscriptions_are_skipped() {
        let active = current(ACTIVE, "sub_2", 300);
        assert!(decide(&active, &change(PAST_DUE, "sub_2", 200)).is_err());
        assert!(decide(&active, &change(PAST_DUE, "sub_2", 400)).is_ok());
        assert!(decide(&active, &change(CANCELED, "sub_1", 400)).is_err());
    }

    #[test]
    fn a_new_checkout_starts_over_after_a_cancellation() {
        let canceled = current(CANCELED, "sub_1", 200);
        let checkout = Change {
            starts_subscription: true,
            ..change(ACTIVE, "sub_2", 300)
        };
        assert!(decide(&canceled, &checkout).is_ok());
        let unpaid = Change {
            starts_subscription: true,
            ..change(INCOMPLETE, "sub_3", 400)
        };
        assert!(decide(&current(ACTIVE, "sub_2", 300), &unpaid).is_err());
        let unpaid_same = Change {
            starts_subscription: true,
            ..change(INCOMPLETE, "sub_2", 400)
        };
        assert!(decide(&current(ACTIVE, "sub_2", 300), &unpaid_same).is_err());
    }
}
