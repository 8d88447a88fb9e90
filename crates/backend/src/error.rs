//! The one error type every handler returns, and its JSON shape:
//! `{"error": {"code": "...", "message": "...", "field": "..."?}}` with a fitting status.
//! Internal causes are logged with their chain, never sent to the client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Everything a request can fail with. Internal causes are logged, never sent to the client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A field of the request failed validation (422); `field` names it.
    #[error("{field}: {message}")]
    Validation {
        field: &'static str,
        message: String,
    },
    /// The body, query or path could not be read at all.
    #[error("{message}")]
    BadRequest {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    /// JSON that parses but does not fit the expected shape (422); names the field if it can.
    #[error("{message}")]
    InvalidBody {
        field: Option<String>,
        message: String,
    },
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("too many attempts; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// More work than the server takes on at once (password hashing): 503, retry shortly.
    #[error("the server is busy; retry in {retry_after_secs} s")]
    Overloaded { retry_after_secs: u64 },
    /// The trial has ended and there is no active subscription: writes answer 402.
    #[error("your trial has ended: subscribe to add or change data (reading and exporting stay available)")]
    PaymentRequired,
    /// A Stripe API call failed: 502. The cause is logged; the client learns nothing about it
    /// (no key, no Stripe message).
    #[error("the payment provider could not handle the request; please try again later")]
    PaymentProvider(#[source] crate::stripe::StripeError),
    #[error("the database is unavailable")]
    DatabaseUnavailable(#[source] sqlx::Error),
    /// PostgreSQL cancelled the statement: it ran past `DATABASE_STATEMENT_TIMEOUT` or waited
    /// past `DATABASE_LOCK_TIMEOUT` for a lock. 503, retry shortly; nothing was written.
    #[error("the database is busy; please retry")]
    DatabaseBusy(#[source] sqlx::Error),
    /// The handler did not finish within `REQUEST_TIMEOUT_SECONDS`: 503, retry shortly.
    #[error("the request took longer than {seconds} s")]
    Timeout { seconds: u64 },
    /// Start-up: the database lacks the schema this build expects (the migration has not run).
    #[error("starting: waiting for the database schema to be migrated")]
    SchemaNotReady,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn validation(field: &'static str, message: impl Into<String>) -> Self {
        ApiError::Validation {
            field,
            message: message.into(),
        }
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(err.into())
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Validation { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ApiError::BadRequest { status, code, .. } => (*status, code),
            ApiError::InvalidBody { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Overloaded { .. } => (StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
            ApiError::PaymentRequired => (StatusCode::PAYMENT_REQUIRED, "subscription_required"),
            ApiError::PaymentProvider(_) => (StatusCode::BAD_GATEWAY, "payment_provider_error"),
            ApiError::DatabaseUnavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable")
            }
            ApiError::DatabaseBusy(_) => (StatusCode::SERVICE_UNAVAILABLE, "database_busy"),
            ApiError::Timeout { .. } => (StatusCode::SERVICE_UNAVAILABLE, "request_timeout"),
            ApiError::SchemaNotReady => (StatusCode::SERVICE_UNAVAILABLE, "schema_not_ready"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        if crate::db::is_unavailable(&err) {
            return ApiError::DatabaseUnavailable(err);
        }
        if crate::db::is_timeout(&err) {
            return ApiError::DatabaseBusy(err);
        }
        if let sqlx::Error::Database(db) = &err {
            if db.is_unique_violation() {
                return ApiError::Conflict {
                    code: "conflict",
                    message: "a record with these values already exists".into(),
                };
            }
        }
        ApiError::Internal(err.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        match &self {
            ApiError::Internal(e) => {
                tracing::error!(error = %service_runtime::config::chain(e), "request failed")
            }
            ApiError::DatabaseUnavailable(e) => {
                crate::metrics::database_unavailable();
                tracing::warn!(error = %e, "database unavailable")
            }
            ApiError::DatabaseBusy(e) => tracing::warn!(error = %e, "database statement cancelled"),
            ApiError::Timeout { seconds } => {
                tracing::warn!(timeout_seconds = seconds, "request timed out")
            }
            ApiError::PaymentProvider(e) => {
                let mut chain = e.to_string();
                let mut cause = std::error::Error::source(e);
                while let Some(c) = cause {
                    chain = format!("{chain}: {c}");
                    cause = c.source();
                }
                tracing::error!(error = %chain, "Stripe API call failed")
            }
            _ => {}
        }
        let mut error = json!({ "code": code, "message": self.to_string() });
        if let ApiError::Validation { field, message } = &self {
            error["field"] = json!(field);
            error["message"] = json!(format!("{field}: {message}"));
        }
        if let ApiError::InvalidBody {
            field: Some(field), ..
        } = &self
        {
            error["field"] = json!(field);
        }
        let mut response = (status, axum::Json(json!({ "error": error }))).into_response();
        match &self {
            ApiError::RateLimited { retry_after_secs }
            | ApiError::Overloaded { retry_after_secs } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            // Every 503 says when to come back: the pool waited its acquire timeout already.
            ApiError::DatabaseUnavailable(_)
            | ApiError::DatabaseBusy(_)
            | ApiError::Timeout { .. } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            // The schema gate polls at most every 2 s.
            ApiError::SchemaNotReady => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            }
            ApiError::Unauthorized | ApiError::InvalidCredentials => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}
