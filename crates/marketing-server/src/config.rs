//! Settings: clap flags that also read env vars, plus the `PUBLIC_*` variables captured for
//! `/runtime-config.js` and the Content-Security-Policy derived from them.
//!
//! `SITE_DIR` is checked after parsing (not by clap) so that `marketing-server healthcheck` keeps
//! working in an environment without a site, e.g. a probe run from another container. It may list
//! several directories, `:`-separated like `PATH`, that are served overlaid: the development stack
//! serves `sites/marketing:sites/shared` (the images copy both into one `/site` instead).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Parser};
use service_runtime::telemetry::LogArgs;
use service_runtime::ServeArgs;

/// The port the server listens on when `PORT` is not set.
pub const DEFAULT_PORT: u16 = 3000;

/// Env vars with this prefix are published, prefix stripped, in `/runtime-config.js`.
pub const PUBLIC_PREFIX: &str = "PUBLIC_";

/// Serves a static site from memory: precompressed, cache-friendly, hardened.
#[derive(Parser, Debug)]
#[command(name = "marketing-server", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Port to listen on.
    #[arg(long, env = "PORT", default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Directory with the site; it is loaded into memory once at start. Several, separated by
    /// ':', are overlaid into one site (a path that two of them provide is an error).
    #[arg(long, env = "SITE_DIR", default_value = "/site", value_delimiter = ':')]
    pub site_dir: Vec<PathBuf>,
    /// Single-page-app mode: unknown extensionless paths that accept HTML get index.html.
    #[arg(long, env = "SPA", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub spa: bool,
    /// Content-Security-Policy header value, replacing the built-in strict default.
    #[arg(long, env = "CONTENT_SECURITY_POLICY", value_parser = header_text)]
    pub content_security_policy: Option<String>,
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(flatten)]
    pub log: LogArgs,
}

pub use service_runtime::healthcheck::ServiceCommand as Command;

fn header_text(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if !s
        .bytes()
        .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
    {
        return Err("must be printable ASCII on one line".into());
    }
    Ok(s.to_string())
}

/// What the server needs once the command line is parsed and checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The site's directories, overlaid in this order (at least one).
    pub site_dirs: Vec<PathBuf>,
    pub spa: bool,
    /// The Content-Security-Policy sent on every response.
    pub content_security_policy: String,
    /// `PUBLIC_*` variables, prefix stripped, sorted by name.
    pub public: Vec<(String, String)>,
}

/// A setting that parsed but cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("invalid value '{path}' for '--site-dir' (env SITE_DIR): {reason}")]
    SiteDir { path: String, reason: &'static str },
    #[error("invalid environment variable {name}: value is not valid UTF-8")]
    NotUtf8 { name: String },
}

impl Settings {
    /// Checks `cli` and captures the `PUBLIC_*` variables from `env` (normally `std::env::vars_os()`).
    pub fn resolve(
        cli: &Cli,
        env: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Result<Self, SettingsError> {
        for site_dir in &cli.site_dir {
            let reason = match std::fs::metadata(site_dir) {
                Ok(m) if m.is_dir() => None,
                Ok(_) => Some("not a directory"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("no such directory"),
                Err(_) => Some("cannot be read"),
            };
            if let Some(reason) = reason {
                return Err(SettingsError::SiteDir {
                    path: site_dir.display().to_string(),
                    reason,
                });
            }
        }
        let mut public = Vec::new();
        for (name, value) in env {
            let Some(name) = name.to_str() else { continue };
            let Some(key) = name.strip_prefix(PUBLIC_PREFIX) else {
                continue;
            };
            if key.is_empty() {
                continue;
            }
            let value = value.into_string().map_err(|_| SettingsError::NotUtf8 {
                name: name.to_string(),
            })?;
            public.push((key.to_string(), value));
        }
        public.sort();
        let api_url = public
            .iter()
            .find(|(k, _)| k == "API_URL")
            .map(|(_, v)| v.as_str());
        let content_security_policy = cli
            .content_security_policy
            .clone()
            .unwrap_or_else(|| default_csp(api_url));
        Ok(Settings {
            site_dirs: cli.site_dir.clone(),
            spa: cli.spa,
            content_security_policy,
            public,
        })
    }

    /// `SITE_DIR` as it would be written: the directories joined with `:`.
    pub fn site_dir_display(&self) -> String {
        let dirs: Vec<_> = self
            .site_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        dirs.join(":")
    }
}

/// The default policy: only the site's own scripts, styles, fonts and images (plus `data:`
/// images), no plugins, no framing, and XHR/fetch to the site itself and to the backend origin
/// named by `PUBLIC_API_URL`, if it is an absolute http(s) URL.
pub fn default_csp(api_url: Option<&str>) -> String {
    let mut connect = String::from("'self'");
    if let Some(origin) = api_url.and_then(origin_of) {
        connect.push(' ');
        connect.push_str(origin);
    }
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         font-src 'self'; connect-src {connect}; object-src 'none'; base-uri 'self'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// `https://api.example.com:8443` out of `https://api.example.com:8443/v1`, or `None` for a
/// relative URL (covered by `'self'`) or anything that could smuggle extra CSP directives.
fn origin_of(url: &str) -> Option<&str> {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..host_len];
    let ok = !authority.is_empty()
        && !authority.contains('@')
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    ok.then(|| &url[..url.len() - rest.len() + host_len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("https://api.example.com/v1"),
            Some("https://api.example.com")
        );
        assert_eq!(
            origin_of("http://localhost:5000"),
            Some("http://localhost:5000")
        );
        assert_eq!(origin_of("/api"), None);
        assert_eq!(origin_of("https://x; script-src *"), None);
        assert_eq!(origin_of("https://user@evil"), None);
    }

    #[test]
    fn default_policy_allows_backend_and_forbids_framing() {
        let csp = default_csp(Some("http://localhost:5000/"));
        assert!(
            csp.contains("connect-src 'self' http://localhost:5000;"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(default_csp(None).contains("connect-src 'self';"));
    }
}
