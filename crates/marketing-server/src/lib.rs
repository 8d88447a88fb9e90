//! `marketing-server`: serves a static site (the marketing site, or the frontend SPA with
//! `--spa`) from memory, built to out-serve nginx with `sendfile`/`gzip_static` on the same box.
//!
//! At start the whole `SITE_DIR` (one directory, or several overlaid) is read, compressed (gzip and brotli, or the site's own `x.gz` /
//! `x.br` siblings) and turned into precomputed responses with strong ETags, cache headers
//! (`immutable` for content-hashed names such as `app.3f9c2b1a.js`, `no-cache` otherwise) and
//! security headers. A request is then a lookup and two reference-count increments. Fresh
//! gzip/brotli encodings are computed on a background thread once the listener is up, so the
//! server is ready in milliseconds and serves identity (or the site's own siblings) meanwhile.
//!
//! `/runtime-config.js` is generated from the `PUBLIC_*` environment: `PUBLIC_API_URL=https://x`
//! gives `window.__RUNTIME_CONFIG__ = {"API_URL":"https://x"};` (prefix stripped, name kept).
//! The default Content-Security-Policy allows the site's own scripts and styles only (no inline
//! code), and `connect-src` to the origin of `PUBLIC_API_URL`; `CONTENT_SECURITY_POLICY`
//! replaces it.
//!
//! # Layout
//! - [`config`]: the clap/env settings and the `PUBLIC_*` capture; the default CSP.
//! - [`site`]: the site in memory: loading, encodings and ETags, content type and cache policy,
//!   security headers, route aliases (one submodule each).
//! - [`path`]: request-path normalisation (traversal tricks answer 404).
//! - [`negotiate`]: `Accept-Encoding` q-values, `If-None-Match`, `Accept: text/html`.
//! - [`runtime_config`]: the `/runtime-config.js` body.
//! - [`server`]: the request handler, served by `service_runtime::Server` (`/healthz`, access log,
//!   metrics).
//! - [`metrics`]: the site's own metrics (bytes by encoding, 304s).

pub mod config;
pub mod metrics;
pub mod negotiate;
pub mod path;
pub mod runtime_config;
pub mod server;
pub mod site;

use std::sync::Arc;

use anyhow::Context;
use service_runtime::shutdown;

use crate::config::{Cli, Settings};
use crate::site::Site;

/// Loads the site, then serves it until a stop signal, with the drain contract.
pub fn run(cli: &Cli, settings: &Settings) -> anyhow::Result<()> {
    let site = Arc::new(Site::load(settings).context("cannot load the site")?);
    let stats = site.stats();
    tracing::info!(
        site_dir = %settings.site_dir_display(),
        spa = settings.spa,
        files = stats.files,
        identity_bytes = stats.identity_bytes,
        load_ms = stats.elapsed.as_millis() as u64,
        public_vars = settings.public.len(),
        "site loaded"
    );
    let runtime = service_runtime::server::runtime().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = cli.serve.bind(cli.port).await?;
        let metrics_listener = cli.serve.bind_metrics().await?;
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "listening");
        }
        start_compression(site.clone())?;
        server::build(site, &cli.serve, metrics_listener)
            .serve(listener, shutdown::signal())
            .await
            .context("server failed")
    })
}

/// Fills in the gzip/brotli encodings on a background thread, after the listener is up, so
/// start-up (and the first readiness probe) never waits for brotli.
fn start_compression(site: Arc<Site>) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("compress".into())
        .spawn(move || {
            let stats = site.compress();
            tracing::info!(
                gzip_bytes = stats.gzip_bytes,
                br_bytes = stats.br_bytes,
                compress_ms = stats.elapsed.as_millis() as u64,
                "encodings ready"
            );
        })
        .context("cannot start the compression thread")?;
    Ok(())
}
