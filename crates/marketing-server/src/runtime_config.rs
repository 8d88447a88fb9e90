//! `/runtime-config.js`: `window.__RUNTIME_CONFIG__ = {...};` built once at start from the
//! `PUBLIC_*` environment, so one static SPA build can be pointed at any backend without a shell
//! or envsubst in the image.
//!
//! Keys are the variable names with the `PUBLIC_` prefix removed and nothing else changed:
//! `PUBLIC_API_URL=https://api.example.com` becomes `{"API_URL":"https://api.example.com"}`.
//! Values are always strings. The JSON is escaped so that it is also safe inline in HTML:
//! `<`, `>`, `&` and U+2028/U+2029 are written as `\uXXXX`, so a value containing `</script>`
//! cannot end a script element.

use std::collections::BTreeMap;

/// The script body for the given (prefix-stripped) variables.
pub fn script(vars: &[(String, String)]) -> String {
    let map: BTreeMap<&str, &str> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let json = serde_json::to_string(&map).unwrap_or_else(|_| "{}".into());
    let mut out = String::with_capacity(json.len() + 64);
    out.push_str("window.__RUNTIME_CONFIG__ = ");
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push_str(";\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_keeps_values() {
        let s = script(&[
            ("API_URL".into(), "https://api.example.com".into()),
            (
                "X".into(),
                "</script><script>alert(1)</script>\u{2028}\"".into(),
            ),
        ]);
        assert!(s.starts_with("window.__RUNTIME_CONFIG__ = "), "{s}");
        assert!(s.contains(r#""API_URL":"https://api.example.com""#), "{s}");
        assert!(!s.contains("</script>"), "{s}");
        assert!(!s.contains('\u{2028}'), "{s}");
        assert!(s.contains(r#"\u003c/script\u003e"#), "{s}");
        assert!(s.contains(r#"\""#), "{s}");
    }

    #[test]
    fn empty_config_is_an_empty_object() {
        assert_eq!(script(&[]), "window.__RUNTIME_CONFIG__ = {};\n");
    }
}
