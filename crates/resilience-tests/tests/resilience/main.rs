//! Resilience of the real service binaries, driven over loopback: what users would notice during
//! a rolling restart and during a PostgreSQL outage.
//!
//! Layout:
//! - `helpers`: finds (and builds, once) the `marketing-server` and `backend` binaries next to
//!   this test executable, runs them as child processes, and a steady load generator.
//! - `proxy`: a small round-robin proxy that probes each instance's `/healthz` every 100 ms and
//!   routes new requests only to instances whose last probe answered 200, as Kubernetes endpoints
//!   do behind a Service or an ingress.
//! - `rolling_restart`: two instances behind the proxy, SIGTERM one and start a fresh one, three
//!   times, under load: not one request may fail.
//! - `db_outage`: the backend under load while PostgreSQL stops and starts again: database routes
//!   answer 503 JSON, `/healthz` stays 200, and the same process recovers.
//! - `schema_gate`: the backend started before its migrations: not ready and serving nothing
//!   until the real `tools db-migrate` has run, then ready without a restart.
//! - `signup_burst`: a burst of sign-ups and logins with a small password-hashing budget: every
//!   request answered (201/200, 429, 503 with Retry-After), the process alive, peak RSS bounded.
//!
//! The binaries come from this test's profile directory (`target/debug`): `cargo test --workspace`
//! builds them; `cargo test -p resilience-tests` alone needs `cargo build -p marketing-server -p
//! backend -p tools` first (or `RESILIENCE_BUILD=1`).

mod db_outage;
mod helpers;
mod proxy;
mod rolling_restart;
mod schema_gate;
mod signup_burst;
