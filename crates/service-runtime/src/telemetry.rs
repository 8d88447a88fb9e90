//! Logging: JSON lines in containers (`LOG_FORMAT=json`, the default) or human-readable
//! (`pretty`), filtered by `RUST_LOG`. Plus the access-log middleware that gives each request an
//! id (reusing a sane incoming `x-request-id`), echoes it in the response, and logs one line per
//! request — except `/healthz`, which probes hit constantly and which logs at debug only.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

/// Log output format.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (containers, log shippers).
    Json,
    /// Coloured, multi-field lines for humans.
    Pretty,
}

/// `--log-format` / `LOG_FORMAT` and `--log-filter` / `RUST_LOG`.
#[derive(clap::Args, Debug, Clone)]
pub struct LogArgs {
    /// Log output format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "json")]
    pub log_format: LogFormat,
    /// Log filter directives, e.g. `info` or `info,backend=debug,sqlx=warn`.
    #[arg(long = "log-filter", env = "RUST_LOG", default_value = "info", value_parser = parse_filter)]
    pub log_filter: String,
}

fn parse_filter(s: &str) -> Result<String, String> {
    EnvFilter::try_new(s)
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

impl LogArgs {
    /// Installs the global subscriber. Logs go to stdout (the container log stream).
    pub fn init(&self) {
        let filter =
            EnvFilter::try_new(&self.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
        let builder = tracing_subscriber::fmt().with_env_filter(filter);
        let result = match self.log_format {
            LogFormat::Json => builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .try_init(),
            LogFormat::Pretty => builder.try_init(),
        };
        // A second init (tests spawning several apps) is harmless.
        let _ = result;
    }
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Axum middleware: request id + one access-log line per request (debug for /healthz).
/// Install with `axum::middleware::from_fn(access_log)`.
pub async fn access_log(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .filter(|v| is_sane_id(v.as_bytes()))
        .cloned()
        .unwrap_or_else(new_request_id);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let quiet = path == "/healthz";
    let span = tracing::info_span!(
        "request",
        request_id = %String::from_utf8_lossy(id.as_bytes()),
    );
    let started = Instant::now();
    let mut response = next.run(req).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let micros = started.elapsed().as_micros() as u64;
    let _guard = span.enter();
    if quiet {
        tracing::debug!(%method, %path, status, micros, "request");
    } else if status >= 500 {
        tracing::warn!(%method, %path, status, micros, "request");
    } else {
        tracing::info!(%method, %path, status, micros, "request");
    }
    response.headers_mut().insert(REQUEST_ID.clone(), id);
    response
}

fn is_sane_id(v: &[u8]) -> bool {
    !v.is_empty()
        && v.len() <= 128
        && v.iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
}

/// `<random per-process prefix>-<counter>`: unique, sortable within a process, and costs an
/// atomic increment instead of a syscall for randomness per request.
fn new_request_id() -> HeaderValue {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let prefix = PREFIX.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        h.write_u32(std::process::id());
        format!("{:016x}", h.finish())
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    HeaderValue::from_str(&format!("{prefix}-{n:x}")).unwrap_or(HeaderValue::from_static("unknown"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_unique_and_sane() {
        let a = new_request_id();
        let b = new_request_id();
        assert_ne!(a, b);
        assert!(is_sane_id(a.as_bytes()));
        assert!(!is_sane_id(b"bad id\n"));
        assert!(!is_sane_id(&[b'a'; 200]));
    }
}
