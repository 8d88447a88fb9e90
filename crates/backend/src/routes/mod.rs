//! The HTTP handlers, one module per resource. Every query is scoped to the authenticated user,
//! so another user's ids answer 404 exactly like ids that do not exist.
//!
//! Handlers depend on the domain modules (`auth`, `billing`), never the reverse.

pub mod accounts;
pub mod auth;
pub mod billing;
pub mod transactions;

use sqlx::postgres::PgQueryResult;

use crate::error::ApiError;

/// An UPDATE or DELETE scoped to the caller's row: `Ok` when it touched that row, 404 when
/// there was none (missing, or another user's).
pub fn touched_one(done: PgQueryResult) -> Result<(), ApiError> {
    match done.rows_affected() {
        0 => Err(ApiError::NotFound),
        _ => Ok(()),
    }
}

/// Fallback for unknown routes: 404 in the JSON shape.
pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// Fallback for a known path with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::BadRequest {
        status: axum::http::StatusCode::METHOD_NOT_ALLOWED,
        code: "method_not_allowed",
        message: "method not allowed on this path".into(),
    }
}
