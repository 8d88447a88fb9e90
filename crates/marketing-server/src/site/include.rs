//! Load-time includes, so the pages of a site share one `<head>`, header and footer:
//!
//! ```html
//! <!--#include file="_partials/header.html" -->
//! ```
//!
//! in an `.html` page is replaced by that file's bytes (less one trailing newline) when the site
//! is loaded, before any response is precomputed: ETags, encodings and lengths are those of the
//! resolved page, and serving stays a lookup. `file` is relative to the page's directory and must
//! name a file inside a `_partials/` directory; partials cannot include; anything else that
//! starts like a directive (`<!--#`) is an error rather than text a browser would show. Files
//! under `_partials/` are never served, and a page's precompressed siblings (`page.html.gz`) are
//! dropped because they were made from the unresolved page.
//!
//! `sites/layout.py` implements the same rule for the static checks and the benchmark; the
//! browser check compares the two byte for byte.

use std::collections::HashMap;

use bytes::Bytes;

/// URL path -> bytes, as `load::Files` (named here so that `load` depends on this module, for
/// its error, and not the other way round).
type Files = HashMap<String, Bytes>;

/// The directory name that marks a file as a partial: includable, never served.
pub const PARTIALS: &str = "_partials";

const DIRECTIVE: &[u8] = b"<!--#";
const INCLUDE_OPEN: &[u8] = b"<!--#include file=\"";
const INCLUDE_CLOSE: &[u8] = b"\" -->";

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum IncludeError {
    #[error(
        "{page}: line {line}: not an include directive of the form <!--#include file=\"...\" -->"
    )]
    Malformed { page: String, line: usize },
    #[error("{page}: include file=\"{target}\" {reason}")]
    BadTarget {
        page: String,
        target: String,
        reason: &'static str,
    },
    #[error("{page}: include file=\"{target}\": {url} does not exist")]
    Missing {
        page: String,
        target: String,
        url: String,
    },
    #[error("{page}: {url} contains a directive (partials cannot include)")]
    Nested { page: String, url: String },
}

/// Whether `url` (a site path such as `/_partials/head.html`) lies inside a partials directory.
pub fn is_partial(url: &str) -> bool {
    let dir = url.rsplit_once('/').map_or("", |(dir, _)| dir);
    dir.split('/').any(|segment| segment == PARTIALS)
}

/// Resolves the includes of every page in `files` (URL path -> bytes) and removes the partials.
pub fn resolve(files: &mut Files) -> Result<(), IncludeError> {
    let mut resolved = Vec::new();
    for (url, body) in files.iter() {
        if url.ends_with(".html") && !is_partial(url) && find(body, DIRECTIVE).is_some() {
            resolved.push((url.clone(), resolve_page(url, body, |u| files.get(u))?));
        }
    }
    for (url, body) in resolved {
        for sibling in [format!("{url}.gz"), format!("{url}.br")] {
            if files.remove(&sibling).is_some() {
                tracing::warn!(
                    path = %sibling,
                    "ignoring a precompressed sibling of a page with includes: it cannot match the resolved page"
                );
            }
        }
        files.insert(url, Bytes::from(body));
    }
    files.retain(|url, _| !is_partial(url));
    Ok(())
}

/// `body` of the page at `page` with each include replaced by what `read` gives for its URL.
fn resolve_page<'a>(
    page: &str,
    body: &[u8],
    read: impl Fn(&str) -> Option<&'a Bytes>,
) -> Result<Vec<u8>, IncludeError> {
    let mut out = Vec::with_capacity(body.len() * 2);
    let mut rest = body;
    while let Some(start) = find(rest, DIRECTIVE) {
        out.extend_from_slice(&rest[..start]);
        let directive = &rest[start..];
        let offset = body.len() - directive.len();
        let malformed = || IncludeError::Malformed {
            page: page.to_string(),
            line: 1 + body[..offset].iter().filter(|&&b| b == b'\n').count(),
        };
        let target = directive
            .strip_prefix(INCLUDE_OPEN)
            .and_then(|after| {
                let end = after.iter().position(|&b| b == b'"')?;
                after[end..]
                    .starts_with(INCLUDE_CLOSE)
                    .then(|| &after[..end])
            })
            .ok_or_else(malformed)?;
        let after = &directive[INCLUDE_OPEN.len() + target.len() + INCLUDE_CLOSE.len()..];
        let target = String::from_utf8_lossy(target).into_owned();
        let url = partial_url(page, &target)?;
        let partial = read(&url).ok_or_else(|| IncludeError::Missing {
            page: page.to_string(),
            target: target.clone(),
            url: url.clone(),
        })?;
        if find(partial, DIRECTIVE).is_some() {
            return Err(IncludeError::Nested {
                page: page.to_string(),
                url,
            });
        }
        out.extend_from_slice(partial.strip_suffix(b"\n").unwrap_or(partial));
        rest = after;
    }
    out.extend_from_slice(rest);
    Ok(out)
}

/// The URL path that `file="target"` in the page at `page` names.
fn partial_url(page: &str, target: &str) -> Result<String, IncludeError> {
    let bad = |reason| IncludeError::BadTarget {
        page: page.to_string(),
        target: target.to_string(),
        reason,
    };
    if target.is_empty() || target.starts_with('/') {
        return Err(bad("must be a relative path"));
    }
    let dir = page.rsplit_once('/').map_or("", |(dir, _)| dir);
    let mut parts: Vec<&str> = Vec::new();
    for segment in dir.split('/').chain(target.split('/')) {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop().ok_or_else(|| bad("leaves the site"))?;
            }
            s => parts.push(s),
        }
    }
    let url = format!("/{}", parts.join("/"));
    if !is_partial(&url) {
        return Err(bad("is not in a _partials/ directory"));
    }
    Ok(url)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(entries: &[(&str, &str)]) -> Files {
        entries
            .iter()
            .map(|(url, body)| (url.to_string(), Bytes::from(body.to_string())))
            .collect()
    }

    fn resolved(entries: &[(&str, &str)]) -> Result<Files, IncludeError> {
        let mut files = site(entries);
        resolve(&mut files).map(|()| files)
    }

    #[test]
    fn includes_are_replaced_and_partials_dropped() {
        let files = resolved(&[
            ("/index.html", "<head>\n<!--#include file=\"_partials/head.html\" -->\n</head>\n"),
            ("/docs/a.html", "<!--#include file=\"../_partials/head.html\" -->|<!--#include file=\"_partials/nav.html\" -->"),
            ("/docs/_partials/nav.html", "NAV"),
            ("/_partials/head.html", "  <meta charset=\"utf-8\">\n"),
            ("/plain.html", "no directives"),
            ("/app.js", "<!--#not html, left alone"),
        ])
        .expect("resolves");
        assert_eq!(
            files["/index.html"],
            "<head>\n  <meta charset=\"utf-8\">\n</head>\n"
        );
        assert_eq!(files["/docs/a.html"], "  <meta charset=\"utf-8\">|NAV");
        assert_eq!(files["/plain.html"], "no directives");
        assert_eq!(files["/app.js"], "<!--#not html, left alone");
        let mut urls: Vec<_> = files.keys().cloned().collect();
        urls.sort();
        assert_eq!(
            urls,
            ["/app.js", "/docs/a.html", "/index.html", "/plain.html"]
        );
    }

    #[test]
    fn stale_precompressed_siblings_of_resolved_pages_are_dropped() {
        let files = resolved(&[
            ("/index.html", "<!--#include file=\"_partials/x.html\" -->"),
            ("/index.html.gz", "gzip of the unresolved page"),
            ("/index.html.br", "brotli of the unresolved page"),
            ("/about.html", "no includes"),
            ("/about.html.gz", "still valid"),
            ("/_partials/x.html", "X"),
        ])
        .expect("resolves");
        assert!(!files.contains_key("/index.html.gz") && !files.contains_key("/index.html.br"));
        assert!(files.contains_key("/about.html.gz"));
    }

    #[test]
    fn bad_includes_name_the_page_and_the_problem() {
        let err = |page: &str, partials: &[(&str, &str)]| {
            let mut entries = vec![("/p/page.html", page)];
            entries.extend_from_slice(partials);
            resolved(&entries).expect_err("rejected").to_string()
        };
        assert_eq!(
            err("<!--#include file=\"_partials/nope.html\" -->", &[]),
            "/p/page.html: include file=\"_partials/nope.html\": /p/_partials/nope.html does not exist"
        );
        assert_eq!(
            err("a\nb <!--#include virtual=\"/x\" -->", &[]),
            "/p/page.html: line 2: not an include directive of the form <!--#include file=\"...\" -->"
        );
        assert!(err("<!--#include file=\"x\"-->", &[]).contains("line 1: not an include"));
        assert!(err("<!--#include file=\"/_partials/a.html\" -->", &[])
            .ends_with("must be a relative path"));
        assert!(err("<!--#include file=\"../../_partials/a.html\" -->", &[])
            .ends_with("leaves the site"));
        assert!(err(
            "<!--#include file=\"../secret.html\" -->",
            &[("/secret.html", "s")]
        )
        .ends_with("is not in a _partials/ directory"));
        assert_eq!(
            err(
                "<!--#include file=\"_partials/a.html\" -->",
                &[("/p/_partials/a.html", "<!--#include file=\"b.html\" -->")]
            ),
            "/p/page.html: /p/_partials/a.html contains a directive (partials cannot include)"
        );
    }

    #[test]
    fn partial_paths() {
        assert!(is_partial("/_partials/head.html"));
        assert!(is_partial("/docs/_partials/x/y.html"));
        assert!(!is_partial("/_partials"));
        assert!(!is_partial("/_partials.html"));
        assert!(!is_partial("/my_partials/a.html"));
    }
}
