//! A small hand-written JSON encoder for the hottest list response (`GET /transactions`), where
//! serde's derive spent most of the request's user-space instructions: every `Uuid`, `NaiveDate`
//! and `DateTime<Utc>` went through `collect_str` and `Display`, and the body grew from 128 bytes
//! by reallocation. Here values are appended to one pre-sized `Vec<u8>`, each in exactly the bytes
//! `serde_json::to_vec` gives (the route's tests compare the two):
//! - strings: serde_json's escaping (`service_runtime::json`, which the access log shares);
//! - integers: itoa, which serde_json uses;
//! - UUIDs: hyphenated lowercase, through uuid's own encoder (what its `Serialize` writes);
//! - dates `YYYY-MM-DD` and timestamps as chrono's serde renders them (RFC 3339, `Z`, fraction of
//!   0, 3, 6 or 9 digits). The rare values whose rendering differs (years outside 0..=9999, leap
//!   seconds) are handed to serde_json itself, so they cannot drift.
//!
//! Object keys are written by the callers as literals: they need no escaping.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use serde::Serialize;
use service_runtime::json::padded;
use uuid::Uuid;

/// A body that is already JSON, served as axum's `Json` serves one (`content-type:
/// application/json`).
pub struct Body(pub Vec<u8>);

impl IntoResponse for Body {
    fn into_response(self) -> Response {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.0,
        )
            .into_response()
    }
}

/// A JSON string: `s` quoted and escaped exactly as serde_json escapes it.
pub fn str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    service_runtime::json::escape_into(out, s);
    out.push(b'"');
}

/// `Some(s)` as a JSON string, `None` as `null`.
pub fn opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// An integer, as serde_json writes it.
pub fn int(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// A UUID as a JSON string: hyphenated, lowercase.
pub fn uuid(out: &mut Vec<u8>, id: &Uuid) {
    out.push(b'"');
    out.extend_from_slice(
        id.hyphenated()
            .encode_lower(&mut Uuid::encode_buffer())
            .as_bytes(),
    );
    out.push(b'"');
}

/// A date as a JSON string, `"YYYY-MM-DD"` (chrono's serde form).
pub fn date(out: &mut Vec<u8>, d: NaiveDate) {
    if !(0..=9999).contains(&d.year()) {
        return via_serde_json(out, &d);
    }
    out.push(b'"');
    ymd(out, d);
    out.push(b'"');
}

/// A UTC timestamp as a JSON string, as chrono's serde renders it:
/// `"YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z"`, the shortest of those fractions that is
/// exact, none for whole seconds.
pub fn timestamp(out: &mut Vec<u8>, t: &DateTime<Utc>) {
    let t_naive = t.naive_utc();
    let nano = t_naive.nanosecond();
    if !(0..=9999).contains(&t_naive.year()) || nano >= 1_000_000_000 {
        return via_serde_json(out, t);
    }
    out.push(b'"');
    ymd(out, t_naive.date());
    out.push(b'T');
    padded(out, u64::from(t_naive.hour()), 2);
    out.push(b':');
    padded(out, u64::from(t_naive.minute()), 2);
    out.push(b':');
    padded(out, u64::from(t_naive.second()), 2);
    if nano != 0 {
        out.push(b'.');
        if nano.is_multiple_of(1_000_000) {
            padded(out, u64::from(nano / 1_000_000), 3);
        } else if nano.is_multiple_of(1_000) {
            padded(out, u64::from(nano / 1_000), 6);
        } else {
            padded(out, u64::from(nano), 9);
        }
    }
    out.extend_from_slice(b"Z\"");
}

fn ymd(out: &mut Vec<u8>, d: NaiveDate) {
    // The callers checked 0 <= year <= 9999.
    padded(out, u64::from(d.year().unsigned_abs()), 4);
    out.push(b'-');
    padded(out, u64::from(d.month()), 2);
    out.push(b'-');
    padded(out, u64::from(d.day()), 2);
}

/// serde_json's own rendering, for the values the fast paths above leave alone. Writing into a
/// `Vec` cannot fail, and neither can these types' `Serialize`.
fn via_serde_json<T: Serialize>(out: &mut Vec<u8>, value: &T) {
    if let Err(e) = serde_json::to_writer(&mut *out, value) {
        unreachable!("serialising a date into a Vec failed: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: Serialize>(v: &T) -> String {
        serde_json::to_string(v).expect("serde_json")
    }

    fn ours(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn strings_escape_like_serde_json() {
        let mut every_control: String = (0u8..0x20).map(char::from).collect();
        every_control.push('\u{7f}');
        for s in [
            "",
            "plain",
            "\"quoted\" and back\\slash \\\"",
            "tab\tnewline\ncr\rbs\u{8}ff\u{c}nul\u{0}unit\u{1f}",
            &every_control,
            "line\u{2028}para\u{2029}",
            "Café ünïcödé — 日本語 🎉 ",
            "/solidus/ <script>&'",
            "\\",
            "\"",
            "\u{1}",
        ] {
            assert_eq!(ours(|o| str(o, s)), json(&s), "{s:?}");
        }
        assert_eq!(ours(|o| opt_str(o, None)), json(&None::<&str>));
        assert_eq!(ours(|o| opt_str(o, Some("a\"b"))), json(&Some("a\"b")));
    }

    #[test]
    fn numbers_and_uuids_like_serde_json() {
        for n in [
            0,
            1,
            -1,
            9,
            10,
            123_456_789,
            1_000_000_000_000,
            i64::MIN,
            i64::MAX,
        ] {
            assert_eq!(ours(|o| int(o, n)), json(&n));
        }
        for id in [Uuid::nil(), Uuid::max(), Uuid::new_v4(), Uuid::new_v4()] {
            assert_eq!(ours(|o| uuid(o, &id)), json(&id));
        }
    }

    #[test]
    fn dates_like_chrono_serde() {
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        for d in [
            ymd(2026, 1, 31),
            ymd(1900, 1, 1),
            ymd(2200, 12, 31),
            ymd(0, 1, 1),
            ymd(9999, 12, 31),
            ymd(10_000, 1, 1),
            ymd(-1, 6, 15),
            ymd(999, 10, 5),
            NaiveDate::MIN,
            NaiveDate::MAX,
        ] {
            assert_eq!(ours(|o| date(o, d)), json(&d), "{d:?}");
        }
    }

    #[test]
    fn timestamps_like_chrono_serde() {
        let at_sec = |y, sec, nano| {
            NaiveDate::from_ymd_opt(y, 3, 4)
                .and_then(|d| d.and_hms_nano_opt(5, 6, sec, nano))
                .expect("timestamp")
                .and_utc()
        };
        let at = |y, nano| at_sec(y, 7, nano);
        for t in [
            at(2026, 0),
            at(2026, 123_000_000),
            at(2026, 120_000_000),
            at(2026, 123_456_000),
            at(2026, 100_000),
            at(2026, 1_000),
            at(2026, 1),
            at(2026, 999_999_999),
            at_sec(2026, 59, 1_500_000_000), // a leap second
            at_sec(2026, 0, 1_000),
            at(0, 5_000),
            at(9999, 0),
            at(10_000, 0),
            at(-5, 1_000),
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            DateTime::<Utc>::UNIX_EPOCH,
            Utc::now(),
        ] {
            assert_eq!(ours(|o| timestamp(o, &t)), json(&t), "{t:?}");
        }
    }
}
