//! What every binary in this workspace does the same way, written once.
//!
//! The three binaries (`backend`, `marketing-server`, `tools`) are shipped as single binaries on
//! a distroless base: no shell, no curl, PID 1. That puts a few duties on the binary itself,
//! which live here so they behave identically everywhere.
//!
//! # Layout
//! - [`config`]: clap/env parsing that fails with one line naming the bad setting (secrets
//!   redacted), value parsers shared by all binaries (durations, seconds), the error-chain line.
//! - [`telemetry`]: JSON or pretty logs driven by `RUST_LOG`/`LOG_FORMAT`, and the access-log
//!   layer that stamps every request with a request id (and keeps `/healthz` out of info logs).
//! - [`health`]: the `/healthz` route and what it reports: the draining flag and a service's
//!   start-up gate ([`Readiness`]).
//! - [`shutdown`]: the drain contract: stop signals, its timings, and the phases of stopping.
//! - [`server`]: serving a service's routes: [`ServeArgs`], the acceptor, and [`Server`], which
//!   mounts `/healthz` and the access log and runs the drain sequence; thread-per-core workers
//!   ([`server::workers`]) and their coarse timer ([`server::timer`]) live under it.
//! - [`limits`]: what the container allows (the cgroup memory limit), for sizing pools to fit.
//! - [`healthcheck`]: the tiny HTTP/1.1 self-probe behind every binary's `healthcheck`
//!   subcommand, used as the exec-form Docker HEALTHCHECK.
//!
//! Dependencies run one way: `server` → `shutdown` → `health`; `server` → `telemetry`;
//! `healthcheck` → `config`.

pub mod config;
pub mod health;
pub mod healthcheck;
pub mod limits;
pub mod server;
pub mod shutdown;
pub mod telemetry;

pub use health::{Health, Readiness};
pub use server::{ServeArgs, Server};
