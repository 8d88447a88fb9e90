//! Integration tests for the backend API: the real router on a real listener, a real PostgreSQL
//! database per test (dropped at the end), requests over HTTP.

mod accounts;
mod auth;
mod billing;
mod bounds;
mod checkout;
mod database_limits;
mod helpers;
mod known_secrets;
mod metrics;
mod resilience;
mod schema;
mod transactions;
