//! The whole site, loaded into memory once at start with every response precomputed.
//!
//! Serving a request is then a hash lookup, a header-map clone and a `Bytes` clone: no disk I/O,
//! no compression, no formatting. Loading is split in two so start-up stays in milliseconds:
//! [`Site::load`] reads the files and builds the identity (and sibling) answers;
//! [`Site::compress`] then fills in fresh encodings, normally on a background thread while the
//! server already answers (brotli at quality 11 runs at about a megabyte per second, far too
//! slow to keep a readiness probe waiting).
//!
//! # Layout
//! - [`load`]: reading `SITE_DIR`, one directory or several overlaid (dotfiles private, symlinks
//!   kept inside), generated files, and [`LoadError`].
//! - [`include`]: `<!--#include file="_partials/..." -->` in pages, resolved right after reading,
//!   so everything below sees (and ETags) the bytes served.
//! - [`encoding`]: each file's identity/gzip/brotli [`Variant`]s with strong ETags and headers.
//! - [`policy`]: content type and cache policy (`immutable` for content-hashed names).
//! - [`security`]: the security headers every answer carries.
//! - [`routes`]: the route table and its aliases (`/`, `/about`, `/dir` → `/dir/`).
//!
//! This module assembles them; they depend on each other one way only
//! (`routes` → `encoding` → `policy`).

pub mod encoding;
pub mod include;
pub mod load;
pub mod policy;
pub mod routes;
pub mod security;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::header::{self, HeaderMap, HeaderValue};
use bytes::Bytes;

use crate::config::Settings;
use crate::metrics::SiteMetrics;
pub use encoding::{Resource, Siblings, Variant};
pub use load::LoadError;
use policy::{Policy, REVALIDATE};
pub use routes::Route;
use routes::Routes;

const BUILTIN_404: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Not found</title></head><body><h1>Not found</h1>\
<p>There is nothing at this address. <a href=\"/\">Go to the home page</a>.</p></body></html>\n";

/// Figures logged at start: the load, then the (background) compression.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub files: usize,
    pub identity_bytes: usize,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct CompressStats {
    pub gzip_bytes: usize,
    pub br_bytes: usize,
    pub elapsed: Duration,
}

/// The loaded site and the fixed answers (404, 405, redirect) that go with it.
#[derive(Debug)]
pub struct Site {
    routes: Routes,
    not_found: Resource,
    spa_index: Option<Arc<Resource>>,
    security: HeaderMap,
    method_not_allowed: HeaderMap,
    redirect: HeaderMap,
    stats: Stats,
    metrics: SiteMetrics,
}

impl Site {
    /// Reads the site and precomputes identity answers (and those of precompressed siblings).
    /// Fresh gzip/brotli encodings are left to [`Site::compress`].
    pub fn load(settings: &Settings) -> Result<Self, LoadError> {
        let started = Instant::now();
        let security =
            security::headers(&settings.content_security_policy).map_err(|_| LoadError::BadCsp)?;
        let mut files = load::read_trees(&settings.site_dirs)?;
        include::resolve(&mut files)?;
        load::add_generated(&mut files, &settings.public);

        let siblings = |path: &str| Siblings {
            gzip: files.get(&format!("{path}.gz")).cloned(),
            br: files.get(&format!("{path}.br")).cloned(),
        };
        let mut stats = Stats::default();
        let mut routes = Routes::with_capacity(files.len() * 2);
        for (path, body) in &files {
            let policy = Policy::for_path(path);
            let resource = Resource::new(body.clone(), siblings(path), policy, true, &security);
            stats.files += 1;
            stats.identity_bytes += resource.identity.body.len();
            routes.insert(path.as_str().into(), Route::File(Arc::new(resource)));
        }
        let not_found_body = files
            .get("/404.html")
            .cloned()
            .unwrap_or_else(|| Bytes::from_static(BUILTIN_404.as_bytes()));
        let not_found_policy = Policy {
            cache_control: REVALIDATE,
            ..Policy::for_path("/404.html")
        };
        let not_found = Resource::new(
            not_found_body,
            siblings("/404.html"),
            not_found_policy,
            false,
            &security,
        );
        routes::add_aliases(&mut routes);

        let spa_index = match routes.get("/index.html") {
            Some(Route::File(index)) => Some(index.clone()),
            _ if settings.spa => {
                return Err(LoadError::SpaWithoutIndex(settings.site_dir_display()))
            }
            _ => None,
        }
        .filter(|_| settings.spa);

        let mut method_not_allowed = security.clone();
        method_not_allowed.insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        method_not_allowed.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        method_not_allowed.insert(header::CACHE_CONTROL, HeaderValue::from_static(REVALIDATE));
        let mut redirect = security.clone();
        redirect.insert(header::CACHE_CONTROL, HeaderValue::from_static(REVALIDATE));

        stats.elapsed = started.elapsed();
        Ok(Site {
            routes,
            not_found,
            spa_index,
            security,
            method_not_allowed,
            redirect,
            stats,
            metrics: SiteMetrics::default(),
        })
    }

    /// Computes the gzip (best) and brotli (quality 11) encodings still missing,
    /// gzip for every file first since it is fast. Safe to run while serving: each slot is
    /// filled once, atomically. Run it on its own thread after binding, or before serving.
    pub fn compress(&self) -> CompressStats {
        let started = Instant::now();
        let mut seen = std::collections::HashSet::new();
        let mut resources = vec![&self.not_found];
        for route in self.routes.values() {
            if let Route::File(resource) = route {
                if seen.insert(Arc::as_ptr(resource)) {
                    resources.push(resource);
                }
            }
        }
        let mut stats = CompressStats::default();
        for r in &resources {
            stats.gzip_bytes += r.fill_gzip(&self.security);
        }
        for r in &resources {
            stats.br_bytes += r.fill_br(&self.security);
        }
        stats.elapsed = started.elapsed();
        stats
    }

    /// The route for a normalised path (see [`crate::path::normalize`]).
    pub fn route(&self, path: &str) -> Option<&Route> {
        self.routes.get(path)
    }

    /// The 404 page (`404.html` from the site, else a built-in one), headers without an ETag.
    pub fn not_found(&self) -> &Resource {
        &self.not_found
    }

    /// `index.html`, when SPA mode is on.
    pub fn spa_index(&self) -> Option<&Arc<Resource>> {
        self.spa_index.as_ref()
    }

    /// The security headers every response carries.
    pub fn security_headers(&self) -> &HeaderMap {
        &self.security
    }

    /// Headers of a 405 answer (security headers, `Allow: GET, HEAD`).
    pub fn method_not_allowed_headers(&self) -> &HeaderMap {
        &self.method_not_allowed
    }

    /// Headers of a trailing-slash redirect, `Location` still to be added.
    pub fn redirect_headers(&self) -> &HeaderMap {
        &self.redirect
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// What serving this site has sent (bytes by encoding, 304s).
    pub fn metrics(&self) -> &SiteMetrics {
        &self.metrics
    }
}
