//! The whole site, loaded into memory once at start with every response precomputed.
//!
//! For each file: the identity bytes plus gzip (best) and brotli (quality 11, window fitted to
//! the file) encodings where they are smaller — or the precompressed siblings `x.gz` / `x.br`
//! when the site ships them — each with a strong ETag (SHA-256 prefix of that encoding's bytes)
//! and its complete header map. Serving a request is then a hash lookup, a header-map clone and
//! a `Bytes` clone: no disk I/O, no compression, no formatting.
//!
//! Loading is split in two so start-up stays in milliseconds: [`Site::load`] reads the files and
//! builds the identity (and sibling) answers; [`Site::compress`] then fills in fresh encodings,
//! normally on a background thread while the server already answers (brotli at quality 11 runs
//! at about a megabyte per second, far too slow to keep a readiness probe waiting).
//!
//! The route table also holds the aliases a static host is expected to have: `/` and `/dir/` for
//! `index.html`, `/about` for `about.html`, and `/dir` (a directory with an index) as a redirect
//! to `/dir/` so relative links inside it keep working. Dotfiles and dot-directories (except
//! `/.well-known/`) are never loaded: a stray `.env` or `.git` in the build output stays private.
//! Symlinks are followed only when they resolve inside the site directory.
//!
//! Pages are stored with their includes resolved (see [`crate::include`]), so ETags and encodings
//! are those of the bytes served and `_partials/` never becomes a route.
//!
//! `SITE_DIR` may name several directories (`sites/marketing:sites/shared`): their trees are
//! overlaid into one, and a URL path that two of them provide stops the load, so what is served
//! never depends on the order they were listed in.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::{include, runtime_config};

/// `Cache-Control` for content-hashed assets: the name changes whenever the content does.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` for everything else: cache, but revalidate (cheap thanks to ETags).
pub const REVALIDATE: &str = "no-cache";

/// Directory nesting deeper than this is not loaded (guards against symlink loops).
const MAX_DEPTH: usize = 32;

const BUILTIN_404: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Not found</title></head><body><h1>Not found</h1>\
<p>There is nothing at this address. <a href=\"/\">Go to the home page</a>.</p></body></html>\n";

/// One encoding of a resource, with everything needed to answer for it.
#[derive(Debug)]
pub struct Variant {
    pub body: Bytes,
    pub etag: HeaderValue,
    /// Headers of a 200 (or 404) answer: content type/length/encoding, caching, security.
    pub headers: HeaderMap,
    /// Headers of a 304 answer for this variant.
    pub not_modified: HeaderMap,
}

/// A file as served: identity plus whichever compressed encodings are worth having.
///
/// The compressed slots are filled once: at load from precompressed siblings, or later by
/// [`Site::compress`]. Until then the resource is served in the encodings it already has, so
/// start-up never waits for brotli.
#[derive(Debug)]
pub struct Resource {
    pub identity: Variant,
    gzip: OnceLock<Option<Variant>>,
    br: OnceLock<Option<Variant>>,
    spec: Spec,
}

impl Resource {
    pub fn gzip(&self) -> Option<&Variant> {
        self.gzip.get().and_then(Option::as_ref)
    }

    pub fn br(&self) -> Option<&Variant> {
        self.br.get().and_then(Option::as_ref)
    }

    /// Fills an empty slot with `encode(identity)` if that is smaller. Returns its size.
    fn fill(
        &self,
        slot: &OnceLock<Option<Variant>>,
        encoding: &'static str,
        encode: fn(&[u8]) -> Vec<u8>,
        security: &HeaderMap,
    ) -> usize {
        if slot.get().is_none() {
            let encoded = encode(&self.identity.body);
            let variant = (encoded.len() < self.identity.body.len()).then(|| {
                // `into_boxed_slice` drops spare capacity: these buffers live as long as the process.
                let body = Bytes::from(encoded.into_boxed_slice());
                self.spec.variant(body, Some(encoding), security)
            });
            let _ = slot.set(variant);
        }
        slot.get()
            .and_then(Option::as_ref)
            .map_or(0, |v| v.body.len())
    }
}

/// What every variant of one resource shares; kept so late encodings get the same headers.
#[derive(Debug)]
struct Spec {
    content_type: HeaderValue,
    cache_control: &'static str,
    with_etag: bool,
    varies: bool,
}

impl Spec {
    fn variant(
        &self,
        body: Bytes,
        encoding: Option<&'static str>,
        security: &HeaderMap,
    ) -> Variant {
        let etag = etag_of(&body);
        let mut not_modified = security.clone();
        not_modified.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(self.cache_control),
        );
        if self.with_etag {
            not_modified.insert(header::ETAG, etag.clone());
        }
        if self.varies {
            not_modified.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        let mut headers = not_modified.clone();
        headers.insert(header::CONTENT_TYPE, self.content_type.clone());
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        if let Some(encoding) = encoding {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        Variant {
            body,
            etag,
            headers,
            not_modified,
        }
    }
}

/// What a normalised request path maps to.
#[derive(Debug, Clone)]
pub enum Route {
    File(Arc<Resource>),
    /// A directory with an index, asked for without the trailing slash.
    AddSlash,
}

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
    routes: HashMap<Box<str>, Route>,
    not_found: Resource,
    spa_index: Option<Arc<Resource>>,
    security: HeaderMap,
    method_not_allowed: HeaderMap,
    redirect: HeaderMap,
    stats: Stats,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--spa (env SPA) needs an index.html in SITE_DIR {0}")]
    SpaWithoutIndex(String),
    #[error("a page in SITE_DIR has a bad include")]
    Include(#[from] include::IncludeError),
    #[error("{url} is in two SITE_DIR directories: {first} and {second}")]
    Overlap {
        url: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("invalid Content-Security-Policy value")]
    BadCsp,
}

impl Site {
    /// Reads the site and precomputes identity answers (and those of precompressed siblings).
    /// Fresh gzip/brotli encodings are left to [`Site::compress`].
    pub fn load(settings: &Settings) -> Result<Self, LoadError> {
        let started = Instant::now();
        let security = security_headers(&settings.content_security_policy)?;
        let mut files = read_trees(&settings.site_dirs)?;
        include::resolve(&mut files)?;
        // Generated, so a static SPA learns its backend URL at run time.
        files.insert(
            "/runtime-config.js".into(),
            Bytes::from(runtime_config::script(&settings.public)),
        );

        let mut stats = Stats::default();
        let mut routes: HashMap<Box<str>, Route> = HashMap::with_capacity(files.len() * 2);
        for (path, body) in &files {
            let resource = Plan::new(path, body.clone(), &files).build(&security, true);
            stats.files += 1;
            stats.identity_bytes += resource.identity.body.len();
            routes.insert(path.as_str().into(), Route::File(Arc::new(resource)));
        }
        let not_found_body = files
            .get("/404.html")
            .cloned()
            .unwrap_or_else(|| Bytes::from_static(BUILTIN_404.as_bytes()));
        let mut not_found_plan = Plan::new("/404.html", not_found_body, &files);
        not_found_plan.cache_control = REVALIDATE;
        let not_found = not_found_plan.build(&security, false);
        add_aliases(&mut routes);

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
            stats.gzip_bytes += r.fill(&r.gzip, "gzip", gzip, &self.security);
        }
        for r in &resources {
            stats.br_bytes += r.fill(&r.br, "br", brotli, &self.security);
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
}

/// Content-Security-Policy plus the fixed hardening headers.
fn security_headers(csp: &str) -> Result<HeaderMap, LoadError> {
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(csp).map_err(|_| LoadError::BadCsp)?,
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    );
    Ok(h)
}

/// Every loadable file of the overlaid `roots`, keyed by URL path (`/dir/name.ext`).
fn read_trees(roots: &[PathBuf]) -> Result<HashMap<String, Bytes>, LoadError> {
    let mut files = HashMap::new();
    let mut origin: HashMap<String, &Path> = HashMap::new();
    for root in roots {
        for (url, body) in read_tree(root)? {
            if let Some(first) = origin.insert(url.clone(), root) {
                return Err(LoadError::Overlap {
                    url,
                    first: first.to_path_buf(),
                    second: root.clone(),
                });
            }
            files.insert(url, body);
        }
    }
    Ok(files)
}

/// Every loadable file under `root`, keyed by URL path (`/dir/name.ext`).
fn read_tree(root: &Path) -> Result<HashMap<String, Bytes>, LoadError> {
    let canonical_root = root.canonicalize().map_err(|source| LoadError::Read {
        path: root.to_path_buf(),
        source,
    })?;
    let mut files = HashMap::new();
    let mut stack = vec![(canonical_root.clone(), String::new(), 0usize)];
    while let Some((dir, url_prefix, depth)) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| LoadError::Read {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| LoadError::Read {
                path: dir.clone(),
                source,
            })?;
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                tracing::warn!(path = %path.display(), "skipping a file whose name is not UTF-8");
                continue;
            };
            if !is_servable_name(&name, depth) {
                continue;
            }
            // Follow symlinks only while they stay inside the site.
            let Ok(real) = path.canonicalize() else {
                tracing::warn!(path = %path.display(), "skipping a dangling symlink");
                continue;
            };
            if !real.starts_with(&canonical_root) {
                tracing::warn!(path = %path.display(), "skipping a symlink that leaves SITE_DIR");
                continue;
            }
            let url = format!("{url_prefix}/{name}");
            let meta = std::fs::metadata(&real).map_err(|source| LoadError::Read {
                path: path.clone(),
                source,
            })?;
            if meta.is_dir() {
                if depth < MAX_DEPTH {
                    stack.push((real, url, depth + 1));
                }
            } else if meta.is_file() {
                let body = std::fs::read(&real).map_err(|source| LoadError::Read {
                    path: path.clone(),
                    source,
                })?;
                files.insert(url, Bytes::from(body));
            }
        }
    }
    Ok(files)
}

/// Names a request could reach and that are meant to be public.
fn is_servable_name(name: &str, depth: usize) -> bool {
    if name.contains(['\\', '\0']) || name.chars().any(char::is_control) {
        return false;
    }
    !name.starts_with('.') || (depth == 0 && name == ".well-known")
}

/// What to produce for one file.
struct Plan {
    body: Bytes,
    content_type: HeaderValue,
    cache_control: &'static str,
    compressible: bool,
    gzip_sibling: Option<Bytes>,
    br_sibling: Option<Bytes>,
}

impl Plan {
    fn new(path: &str, body: Bytes, files: &HashMap<String, Bytes>) -> Self {
        let (content_type, compressible) = content_type(path);
        let cache_control = if is_content_hashed(path) {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        Plan {
            body,
            content_type,
            cache_control,
            compressible,
            gzip_sibling: files.get(&format!("{path}.gz")).cloned(),
            br_sibling: files.get(&format!("{path}.br")).cloned(),
        }
    }

    fn build(self, security: &HeaderMap, with_etag: bool) -> Resource {
        let spec = Spec {
            content_type: self.content_type,
            cache_control: self.cache_control,
            with_etag,
            varies: self.compressible || self.gzip_sibling.is_some() || self.br_sibling.is_some(),
        };
        // A sibling is the site's own choice, but one larger than the file is never worth
        // sending; without a sibling, an incompressible type gets no encoding at all.
        let slot = |sibling: Option<Bytes>, encoding: &'static str| {
            let slot = OnceLock::new();
            match sibling {
                Some(b) => {
                    let v = (b.len() < self.body.len())
                        .then(|| spec.variant(b, Some(encoding), security));
                    let _ = slot.set(v);
                }
                None if !self.compressible => {
                    let _ = slot.set(None);
                }
                None => {}
            }
            slot
        };
        let gzip = slot(self.gzip_sibling, "gzip");
        let br = slot(self.br_sibling, "br");
        Resource {
            identity: spec.variant(self.body, None, security),
            gzip,
            br,
            spec,
        }
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 2),
        flate2::Compression::best(),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: brotli_window(data.len()),
        size_hint: data.len(),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(data.len() / 2);
    match brotli::BrotliCompress(&mut &data[..], &mut out, &params) {
        Ok(_) => out,
        Err(_) => Vec::new(),
    }
}

/// The smallest brotli window (log2 bytes, 10..=22) that covers the whole file: a larger one
/// compresses no better, and at quality 11 the encoder's memory grows with it (window 22 costs
/// tens of MiB while a site's files are kilobytes, and that memory stayed resident).
fn brotli_window(len: usize) -> i32 {
    let bits = usize::BITS - len.max(1).saturating_sub(1).leading_zeros();
    bits.clamp(10, 22) as i32
}

/// A strong ETag: the first 12 bytes of the SHA-256 of exactly the bytes sent.
fn etag_of(body: &[u8]) -> HeaderValue {
    use std::fmt::Write as _;
    let digest = Sha256::digest(body);
    let mut tag = String::with_capacity(26);
    tag.push('"');
    for byte in &digest[..12] {
        let _ = write!(tag, "{byte:02x}");
    }
    tag.push('"');
    HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// Content type (with `charset=utf-8` for text) and whether compressing it pays.
fn content_type(path: &str) -> (HeaderValue, bool) {
    let ext = extension(path).map(str::to_ascii_lowercase);
    let mime: String = match ext.as_deref() {
        Some("js" | "mjs") => "text/javascript".into(),
        Some("map") => "application/json".into(),
        Some("webmanifest") => "application/manifest+json".into(),
        Some("wasm") => "application/wasm".into(),
        _ => mime_guess::from_path(path)
            .first_raw()
            .unwrap_or("application/octet-stream")
            .into(),
    };
    let textual = mime.starts_with("text/")
        || matches!(
            mime.as_str(),
            "application/json"
                | "application/manifest+json"
                | "application/ld+json"
                | "application/xml"
                | "application/rss+xml"
                | "application/atom+xml"
                | "image/svg+xml"
        );
    let compressible = textual
        || matches!(
            mime.as_str(),
            "application/wasm"
                | "font/ttf"
                | "font/otf"
                | "application/vnd.ms-fontobject"
                | "image/x-icon"
                | "image/vnd.microsoft.icon"
                | "image/bmp"
        );
    let value = if textual {
        format!("{mime}; charset=utf-8")
    } else {
        mime
    };
    let value = HeaderValue::from_str(&value)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    (value, compressible)
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn extension(path: &str) -> Option<&str> {
    let name = file_name(path);
    name.rsplit_once('.')
        .filter(|(stem, _)| !stem.is_empty())
        .map(|(_, ext)| ext)
}

/// `app.3f9c2b1a.js`: a dot-separated hex segment of at least 8 characters between the first
/// part of the name and the extension. HTML is never treated as immutable: its URL is what
/// people bookmark.
pub fn is_content_hashed(path: &str) -> bool {
    let name = file_name(path);
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() < 3 || matches!(extension(path), Some("html" | "htm")) {
        return false;
    }
    parts[1..parts.len() - 1]
        .iter()
        .any(|p| p.len() >= 8 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `/x/` for `/x/index.html`, `/x` for `/x.html`, and `/x` -> redirect for a directory index.
fn add_aliases(routes: &mut HashMap<Box<str>, Route>) {
    let mut html = Vec::new();
    let mut dirs = Vec::new();
    for (path, route) in routes.iter() {
        let Route::File(res) = route else { continue };
        if let Some(dir) = path.strip_suffix("index.html") {
            if let Some(parent) = dir.strip_suffix('/') {
                html.push((Box::<str>::from(dir), res.clone()));
                if !parent.is_empty() {
                    dirs.push(Box::<str>::from(parent));
                }
                continue;
            }
        }
        if let Some(stem) = path.strip_suffix(".html") {
            if !stem.ends_with('/') {
                html.push((stem.into(), res.clone()));
            }
        }
    }
    // Real files win over aliases, `.html` aliases over directory redirects.
    for (alias, res) in html {
        routes.entry(alias).or_insert(Route::File(res));
    }
    for dir in dirs {
        routes.entry(dir).or_insert(Route::AddSlash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names() {
        assert!(is_content_hashed("/assets/app.3f9c2b1a.js"));
        assert!(is_content_hashed("/app.3F9C2B1AFF.min.css"));
        assert!(!is_content_hashed("/app.js"));
        assert!(!is_content_hashed("/app.3f9c2b1.js"));
        assert!(!is_content_hashed("/3f9c2b1a.js"));
        assert!(!is_content_hashed("/deadbeef00.page.html"));
        assert!(!is_content_hashed("/app.notahash1.js"));
    }

    #[test]
    fn content_types() {
        let (ct, c) = content_type("/a/app.js");
        assert_eq!(ct, "text/javascript; charset=utf-8");
        assert!(c);
        let (ct, c) = content_type("/index.html");
        assert_eq!(ct, "text/html; charset=utf-8");
        assert!(c);
        let (ct, c) = content_type("/logo.png");
        assert_eq!(ct, "image/png");
        assert!(!c);
        let (ct, _) = content_type("/x.svg");
        assert_eq!(ct, "image/svg+xml; charset=utf-8");
        let (ct, _) = content_type("/noext");
        assert_eq!(ct, "application/octet-stream");
    }

    #[test]
    fn dotfiles_are_private() {
        assert!(!is_servable_name(".env", 0));
        assert!(!is_servable_name(".git", 0));
        assert!(is_servable_name(".well-known", 0));
        assert!(!is_servable_name(".well-known", 1));
        assert!(!is_servable_name("a\\b", 0));
        assert!(is_servable_name("app.js", 3));
    }

    #[test]
    fn brotli_window_covers_the_file_and_stays_in_range() {
        assert_eq!(brotli_window(0), 10);
        assert_eq!(brotli_window(1024), 10);
        assert_eq!(brotli_window(1025), 11);
        assert_eq!(brotli_window(126_553), 17);
        assert_eq!(brotli_window(1 << 30), 22);
        let data = b"marketing ".repeat(5000);
        let packed = brotli(&data);
        assert!(!packed.is_empty() && packed.len() < data.len() / 10);
        let mut unpacked = Vec::new();
        brotli::BrotliDecompress(&mut &packed[..], &mut unpacked).expect("valid brotli");
        assert_eq!(unpacked, data);
    }
}
