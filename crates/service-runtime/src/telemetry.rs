//! Logging: JSON lines in containers (`LOG_FORMAT=json`, the default) or human-readable
//! (`pretty`), filtered by `RUST_LOG`; and request ids (a sane incoming `x-request-id` is
//! reused, otherwise one is made without a syscall). The per-request middleware that uses them
//! is [`crate::observe`]; with JSON logs its access-log lines go through the buffered writer of
//! [`crate::access_log`].

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use axum::http::{HeaderName, HeaderValue};
use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FormatFields, FormattedFields};
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
    /// Installs the global subscriber. Logs go to stdout (the container log stream); with JSON
    /// logs the access log goes there through its buffered writer ([`crate::access_log`]).
    pub fn init(&self) {
        let filter =
            EnvFilter::try_new(&self.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
        let builder = tracing_subscriber::fmt().with_env_filter(filter);
        let result = match self.log_format {
            LogFormat::Json => {
                crate::access_log::install();
                builder
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .fmt_fields(JsonSpanFields)
                    .try_init()
            }
            LogFormat::Pretty => builder.try_init(),
        };
        // A second init (tests spawning several apps) is harmless.
        let _ = result;
    }
}

/// The header carrying the request id, in and out.
pub(crate) static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub(crate) fn is_sane_id(v: &[u8]) -> bool {
    !v.is_empty()
        && v.len() <= 128
        && v.iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
}

/// `<random per-process prefix>-<counter>`: unique within the process, increasing within a
/// thread, and no syscall for randomness per request. Each thread takes counters from the shared
/// atomic in blocks, so worker threads do not bounce one cache line on every request.
pub(crate) fn new_request_id() -> HeaderValue {
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

/// How span fields are stored for the JSON log: a JSON object, as tracing-subscriber's own
/// `JsonFields` stores them, but written directly. `JsonFields` builds a map of
/// `serde_json::Value`s and serialises it for every span, and every request opens one (the
/// request span with its id): that was a tenth of the CPU of serving a small static page.
/// Events are formatted as before; this only decides how a span's fields are kept until an
/// event inside it prints them under `"span"`.
struct JsonSpanFields;

impl<'w> FormatFields<'w> for JsonSpanFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'w>,
        fields: R,
    ) -> std::fmt::Result {
        writer.write_char('{')?;
        let mut visitor = JsonVisitor {
            out: &mut writer,
            empty: true,
        };
        fields.record(&mut visitor);
        writer.write_char('}')
    }

    fn add_fields(
        &self,
        current: &'w mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> std::fmt::Result {
        // `{a}` + `b` -> `{a,b}`; an object with no field yet is `{}`.
        let had_fields = current.fields.len() > 2;
        let mut visitor = JsonVisitor {
            out: String::new(),
            empty: !had_fields,
        };
        fields.record(&mut visitor);
        if visitor.out.is_empty() {
            return Ok(());
        }
        current
            .fields
            .truncate(current.fields.len().saturating_sub(1));
        if current.fields.is_empty() {
            current.fields.push('{');
        }
        current.fields.push_str(&visitor.out);
        current.fields.push('}');
        Ok(())
    }
}

/// Writes `"name":value` pairs, comma-separated (the inside of a JSON object), to `out`.
struct JsonVisitor<W> {
    out: W,
    /// No pair written yet (no comma before the next).
    empty: bool,
}

impl<W: std::fmt::Write> JsonVisitor<W> {
    fn key(&mut self, field: &Field) {
        let _ = self.out.write_str(if self.empty { "\"" } else { ",\"" });
        self.empty = false;
        self.escaped(field.name());
        let _ = self.out.write_str("\":");
    }

    fn escaped(&mut self, s: &str) {
        crate::json::escape(s, |p| {
            let _ = self.out.write_str(p);
        });
    }

    fn string(&mut self, field: &Field, value: &str) {
        self.key(field);
        let _ = self.out.write_char('"');
        self.escaped(value);
        let _ = self.out.write_char('"');
    }

    fn raw(&mut self, field: &Field, value: impl std::fmt::Display) {
        self.key(field);
        let _ = write!(self.out, "{value}");
    }
}

impl<W: std::fmt::Write> Visit for JsonVisitor<W> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.string(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.string(field, &format!("{value:?}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.raw(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.raw(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.raw(field, value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if value.is_finite() {
            self.raw(field, value);
        } else {
            self.string(field, &value.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event inside a span prints the span's fields as JSON, quotes and later-recorded
    /// fields included, as tracing-subscriber's own `JsonFields` did.
    #[test]
    fn span_fields_are_json_objects() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().expect("lock").extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .fmt_fields(JsonSpanFields)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "request",
                request_id = "a\"b\\c\n",
                n = 7_u64,
                later = tracing::field::Empty
            );
            let _in = span.enter();
            tracing::info!("first");
            span.record("later", true);
            tracing::info!(x = 1, "second");
            let empty = tracing::info_span!("empty", late = tracing::field::Empty);
            let _in = empty.enter();
            empty.record("late", "v");
            tracing::info!("third");
        });
        let out = String::from_utf8(buf.0.lock().expect("lock").clone()).expect("utf-8");
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert_eq!(lines[0]["span"]["request_id"], "a\"b\\c\n", "{out}");
        assert_eq!(lines[0]["span"]["n"], 7, "{out}");
        assert_eq!(lines[0]["span"]["name"], "request", "{out}");
        assert!(lines[0]["span"].get("later").is_none(), "{out}");
        assert_eq!(lines[1]["span"]["later"], true, "{out}");
        assert_eq!(lines[1]["x"], 1, "{out}");
        assert_eq!(lines[2]["span"]["late"], "v", "{out}");
        assert_eq!(lines[2]["span"]["name"], "empty", "{out}");
    }

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
