//! Logging: JSON lines in containers (`LOG_FORMAT=json`, the default) or human-readable
//! (`pretty`), filtered by `RUST_LOG`. Plus the access-log middleware that gives each request an
//! id (reusing a sane incoming `x-request-id`), echoes it in the response, and logs one line per
//! request — except `/healthz` and `/livez`, which probes hit constantly and which log at debug
//! only.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use tower::{Layer, Service};
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

/// Tower layer: request id + one access-log line per request (debug for /healthz, warn for
/// 5xx). `router.layer(AccessLogLayer)`. A hand-written service rather than
/// `axum::middleware::from_fn`: it sits on every request, and this costs one allocation.
#[derive(Clone, Copy, Debug, Default)]
pub struct AccessLogLayer;

impl<S> Layer<S> for AccessLogLayer {
    type Service = AccessLog<S>;

    fn layer(&self, inner: S) -> AccessLog<S> {
        AccessLog { inner }
    }
}

/// The service made by [`AccessLogLayer`].
#[derive(Clone, Debug)]
pub struct AccessLog<S> {
    inner: S,
}

impl<S> Service<Request> for AccessLog<S>
where
    S: Service<Request, Response = Response>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let id = req
            .headers()
            .get(&REQUEST_ID)
            .filter(|v| is_sane_id(v.as_bytes()))
            .cloned()
            .unwrap_or_else(new_request_id);
        // Both clones are reference counts, not copies.
        let method = req.method().clone();
        let uri = req.uri().clone();
        let span = tracing::info_span!("request", request_id = id.to_str().unwrap_or(""));
        let started = Instant::now();
        let future = self.inner.call(req).instrument(span.clone());
        Box::pin(async move {
            let mut response = future.await?;
            let status = response.status().as_u16();
            let micros = started.elapsed().as_micros() as u64;
            let path = uri.path();
            let _guard = span.enter();
            if crate::health::PROBE_PATHS.contains(&path) {
                tracing::debug!(%method, path, status, micros, "request");
            } else if status >= 500 {
                tracing::warn!(%method, path, status, micros, "request");
            } else {
                tracing::info!(%method, path, status, micros, "request");
            }
            response.headers_mut().insert(REQUEST_ID.clone(), id);
            Ok(response)
        })
    }
}

fn is_sane_id(v: &[u8]) -> bool {
    !v.is_empty()
        && v.len() <= 128
        && v.iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
}

/// `<random per-process prefix>-<counter>`: unique within the process, increasing within a
/// thread, and no syscall for randomness per request. Each thread takes counters from the shared
/// atomic in blocks, so worker threads do not bounce one cache line on every request.
fn new_request_id() -> HeaderValue {
    static PREFIX: OnceLock<[u8; 16]> = OnceLock::new();
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
        let mut hex = [0u8; 16];
        write_hex(h.finish(), &mut hex);
        hex
    });
    let n = next_counter();
    // "<16 hex>-<counter in hex, no leading zeros>", formatted without a heap String.
    let mut buf = [0u8; 33];
    buf[..16].copy_from_slice(prefix);
    buf[16] = b'-';
    let mut digits = [0u8; 16];
    write_hex(n, &mut digits);
    let first = digits.iter().position(|&d| d != b'0').unwrap_or(15);
    let len = 17 + (16 - first);
    buf[17..len].copy_from_slice(&digits[first..]);
    HeaderValue::from_bytes(&buf[..len]).unwrap_or(HeaderValue::from_static("unknown"))
}

fn next_counter() -> u64 {
    const BLOCK: u64 = 1024;
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        /// The next counter this thread hands out, and the end of its block.
        static BLOCK_RANGE: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    }
    BLOCK_RANGE.with(|range| {
        let (mut next, mut end) = range.get();
        if next == end {
            next = COUNTER.fetch_add(BLOCK, Ordering::Relaxed);
            end = next + BLOCK;
        }
        range.set((next + 1, end));
        next
    })
}

/// `v` as 16 lowercase hex digits.
fn write_hex(v: u64, out: &mut [u8; 16]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = HEX[((v >> (60 - 4 * i)) & 0xf) as usize];
    }
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
        let text = a.to_str().expect("ascii");
        let (prefix, counter) = text.split_once('-').expect("dash");
        assert_eq!(prefix.len(), 16);
        assert!(u64::from_str_radix(counter, 16).is_ok(), "{text}");
        assert!(!counter.starts_with('0'), "{text}");
    }

    #[test]
    fn counters_are_unique_across_threads() {
        let mut all: Vec<u64> = (0..4)
            .map(|_| std::thread::spawn(|| (0..3000).map(|_| next_counter()).collect::<Vec<_>>()))
            .flat_map(|t| t.join().expect("thread"))
            .collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
        assert!(all.iter().all(|&c| c > 0));
    }

    #[test]
    fn hex_is_fixed_width() {
        let mut out = [0u8; 16];
        write_hex(0x1f, &mut out);
        assert_eq!(&out, b"000000000000001f");
        write_hex(u64::MAX, &mut out);
        assert_eq!(&out, b"ffffffffffffffff");
    }
}
