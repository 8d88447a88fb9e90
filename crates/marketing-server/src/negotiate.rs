//! Header parsing for content negotiation and revalidation, allocation-free.
//!
//! - `Accept-Encoding` with q-values: brotli is preferred, then gzip, then identity, among the
//!   encodings a resource has, ranked by q-value. Identity is acceptable unless refused (`identity;q=0`, or `*;q=0`
//!   without naming identity); when nothing on offer is acceptable the identity bytes are sent
//!   anyway, as RFC 9110 §12.5.3 allows, rather than a 406 no browser would ever want.
//! - `If-None-Match`: a list of entity tags compared weakly (the `W/` prefix is ignored), or `*`.

use axum::http::header::{ACCEPT, ACCEPT_ENCODING, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue};

/// A content coding the server can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Br,
    Gzip,
    Identity,
}

/// q-values (in thousandths) the client gave each coding we care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preferences {
    pub br: u16,
    pub gzip: u16,
    pub identity: u16,
}

impl Preferences {
    /// Reads every `Accept-Encoding` header; none at all means identity only.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut br = None;
        let mut gzip = None;
        let mut identity = None;
        let mut star = None;
        let mut any = false;
        for value in headers.get_all(ACCEPT_ENCODING) {
            any = true;
            for item in value.as_bytes().split(|&b| b == b',') {
                let mut parts = item.split(|&b| b == b';');
                let coding = trim(parts.next().unwrap_or_default());
                let mut q = 1000;
                for param in parts {
                    let param = trim(param);
                    if let Some(v) = param
                        .strip_prefix(b"q=")
                        .or_else(|| param.strip_prefix(b"Q="))
                    {
                        q = parse_q(v);
                    }
                }
                let slot = if coding.eq_ignore_ascii_case(b"br") {
                    &mut br
                } else if coding.eq_ignore_ascii_case(b"gzip")
                    || coding.eq_ignore_ascii_case(b"x-gzip")
                {
                    &mut gzip
                } else if coding.eq_ignore_ascii_case(b"identity") {
                    &mut identity
                } else if coding == b"*" {
                    &mut star
                } else {
                    continue;
                };
                *slot = Some(q);
            }
        }
        if !any {
            return Preferences {
                br: 0,
                gzip: 0,
                identity: 1000,
            };
        }
        Preferences {
            br: br.or(star).unwrap_or(0),
            gzip: gzip.or(star).unwrap_or(0),
            // Unlisted identity is acceptable but the last choice: `gzip;q=0.5` means gzip.
            identity: identity.or(star).unwrap_or(1),
        }
    }

    /// The best acceptable coding among those available (identity is always available).
    pub fn choose(&self, has_br: bool, has_gzip: bool) -> Encoding {
        let mut best = (Encoding::Identity, self.identity);
        if has_gzip && self.gzip > 0 && self.gzip >= best.1 {
            best = (Encoding::Gzip, self.gzip);
        }
        if has_br && self.br > 0 && self.br >= best.1 {
            best = (Encoding::Br, self.br);
        }
        best.0
    }
}

fn trim(s: &[u8]) -> &[u8] {
    s.trim_ascii()
}

/// `q=0.5` -> 500; anything malformed counts as 0 (not acceptable), per RFC 9110's grammar.
fn parse_q(v: &[u8]) -> u16 {
    let v = trim(v);
    match v {
        [b'1'] | [b'1', b'.'] => 1000,
        [b'1', b'.', rest @ ..] if rest.len() <= 3 && rest.iter().all(|&b| b == b'0') => 1000,
        [b'0'] | [b'0', b'.'] => 0,
        [b'0', b'.', rest @ ..] if rest.len() <= 3 && rest.iter().all(u8::is_ascii_digit) => {
            let mut n = 0u16;
            for i in 0..3 {
                n = n * 10 + rest.get(i).map_or(0, |d| u16::from(d - b'0'));
            }
            n
        }
        _ => 0,
    }
}

/// Whether `If-None-Match` matches `etag` (weak comparison), so a 304 is due.
pub fn none_match(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let ours = strip_weak(etag.as_bytes());
    headers.get_all(IF_NONE_MATCH).iter().any(|value| {
        value.as_bytes().split(|&b| b == b',').any(|tag| {
            let tag = trim(tag);
            tag == b"*" || strip_weak(tag) == ours
        })
    })
}

fn strip_weak(tag: &[u8]) -> &[u8] {
    tag.strip_prefix(b"W/").unwrap_or(tag)
}

/// Whether the client would take an HTML page (no `Accept`, `text/html` or `*/*`).
pub fn accepts_html(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(ACCEPT).iter().peekable();
    if values.peek().is_none() {
        return true;
    }
    values.any(|v| {
        let v = v.as_bytes();
        contains(v, b"text/html") || contains(v, b"*/*")
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefs(values: &[&str]) -> Preferences {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(ACCEPT_ENCODING, HeaderValue::from_str(v).expect("value"));
        }
        Preferences::from_headers(&h)
    }

    #[test]
    fn browsers_get_brotli() {
        let p = prefs(&["gzip, deflate, br, zstd"]);
        assert_eq!(p.choose(true, true), Encoding::Br);
        assert_eq!(p.choose(false, true), Encoding::Gzip);
        assert_eq!(p.choose(false, false), Encoding::Identity);
    }

    #[test]
    fn q_values_rank() {
        assert_eq!(
            prefs(&["br;q=0.5, gzip"]).choose(true, true),
            Encoding::Gzip
        );
        assert_eq!(
            prefs(&["br;q=0, gzip;q=0"]).choose(true, true),
            Encoding::Identity
        );
        assert_eq!(prefs(&["*"]).choose(true, true), Encoding::Br);
        assert_eq!(
            prefs(&["gzip;q=0.8", "br;q=0.9"]).choose(true, true),
            Encoding::Br
        );
        assert_eq!(prefs(&["identity"]).choose(true, true), Encoding::Identity);
        assert_eq!(
            prefs(&["gzip;q=0.2, identity;q=0.5"]).choose(true, true),
            Encoding::Identity
        );
        assert_eq!(prefs(&["GZIP"]).choose(true, true), Encoding::Gzip);
        assert_eq!(prefs(&[""]).choose(true, true), Encoding::Identity);
        assert_eq!(prefs(&[]).choose(true, true), Encoding::Identity);
    }

    #[test]
    fn identity_refused() {
        assert_eq!(
            prefs(&["gzip, identity;q=0"]).choose(true, true),
            Encoding::Gzip
        );
        assert_eq!(prefs(&["*;q=0, br"]).choose(true, true), Encoding::Br);
        // Nothing acceptable on offer: identity anyway rather than a 406.
        assert_eq!(
            prefs(&["identity;q=0"]).choose(false, false),
            Encoding::Identity
        );
    }

    #[test]
    fn q_parsing() {
        assert_eq!(parse_q(b"1"), 1000);
        assert_eq!(parse_q(b"1.000"), 1000);
        assert_eq!(parse_q(b"0.5"), 500);
        assert_eq!(parse_q(b"0.05"), 50);
        assert_eq!(parse_q(b"0.001"), 1);
        assert_eq!(parse_q(b"0"), 0);
        assert_eq!(parse_q(b"2"), 0);
        assert_eq!(parse_q(b"0.1234"), 0);
    }

    #[test]
    fn etag_matching() {
        let etag = HeaderValue::from_static("\"abc\"");
        let mut h = HeaderMap::new();
        assert!(!none_match(&h, &etag));
        h.insert(IF_NONE_MATCH, HeaderValue::from_static("\"x\", W/\"abc\""));
        assert!(none_match(&h, &etag));
        h.insert(IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(none_match(&h, &etag));
        h.insert(IF_NONE_MATCH, HeaderValue::from_static("\"abcd\""));
        assert!(!none_match(&h, &etag));
    }

    #[test]
    fn html_acceptance() {
        let mut h = HeaderMap::new();
        assert!(accepts_html(&h));
        h.insert(
            ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml;q=0.9"),
        );
        assert!(accepts_html(&h));
        h.insert(ACCEPT, HeaderValue::from_static("application/json"));
        assert!(!accepts_html(&h));
    }
}
