//! What every binary in this workspace does the same way, written once.
//!
//! The three binaries (`backend`, `marketing-server`, `tools`) are shipped as single binaries on
//! a distroless base: no shell, no curl, PID 1. That puts a few duties on the binary itself,
//! which live here so they behave identically everywhere.
//!
//! # Layout
//! - [`config`]: clap/env parsing that fails with one line naming the bad setting (secrets
//!   redacted), value parsers shared by all binaries (durations, seconds), the error-chain line.
//! - [`telemetry`]: JSON or pretty logs driven by `RUST_LOG`/`LOG_FORMAT`, and request ids.
//! - [`access_log`]: the buffered access-log writer (a queue and a writer thread, off the
//!   request path).
//! - [`metrics`]: the Prometheus registry every service exports on `METRICS_PORT`: HTTP,
//!   process and build metrics, and the `/metrics` listener.
//! - [`observe`]: the per-request middleware: request id, HTTP metrics, access-log line (and
//!   `/healthz` out of info logs).
//! - [`health`]: the `/healthz` route and what it reports: the draining flag and a service's
//!   start-up gate ([`Readiness`]).
//! - [`shutdown`]: the drain contract: stop signals, its timings, and the phases of stopping.
//! - [`server`]: serving a service's routes: [`ServeArgs`], the acceptor, and [`Server`], which
//!   mounts `/healthz` and the access log and runs the drain sequence; thread-per-core workers
//!   ([`server::workers`]) and their coarse timer ([`server::timer`]) live under it.
//! - [`limits`]: what the container allows (the cgroup memory limit), for sizing pools to fit.
//! - [`json`]: JSON string escaping exactly as serde_json's (access log, span fields, the
//!   backend's hand-written encoder).
//! - [`healthcheck`]: the tiny HTTP/1.1 self-probe behind every binary's `healthcheck`
//!   subcommand, used as the exec-form Docker HEALTHCHECK.
//!
//! Dependencies run one way: `server` → `shutdown` → `health`; `server` → `observe` →
//! {`metrics`, `access_log`, `telemetry`}; `telemetry` → `access_log`; `metrics` →
//! `access_log`; {`access_log`, `telemetry`} → `json`; `healthcheck` → `config`.

pub mod access_log;
pub mod config;
pub mod health;
pub mod healthcheck;
pub mod json;
pub mod limits;
pub mod metrics;
pub mod observe;
pub mod server;
pub mod shutdown;
pub mod telemetry;

pub use health::{Health, Readiness};
pub use server::{ServeArgs, Server};
