//! The access log, off the request path: a worker hands each line's facts to a bounded queue
//! and moves on; one writer thread formats them as JSON and writes them in batches.
//!
//! Written inline (a `tracing` event per request through the JSON formatter and a locked
//! `write` to stdout), the access log cost more CPU than serving a static page. Here a request
//! pays for a `try_send` into a lock-free queue: no formatting, no lock, no syscall. The writer
//! wakes every [`FLUSH_INTERVAL`] (it is never woken per line, which would be a futex call on
//! the worker), formats everything queued and writes it with one `write` per batch. When the
//! queue is full (a burst larger than the writer can keep up with) the line is dropped and
//! counted (`access_log_dropped_lines_total`), never waited for: the worker must not block.
//!
//! The lines are the ones the inline log wrote (same fields, same order):
//! `{"timestamp":..,"level":"INFO","message":"request","method":..,"path":..,"status":..,
//! "micros":..,"target":"service_runtime::telemetry","span":{"request_id":..,"name":"request"}}`.
//! [`flush`] writes out what is queued; the server calls it once it stops, so the last lines
//! are written before the process exits. With `LOG_FORMAT=pretty` (development) there is no
//! writer and the access log stays a plain `tracing` event.

use std::io::Write;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use axum::http::{HeaderValue, Method, Uri};
use prometheus_client::metrics::counter::Counter;

use crate::json::{escape_into, padded};

/// The `target` of access-log lines (the module that wrote them before they were buffered;
/// `RUST_LOG` directives naming it keep working).
pub const TARGET: &str = "service_runtime::telemetry";

/// How often the writer drains the queue: the most a line waits before it is written.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(20);

/// Lines the queue holds: at 100k requests/s, 160 ms of writer stall (eight flush intervals).
/// The queue is allocated and written in full when the writer starts, so its size is resident
/// memory: 65,536 lines were 12 MiB, more than half of an idle marketing-server.
pub const CAPACITY: usize = 1 << 14;

/// Severity of an access-log line: debug for `/healthz`, warn for 5xx, info otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warn,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
        }
    }
}

/// One request, as the worker hands it over: reference-counted clones, no formatting.
#[derive(Debug)]
pub struct Line {
    pub time: SystemTime,
    pub level: Level,
    pub method: Method,
    pub uri: Uri,
    pub status: u16,
    pub micros: u64,
    pub request_id: HeaderValue,
}

struct Writer {
    queue: SyncSender<Line>,
    dropped: Counter,
    /// Flush requests: (requested, done) generations.
    flushes: Mutex<(u64, u64)>,
    flushed: Condvar,
    thread: std::thread::Thread,
}

static WRITER: OnceLock<Writer> = OnceLock::new();

/// Lines dropped because the queue was full (`access_log_dropped_lines_total`); zero and
/// unused when the writer is not installed.
pub fn dropped() -> Counter {
    static UNUSED: OnceLock<Counter> = OnceLock::new();
    match WRITER.get() {
        Some(w) => w.dropped.clone(),
        None => UNUSED.get_or_init(Counter::default).clone(),
    }
}

/// Starts the writer thread, writing to stdout. Idempotent: tests that set up logging more than
/// once share the first writer.
pub fn install() {
    install_with(|| Box::new(std::io::stdout()));
}

/// Starts the writer thread writing to the sink `open` returns (stdout in production).
pub fn install_with(open: impl FnOnce() -> Box<dyn Write + Send>) {
    if WRITER.get().is_some() {
        return;
    }
    let (queue, receiver) = mpsc::sync_channel(CAPACITY);
    let out = open();
    let spawned = std::thread::Builder::new()
        .name("access-log".into())
        .spawn(move || run(receiver, out));
    let Ok(handle) = spawned else {
        tracing::warn!("cannot start the access-log writer; access log written inline");
        return;
    };
    let writer = Writer {
        queue,
        dropped: Counter::default(),
        flushes: Mutex::new((0, 0)),
        flushed: Condvar::new(),
        thread: handle.thread().clone(),
    };
    let _ = WRITER.set(writer);
}

/// Whether lines go through the writer ([`install`] ran); otherwise log inline.
pub fn is_buffered() -> bool {
    WRITER.get().is_some()
}

/// Queues `line` for the writer; never blocks. A full queue drops the line and counts it.
pub fn submit(line: Line) {
    let Some(writer) = WRITER.get() else { return };
    match writer.queue.try_send(line) {
        Ok(()) => {}
        Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
            writer.dropped.inc();
        }
    }
}

/// Writes out every line queued before this call, waiting at most `timeout` for the writer.
pub fn flush(timeout: Duration) {
    let Some(writer) = WRITER.get() else { return };
    let Ok(mut flushes) = writer.flushes.lock() else {
        return;
    };
    flushes.0 += 1;
    let wanted = flushes.0;
    writer.thread.unpark();
    let _ = writer
        .flushed
        .wait_timeout_while(flushes, timeout, |f| f.1 < wanted);
}

fn run(receiver: Receiver<Line>, mut out: Box<dyn Write + Send>) {
    let mut buffer = Vec::with_capacity(64 * 1024);
    loop {
        // A flush request seen before draining covers every line queued before it was made.
        let requested = WRITER
            .get()
            .and_then(|w| w.flushes.lock().ok().map(|f| f.0))
            .unwrap_or(0);
        let mut disconnected = false;
        loop {
            match receiver.try_recv() {
                Ok(line) => {
                    format_line(&mut buffer, &line);
                    if buffer.len() >= 60 * 1024 {
                        let _ = out.write_all(&buffer);
                        buffer.clear();
                    }
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    disconnected = true;
                    break;
                }
            }
        }
        if !buffer.is_empty() {
            // A failing stdout (closed pipe) loses the lines; there is nowhere to report it.
            let _ = out.write_all(&buffer);
            buffer.clear();
        }
        let _ = out.flush();
        if let Some(w) = WRITER.get() {
            if let Ok(mut f) = w.flushes.lock() {
                if f.1 < requested {
                    f.1 = requested;
                    w.flushed.notify_all();
                }
                if f.0 > f.1 {
                    // Asked again meanwhile: go round at once.
                    continue;
                }
            }
        }
        if disconnected {
            return;
        }
        std::thread::park_timeout(FLUSH_INTERVAL);
    }
}

/// Appends `line` as one JSON object and a newline.
pub fn format_line(out: &mut Vec<u8>, line: &Line) {
    out.extend_from_slice(b"{\"timestamp\":\"");
    write_timestamp(out, line.time);
    out.extend_from_slice(b"\",\"level\":\"");
    out.extend_from_slice(line.level.as_str().as_bytes());
    out.extend_from_slice(b"\",\"message\":\"request\",\"method\":\"");
    escape_into(out, line.method.as_str());
    out.extend_from_slice(b"\",\"path\":\"");
    escape_into(out, line.uri.path());
    out.extend_from_slice(b"\",\"status\":");
    write_u64(out, u64::from(line.status));
    out.extend_from_slice(b",\"micros\":");
    write_u64(out, line.micros);
    out.extend_from_slice(b",\"target\":\"");
    out.extend_from_slice(TARGET.as_bytes());
    out.extend_from_slice(b"\",\"span\":{\"request_id\":\"");
    escape_into(out, line.request_id.to_str().unwrap_or(""));
    out.extend_from_slice(b"\",\"name\":\"request\"}}\n");
}

// The writer thread formats every line, so formatting is written for speed (it was most of the
// access log's CPU): digits by hand instead of `write!`, and escaping ([`crate::json`]) that
// copies runs of plain bytes at once instead of one character at a time.

fn write_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// `2026-12-01T23:21:59.289400Z`: RFC 3339 in UTC with microseconds, as the JSON log writes.
fn write_timestamp(out: &mut Vec<u8>, time: SystemTime) {
    let since = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    // Years 0-9999: what RFC 3339 can say (a clock outside that is broken anyway).
    padded(out, y.clamp(0, 9999) as u64, 4);
    out.push(b'-');
    padded(out, u64::from(m), 2);
    out.push(b'-');
    padded(out, u64::from(d), 2);
    out.push(b'T');
    padded(out, rem / 3600, 2);
    out.push(b':');
    padded(out, rem / 60 % 60, 2);
    out.push(b':');
    padded(out, rem % 60, 2);
    out.push(b'.');
    padded(out, u64::from(since.subsec_micros()), 6);
    out.push(b'Z');
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_the_json_the_inline_log_wrote() {
        let line = Line {
            time: SystemTime::UNIX_EPOCH + Duration::from_micros(1_796_167_319_289_400),
            level: Level::Info,
            method: Method::GET,
            uri: Uri::from_static("/a%22b?x=1"),
            status: 200,
            micros: 91,
            request_id: HeaderValue::from_static("11e707ac4c1382d6-1"),
        };
        let mut out = Vec::new();
        format_line(&mut out, &line);
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(
            text,
            "{\"timestamp\":\"2026-12-01T23:21:59.289400Z\",\"level\":\"INFO\",\
             \"message\":\"request\",\"method\":\"GET\",\"path\":\"/a%22b\",\"status\":200,\
             \"micros\":91,\"target\":\"service_runtime::telemetry\",\
             \"span\":{\"request_id\":\"11e707ac4c1382d6-1\",\"name\":\"request\"}}\n"
        );
    }

    #[test]
    fn quotes_and_controls_are_escaped() {
        let mut out = Vec::new();
        escape_into(&mut out, "a\"b\\c\u{1}é");
        assert_eq!(out, b"a\\\"b\\\\c\\u0001\xc3\xa9");
    }

    #[test]
    fn numbers_and_every_control_character() {
        let mut out = Vec::new();
        for v in [0, 7, 10, 1234567890, u64::MAX] {
            write_u64(&mut out, v);
            out.push(b' ');
        }
        assert_eq!(out, b"0 7 10 1234567890 18446744073709551615 ");
        // Every control character comes out as JSON that reads back as the same string.
        for c in 0u8..0x20 {
            let text = format!("a{}b", c as char);
            let mut ours = b"\"".to_vec();
            escape_into(&mut ours, &text);
            ours.push(b'"');
            let back: String = serde_json::from_slice(&ours).expect("our escape is JSON");
            assert_eq!(back, text);
        }
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_788), (2026, 12, 1));
    }
}
