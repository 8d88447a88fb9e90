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
        &body,
        secret.expose_secret(),
        now,
        signature::TOLERANCE_SECS,
    )
    .map_err(|e| {
        tracing::warn!(reason = %e, "rejected webhook");
        billing::bad_signature(e)
    })?;
    let duplicate = billing::process(&state.pool, &body).await? == Outcome::Duplicate;
    Ok(Json(json!({ "received": true, "duplicate": duplicate })))
}
