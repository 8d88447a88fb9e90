//! The backend API: auth, accounts, transactions and Stripe billing on PostgreSQL.
//!
//! # Layout
//! - [`config`]: [`config::Settings`], every flag / env var, typed once.
//! - [`startup`]: [`startup::Application::build`], the one place the app is assembled (routes,
//!   CORS, `/healthz`, access log, drain), used by `main` and the tests.
//! - [`state`]: [`state::AppState`], what the handlers share.
//! - [`schema`]: the schema this build expects (the newest embedded migration) and the start-up
//!   gate that holds `/healthz` and the API at 503 until the database has it.
//! - [`database_url`]: `DATABASE_URL` parsed once, shown with its password masked (also used by
//!   `tools`).
//! - [`db`]: the lazily connecting pool and what counts as "database unavailable" (also used by
//!   `tools`).
//! - [`app_role`]: the application role the backend connects as (DML only), created and granted
//!   by `tools db-migrate` with this code, and by the tests the same way.
//! - [`known_secrets`]: placeholders and published local defaults the backend refuses as secrets.
//! - [`error`]: [`error::ApiError`] and its JSON shape.
//! - [`extract`]: `Json`, `Query`, `Path` that reject in that shape (`Json` is also the response).
//! - [`json`]: a hand-written encoder, byte-identical to serde_json, for `GET /transactions`' page.
//! - [`routes`]: the handlers: auth (signup, login, me), accounts, transactions, billing.
//! - [`auth`]: the authentication domain: password hashing (argon2id), JWTs and the
//!   authenticated-user extractor, email normalisation, the login rate limit.
//! - [`metrics`]: the backend's own Prometheus metrics (pool, database-unavailable answers,
//!   webhook events, throttled logins), next to the HTTP ones every service has.
//! - [`billing`]: the billing domain: checkout and portal sessions, [`billing::signature`],
//!   the handled events (applied exactly once, in order), the trial and the subscription state.
//! - [`stripe`]: the Stripe API client (also used by `tools`).
//!
//! Dependencies run one way: `startup` → (`routes`, `schema`); `routes` → (`auth`, `billing`,
//! `state`) → `error` → `stripe`.
//! Migrations live in `migrations/` and are exposed as [`MIGRATOR`] for the `tools` binary:
//! the backend itself never migrates at start; it waits for the schema ([`schema`]).

pub mod app_role;
pub mod auth;
pub mod billing;
pub mod config;
pub mod database_url;
pub mod db;
pub mod error;
pub mod extract;
pub mod json;
pub mod known_secrets;
pub mod metrics;
pub mod routes;
pub mod schema;
pub mod startup;
pub mod state;
pub mod stripe;

/// The schema migrations, embedded at compile time. Run by `tools db-migrate`, never by the backend.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
