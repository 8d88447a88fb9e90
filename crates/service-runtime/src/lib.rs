//! What every binary in this workspace does the same way, written once.
//!
//! The three services (`backend`, `marketing-server`, `tools`) are shipped as single binaries on a
//! distroless base: no shell, no curl, PID 1. That puts a few duties on the binary itself, which
//! live here so they behave identically everywhere.
//!
//! # Layout
//! - [`config`]: clap/env parsing that fails with one line naming the bad setting (secrets redacted),
//!   plus value parsers shared by all binaries (durations, log filters).
//! - [`telemetry`]: JSON or pretty logs driven by `RUST_LOG`/`LOG_FORMAT`, and the access-log
//!   middleware that stamps every request with a request id (and keeps `/healthz` out of info logs).
//! - [`health`]: the `/healthz` route and the draining flag it reports.
//! - [`shutdown`]: SIGTERM/SIGINT/SIGQUIT handling and [`shutdown::serve`], which runs a router with
//!   the drain contract (503 on /healthz for a while, then stop accepting, then finish in-flight).
//! - [`workers`]: thread-per-core HTTP/1.1 serving (one single-threaded runtime per CPU, fed
//!   round-robin by one acceptor), used by [`shutdown::Server`]; [`timer`] is its coarse
//!   header-read timeout clock.
//! - [`healthcheck`]: the tiny HTTP/1.1 self-probe behind every binary's `healthcheck` subcommand,
//!   used as the exec-form Docker HEALTHCHECK.

pub mod config;
pub mod health;
pub mod healthcheck;
pub mod shutdown;
pub mod telemetry;
pub mod timer;
pub mod workers;

pub use health::Health;
pub use shutdown::{serve, ServeArgs, Server};
