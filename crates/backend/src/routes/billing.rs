//! The billing routes (mounted only while subscriptions are enabled) and the write guard:
//! - `POST /billing/checkout`: a Stripe Checkout Session for the caller → `{"url"}`;
//! - `POST /billing/portal`: a Stripe customer portal session → `{"url"}`;
//! - `GET /billing/subscription`: the caller's state, trial end included;
//! - `POST /billing/webhook`: checks the signature, then leaves recording and applying the
//!   event to [`crate::billing::process`];
//! - [`require_write_access`]: `402 subscription_required` on writes once the trial has ended
//!   without a subscription.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::{json, Value};

use crate::auth::AuthUser;
use crate::billing::access::{self, Access};
use crate::billing::checkout::{Checkout, Customer};
use crate::billing::{self, signature, Outcome};
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/billing/checkout", post(checkout))
        .route("/billing/portal", post(portal))
        .route("/billing/webhook", post(webhook))
        .route("/billing/subscription", get(subscription))
}

#[derive(Serialize)]
struct SubscriptionBody {
    /// `none`, `incomplete`, `active`, `past_due` or `canceled`.
    status: String,
    subscribed: bool,
    current_period_end: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
    /// When the free trial ends (ended), counted from sign-up.
    trial_ends_at: DateTime<Utc>,
    trial_active: bool,
    /// Whether writes are allowed: subscribed, or still in the trial.
    can_write: bool,
    /// Whether there is a Stripe customer, so the portal can be opened.
    has_billing_account: bool,
}

/// The caller's billing state; a token for a user that no longer exists is no session.
async fn access_of(state: &AppState, user: AuthUser) -> Result<Access, ApiError> {
    access::load(&state.pool, user.id, state.billing.trial)
        .await?
        .ok_or(ApiError::Unauthorized)
}

async fn subscription(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<SubscriptionBody>, ApiError> {
    let a = access_of(&state, user).await?;
    let now = Utc::now();
    Ok(Json(SubscriptionBody {
        subscribed: a.subscribed(),
        trial_active: a.trial_active(now),
        can_write: a.can_write(now),
        has_billing_account: a.stripe_customer_id.is_some(),
        status: a.status,
        current_period_end: a.current_period_end,
        updated_at: a.updated_at,
        trial_ends_at: a.trial_ends_at,
    }))
}

#[derive(Serialize)]
struct UrlBody {
    url: String,
}

fn stripe(state: &AppState) -> Result<&Checkout, ApiError> {
    // Config validation makes this unreachable while billing is mounted; fail closed anyway.
    state.billing.checkout.as_deref().ok_or(ApiError::NotFound)
}

async fn checkout(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<UrlBody>, ApiError> {
    let stripe = stripe(&state)?;
    let a = access_of(&state, user).await?;
    if a.subscribed() {
        return Err(ApiError::Conflict {
            code: "already_subscribed",
            message: "your subscription is active; manage it from the billing portal".into(),
        });
    }
    let url = stripe
        .session_url(&Customer {
            user_id: user.id,
            stripe_customer_id: a.stripe_customer_id.as_deref(),
            email: &a.email,
        })
        .await
        .map_err(ApiError::PaymentProvider)?;
    Ok(Json(UrlBody { url }))
}

async fn portal(State(state): State<AppState>, user: AuthUser) -> Result<Json<UrlBody>, ApiError> {
    let stripe = stripe(&state)?;
    let a = access_of(&state, user).await?;
    let Some(customer) = a.stripe_customer_id else {
        return Err(ApiError::Conflict {
            code: "no_billing_account",
            message: "there is nothing to manage yet: subscribe first".into(),
        });
    };
    let url = stripe
        .portal_url(&customer)
        .await
        .map_err(ApiError::PaymentProvider)?;
    Ok(Json(UrlBody { url }))
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
    Ok(Json(match billing::process(&state.pool, &body).await? {
        Outcome::Duplicate => json!({ "received": true, "duplicate": true, "applied": false }),
        Outcome::Recorded { skipped } => json!({
            "received": true, "duplicate": false, "applied": skipped.is_none(), "skipped": skipped,
        }),
    }))
}

/// Middleware for the data routes: writes (anything but GET/HEAD/OPTIONS) by a user whose trial
/// has ended without an active subscription answer `402 subscription_required`. Reads always
/// pass, so a user can still see and export everything. Requests without a valid token pass
/// through to the handler, which answers 401 as it always does.
pub async fn require_write_access(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let user = AuthUser::from_request_parts(&mut parts, &state).await;
    let request = Request::from_parts(parts, body);
    let Ok(user) = user else {
        return next.run(request).await;
    };
    match access::load(&state.pool, user.id, state.billing.trial).await {
        Ok(Some(a)) if !a.can_write(Utc::now()) => access::subscription_required().into_response(),
        Ok(_) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}
