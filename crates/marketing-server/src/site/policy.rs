//! Content type and cache policy: what a path's answers say about themselves, decided from the
//! name alone.
//!
//! Content-hashed assets (`app.3f9c2b1a.js`) are cached for a year as `immutable`, since the name
//! changes whenever the content does; everything else is `no-cache` (cache, but revalidate,
//! which the ETags make cheap). Text types get `charset=utf-8`.

use axum::http::HeaderValue;

/// `Cache-Control` for content-hashed assets: the name changes whenever the content does.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` for everything else: cache, but revalidate (cheap thanks to ETags).
pub const REVALIDATE: &str = "no-cache";

/// How one path is served.
#[derive(Debug, Clone)]
pub struct Policy {
    pub content_type: HeaderValue,
    /// Whether compressing it pays (text, wasm, some fonts and bitmaps).
    pub compressible: bool,
    pub cache_control: &'static str,
}

impl Policy {
    /// The file class this policy describes, the route label of its answers in the metrics
    /// (bounded, unlike paths): `page` (HTML), `hashed_asset` (immutable), `asset`.
    pub fn class(&self) -> &'static str {
        if self.cache_control == IMMUTABLE {
            "hashed_asset"
        } else if self.content_type.as_bytes().starts_with(b"text/html") {
            "page"
        } else {
            "asset"
        }
    }

    pub fn for_path(path: &str) -> Policy {
        let (content_type, compressible) = content_type(path);
        let cache_control = if is_content_hashed(path) {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        Policy {
            content_type,
            compressible,
            cache_control,
        }
    }
}

/// Content type (with `charset=utf-8` for text) and whether compressing it pays.
pub fn content_type(path: &str) -> (HeaderValue, bool) {
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
    fn classes() {
        assert_eq!(Policy::for_path("/index.html").class(), "page");
        assert_eq!(Policy::for_path("/app.3f9c2b1a.js").class(), "hashed_asset");
        assert_eq!(Policy::for_path("/logo.png").class(), "asset");
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
}
