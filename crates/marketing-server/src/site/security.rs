//! The security headers every answer carries, the Content-Security-Policy first.
//!
//! The CSP comes from the settings (a strict default, or `CONTENT_SECURITY_POLICY`); the rest is
//! fixed: no MIME sniffing, no framing, referrers trimmed to the origin across sites, and the
//! powerful browser features (camera, microphone, geolocation, payment, USB) switched off.

use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue, InvalidHeaderValue};

/// Content-Security-Policy plus the fixed hardening headers.
pub fn headers(csp: &str) -> Result<HeaderMap, InvalidHeaderValue> {
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_str(csp)?);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    );
    Ok(h)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_csp_that_is_no_header_value_is_refused() {
        assert!(super::headers("default-src 'self'").is_ok());
        assert!(super::headers("default-src\n'self'").is_err());
    }
}
