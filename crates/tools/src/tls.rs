//! TLS for the HTTP clients (Stripe's, the S3 store's).
//!
//! reqwest is built without its default crypto provider (aws-lc-rs, a C build and a second
//! crypto library next to the ring that sqlx already uses): rustls then needs a process-wide
//! provider before the first HTTP client is built.

/// Installs ring as the process-wide provider. Installing twice is harmless (the first wins).
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
