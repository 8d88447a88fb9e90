//! `POST /billing/webhook` and `GET /billing/subscription` (mounted only while subscriptions are
//! enabled). The webhook checks the signature, then leaves recording and applying the event to
//! [`crate::billing::process`].

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::{json, Value};

use crate::auth::AuthUser;
use crate::billing::{self, signature, Outcome};
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/billing/webhook", post(webhook))
        .route("/billing/subscription", get(subscription))
}

#[derive(Serialize)]
struct SubscriptionBody {
    /// `none`, `active`, `past_due` or `canceled`.
    status: String,
    subscribed: bool,
    current_period_end: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
}

async fn subscription(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<SubscriptionBody>, ApiError> {
    let row = sqlx::query!(
        "SELECT status, current_period_end, updated_at FROM subscriptions WHERE user_id = $1",
        user.id
    )
    .fetch_optional(&state.pool)
    .await?;
    Ok(Json(match row {
        Some(r) => SubscriptionBody {
            subscribed: r.status == "active",
            status: r.status,
            current_period_end: r.current_period_end,
            updated_at: Some(r.updated_at),
        },
        None => SubscriptionBody {
            status: "none".into(),
            subscribed: false,
            current_period_end: None,
            updated_at: None,
        },
    }))
}

async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let result = verify_and_process(&state, &headers, &body).await;
    crate::metrics::webhook_event(event_type(&body), outcome(&result));
    let duplicate = result? == Outcome::Duplicate;
    Ok(Json(json!({ "received": true, "duplicate": duplicate })))
}

async fn verify_and_process(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Outcome, ApiError> {
    let Some(secret) = &state.billing.webhook_secret else {
        // Config validation makes this unreachable while billing is mounted; fail closed anyway.
        return Err(ApiError::NotFound);
    };
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| billing::bad_signature(signature::SignatureError::Missing))?;
    let now = Utc::now().timestamp();
    signature::verify(
        header,
        body,
        secret.expose_secret(),
        now,
        signature::TOLERANCE_SECS,
    )
    .map_err(|e| {
        tracing::warn!(reason = %e, "rejected webhook");
        billing::bad_signature(e)
    })?;
    billing::process(&state.pool, body).await
}

/// What came of a delivery, as the `outcome` label of `billing_webhook_events_total`.
fn outcome(result: &Result<Outcome, ApiError>) -> &'static str {
    match result {
        Ok(Outcome::Duplicate) => "duplicate",
        Ok(Outcome::Recorded { applied: true }) => "applied",
        Ok(Outcome::Recorded { applied: false }) => "ignored",
        Err(ApiError::BadRequest { code, .. }) => code,
        Err(ApiError::DatabaseUnavailable(_)) => "database_unavailable",
        Err(_) => "error",
    }
}

/// The event's type when it is one the webhook handles, else `other`: the label stays bounded
/// whatever is posted (an unverified body may claim anything).
fn event_type(body: &[u8]) -> &'static str {
    #[derive(serde::Deserialize)]
    struct Event<'a> {
        #[serde(borrow, rename = "type")]
        kind: Option<&'a str>,
    }
    let kind = serde_json::from_slice::<Event<'_>>(body)
        .ok()
        .and_then(|e| e.kind);
    billing::EVENTS
        .into_iter()
        .find(|e| Some(*e) == kind)
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_labels_are_bounded() {
        assert_eq!(
            event_type(br#"{"type":"invoice.paid","id":"x"}"#),
            "invoice.paid"
        );
        assert_eq!(event_type(br#"{"type":"made.up"}"#), "other");
        assert_eq!(event_type(b"not json"), "other");
    }
}
