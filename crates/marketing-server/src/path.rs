//! Request-path normalisation: the only gate between a URL and the route table.
//!
//! The site lives in memory, so a request can never name a file outside it; this module still
//! refuses anything that looks like an attempt, so that such requests answer a plain 404 (never
//! a 400 that tells a scanner which trick was noticed) and are never matched against aliases.
//! Refused: a path not starting with `/`; encoded `/`, `\` or NUL (`%2f`, `%5c`, `%00`); a raw
//! `\`, NUL or control character; a `.` or `..` segment; an empty segment (`//`). The path is
//! percent-decoded exactly once, so `%252e%252e` stays the literal name `%2e%2e`.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// The decoded path to look up, or `None` for a path that must answer 404.
pub fn normalize(raw: &str) -> Option<Cow<'_, str>> {
    if !raw.starts_with('/') {
        return None;
    }
    let decoded = if raw.contains('%') {
        if has_forbidden_escape(raw.as_bytes()) {
            return None;
        }
        match percent_decode_str(raw).decode_utf8() {
            Ok(s) => s,
            Err(_) => return None,
        }
    } else {
        Cow::Borrowed(raw)
    };
    if decoded.bytes().any(|b| b == b'\\' || b < 0x20 || b == 0x7f) {
        return None;
    }
    let mut segments = decoded[1..].split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        if segment == "." || segment == ".." || (segment.is_empty() && !last) {
            return None;
        }
    }
    Some(decoded)
}

fn has_forbidden_escape(raw: &[u8]) -> bool {
    raw.windows(3).any(|w| {
        w[0] == b'%'
            && matches!(
                (w[1].to_ascii_lowercase(), w[2].to_ascii_lowercase()),
                (b'2', b'f') | (b'5', b'c') | (b'0', b'0')
            )
    })
}

/// Whether the last segment looks like a file name (`app.js`), which SPA fallback never covers.
pub fn has_extension(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|name| name.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_are_borrowed() {
        assert!(matches!(normalize("/"), Some(Cow::Borrowed("/"))));
        assert!(matches!(
            normalize("/a/b.js"),
            Some(Cow::Borrowed("/a/b.js"))
        ));
        assert_eq!(normalize("/docs/").as_deref(), Some("/docs/"));
    }

    #[test]
    fn decodes_once() {
        assert_eq!(normalize("/hello%20world").as_deref(), Some("/hello world"));
        assert_eq!(normalize("/%252e%252e/x").as_deref(), Some("/%2e%2e/x"));
    }

    #[test]
    fn refuses_traversal_and_tricks() {
        for bad in [
            "/../secret",
            "/a/../secret",
            "/%2e%2e/secret",
            "/%2E%2E%2Fsecret",
            "/..%2fsecret",
            "/..%5csecret",
            "/a\\..\\secret",
            "/./index.html",
            "/a/.",
            "/a/..",
            "//etc/passwd",
            "/a//b",
            "/a%00.html",
            "/a%0a",
            "/%ff",
            "secret",
            "*",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }

    #[test]
    fn extensions() {
        assert!(has_extension("/app.js"));
        assert!(!has_extension("/dashboard/settings"));
        assert!(!has_extension("/v1.2/page"));
    }
}
