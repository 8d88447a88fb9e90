//! The self-probe behind `<binary> healthcheck`: distroless images have no curl, so the binary
//! probes itself. Plain HTTP/1.1 over a blocking socket: no runtime, no TLS, a hard deadline.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::config::parse_duration;

/// `healthcheck [URL | --url URL] [--timeout DUR]`: one shape for every binary's subcommand.
/// Services default the URL to their own `/healthz`; `tools` has no port of its own, so it
/// needs one.
#[derive(clap::Args, Debug, Clone)]
pub struct HealthcheckArgs {
    /// The http:// URL to GET, e.g. http://127.0.0.1:5000/healthz [services default to
    /// http://127.0.0.1:$PORT/healthz].
    #[arg(value_name = "URL", conflicts_with = "url")]
    pub target: Option<String>,
    /// The same, as a flag.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Give up after this long (connect + response).
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// The subcommand every service binary has (`<binary> healthcheck`); without one it serves.
#[derive(clap::Subcommand, Debug)]
pub enum ServiceCommand {
    /// Probe this service's /healthz (exit 0 healthy, 1 not); the container HEALTHCHECK.
    Healthcheck(HealthcheckArgs),
}

impl HealthcheckArgs {
    /// Probes the URL given, or else (for a service, which passes its `default_port`) its own
    /// `/healthz` on `$PORT`, falling back to `default_port`. Without either: exit 2.
    pub fn run(&self, default_port: Option<u16>) -> ExitCode {
        let given = self.target.as_ref().or(self.url.as_ref()).cloned();
        let url = match (given, default_port) {
            (Some(url), _) => url,
            (None, Some(default_port)) => {
                let port = std::env::var("PORT")
                    .ok()
                    .and_then(|p| p.parse::<u16>().ok())
                    .unwrap_or(default_port);
                format!("http://127.0.0.1:{port}/healthz")
            }
            (None, None) => {
                eprintln!(
                    "error: healthcheck needs the URL to probe, e.g. http://127.0.0.1:5000/healthz"
                );
                return ExitCode::from(2);
            }
        };
        run(&url, self.timeout)
    }
}

/// Exit 0 on a 2xx/3xx answer, 1 otherwise, with one line on stderr saying why.
pub fn run(url: &str, timeout: Duration) -> ExitCode {
    match probe(url, timeout) {
        Ok(status) if (200..400).contains(&status) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("unhealthy: {url} answered {status}");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("unhealthy: {url}: {err}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("only http://host[:port][/path] URLs are supported")]
    BadUrl,
    #[error("cannot resolve host: {0}")]
    Resolve(std::io::Error),
    #[error("connect failed: {0}")]
    Connect(std::io::Error),
    #[error("request failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("timed out")]
    Timeout,
    #[error("not an HTTP response")]
    BadResponse,
}

/// GETs `url` and returns the status code.
pub fn probe(url: &str, timeout: Duration) -> Result<u16, ProbeError> {
    let deadline = Instant::now() + timeout;
    let (host, port, path) = split_url(url)?;
    let addrs: Vec<_> = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(ProbeError::Resolve)?
        .collect();
    let mut last_err = None;
    let mut stream = None;
    for addr in addrs {
        let left = remaining(deadline)?;
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_err = Some(e),
        }
    }
    let mut stream = match stream {
        Some(s) => s,
        None => {
            return Err(ProbeError::Connect(last_err.unwrap_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, "no address")
            })))
        }
    };
    stream.set_write_timeout(Some(remaining(deadline)?))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: healthcheck\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(timeout_or_io)?;
    let mut buf = [0u8; 64];
    let mut got = 0;
    // The status line is all we need: "HTTP/1.1 200 OK".
    while got < 12 {
        stream.set_read_timeout(Some(remaining(deadline)?))?;
        match stream.read(&mut buf[got..]).map_err(timeout_or_io)? {
            0 => break,
            n => got += n,
        }
    }
    let head = std::str::from_utf8(&buf[..got]).map_err(|_| ProbeError::BadResponse)?;
    let mut parts = head.split(' ');
    match (parts.next(), parts.next()) {
        (Some(v), Some(code)) if v.starts_with("HTTP/1.") => {
            code.parse().map_err(|_| ProbeError::BadResponse)
        }
        _ => Err(ProbeError::BadResponse),
    }
}

fn remaining(deadline: Instant) -> Result<Duration, ProbeError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(ProbeError::Timeout)
    } else {
        Ok(left)
    }
}

fn timeout_or_io(e: std::io::Error) -> ProbeError {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => ProbeError::Timeout,
        _ => ProbeError::Io(e),
    }
}

fn split_url(url: &str) -> Result<(String, u16, String), ProbeError> {
    let rest = url.strip_prefix("http://").ok_or(ProbeError::BadUrl)?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || path.contains([' ', '\r', '\n']) {
        return Err(ProbeError::BadUrl);
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
            (h, p.parse().map_err(|_| ProbeError::BadUrl)?)
        }
        _ => (authority, 80),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((host.to_string(), port, path.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            split_url("http://127.0.0.1:5000/healthz").ok(),
            Some(("127.0.0.1".into(), 5000, "/healthz".into()))
        );
        assert_eq!(
            split_url("http://backend").ok(),
            Some(("backend".into(), 80, "/".into()))
        );
        assert_eq!(
            split_url("http://[::1]:8080/x").ok(),
            Some(("::1".into(), 8080, "/x".into()))
        );
        assert!(split_url("https://x/").is_err());
        assert!(split_url("http://x:notaport/").is_err());
    }
}
