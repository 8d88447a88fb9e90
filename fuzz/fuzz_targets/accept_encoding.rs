//! Content negotiation: `Accept-Encoding` (q-values), `If-None-Match` and `Accept`, as the
//! marketing server reads them from any header value a client may send.
#![no_main]

use axum::http::header::{ACCEPT, ACCEPT_ENCODING, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use marketing_server::negotiate::{accepts_html, none_match, Encoding, Preferences};

fuzz_target!(|data: &[u8]| {
    // One value per line: several Accept-Encoding headers, like a client may send.
    let mut headers = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(ACCEPT_ENCODING, value.clone());
            headers.append(IF_NONE_MATCH, value.clone());
            headers.append(ACCEPT, value);
        }
    }
    let prefs = Preferences::from_headers(&headers);
    for q in [prefs.br, prefs.gzip, prefs.identity] {
        assert!(q <= 1000, "q-value above 1: {prefs:?}");
    }
    for (has_br, has_gzip) in [(false, false), (true, false), (false, true), (true, true)] {
        match prefs.choose(has_br, has_gzip) {
            Encoding::Br => assert!(has_br && prefs.br > 0, "{prefs:?}"),
            Encoding::Gzip => assert!(has_gzip && prefs.gzip > 0, "{prefs:?}"),
            Encoding::Identity => {}
        }
    }
    let _ = none_match(&headers, &HeaderValue::from_static("\"abc\""));
    let _ = accepts_html(&headers);
});
