//! The backend API: auth, accounts, transactions and Stripe billing on PostgreSQL.
//!
//! # Layout
//! - [`auth`]: password hashing (argon2id), JWTs, the authenticated-user extractor, signup/login routes.
//! - (more modules are added as the API grows; see each module's docs)
//!
//! Migrations live in `migrations/` and are exposed as [`MIGRATOR`] for the `tools` binary:
//! the backend itself never migrates at start.

pub mod auth;

/// The schema migrations, embedded at compile time. Run by `tools db-migrate`, never by the backend.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
