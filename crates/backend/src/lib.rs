//! The backend API: auth, accounts, transactions and Stripe billing on PostgreSQL.
//!
//! # Layout
//! - [`config`]: the command line / environment ([`config::Cli`]).
//! - [`state`]: [`state::AppState`] shared by the handlers.
//! - [`db`]: the lazily connecting pool and what counts as "database unavailable" (also used by
//!   `tools`).
//! - [`error`]: [`error::ApiError`], the JSON error shape, and extractors that use it.
//! - [`auth`]: password hashing (argon2id), JWTs, the authenticated-user extractor, signup/login
//!   routes and the login rate limit.
//! - [`routes`]: accounts and transactions.
//! - [`billing`]: the Stripe webhook (with [`billing::signature`]) and the subscription state.
//!
//! [`app`] builds the router from a state, so tests serve exactly what `main` serves.
//! Migrations live in `migrations/` and are exposed as [`MIGRATOR`] for the `tools` binary:
//! the backend itself never migrates at start.

pub mod auth;
pub mod billing;
pub mod config;
pub mod db;
pub mod error;
pub mod routes;
pub mod state;

use axum::http::{header, HeaderValue, Method};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::state::AppState;

/// The schema migrations, embedded at compile time. Run by `tools db-migrate`, never by the backend.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Every API route (`/healthz` and the access log are added by `service_runtime::Server`).
pub fn app(state: AppState) -> Router {
    let mut router = Router::new()
        .merge(auth::routes::router())
        .merge(routes::accounts::router())
        .merge(routes::transactions::router());
    if state.subscriptions_enabled {
        router = router.merge(billing::router());
    }
    let origins: Vec<HeaderValue> = state
        .cors_allowed_origins
        .iter()
        .filter_map(|o| o.trim().parse().ok())
        .collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    router
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(cors)
}
