//! The cap on open connections (`MAX_CONNECTIONS`): each accepted connection holds a permit
//! until it closes, and a connection accepted while none is free is refused at once (a `503`
//! written without waiting, then closed) rather than queued: under a flood the server keeps
//! answering the connections it has, within memory it has.
//!
//! The default is sized from the container's memory limit: a quarter of it, at
//! [`PER_CONNECTION_BYTES`] per connection (the 16 KiB request-head buffer, hyper's write
//! buffer, the task and the socket's kernel buffers, which cgroups charge to the container).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// What one open connection may cost in the worst case we plan for.
pub const PER_CONNECTION_BYTES: u64 = 64 * 1024;

/// The cap when the memory limit is unknown (no cgroup limit: a developer's machine).
pub const UNLIMITED_DEFAULT: usize = 16_384;

/// The fewest connections an automatic cap allows, however small the container.
pub const MIN_AUTO: usize = 64;

/// What a refused connection is sent before it is closed.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
retry-after: 1\r\nconnection: close\r\ncontent-length: 89\r\n\r\n\
{\"error\":{\"code\":\"too_many_connections\",\"message\":\"too many connections; retry shortly\"}}";

/// The automatic cap for a container with `memory_limit` bytes (`None`: no limit).
pub fn auto_limit(memory_limit: Option<u64>) -> usize {
    match memory_limit {
        Some(bytes) => {
            let fit = bytes / 4 / PER_CONNECTION_BYTES;
            usize::try_from(fit)
                .unwrap_or(usize::MAX)
                .clamp(MIN_AUTO, UNLIMITED_DEFAULT)
        }
        None => UNLIMITED_DEFAULT,
    }
}

/// The permits, from the acceptor's side.
#[derive(Debug)]
pub struct Limit {
    permits: Arc<Semaphore>,
    max: usize,
    refused: u64,
    last_warning: Option<Instant>,
}

/// How often a sustained refusal is logged (each refusal is a debug line).
const WARN_EVERY: Duration = Duration::from_secs(10);

impl Limit {
    /// `max` connections at once (0: [`auto_limit`] of the cgroup memory limit).
    pub fn new(max: usize) -> Self {
        let max = match max {
            0 => auto_limit(crate::limits::memory_limit()),
            n => n,
        };
        Limit {
            permits: Arc::new(Semaphore::new(max)),
            max,
            refused: 0,
            last_warning: None,
        }
    }

    /// The cap in force.
    pub fn max(&self) -> usize {
        self.max
    }

    /// A permit for `stream`, or `None` after refusing it (the 503 is written if the socket
    /// takes it right away, never waited for; dropping the stream closes it).
    pub fn admit(&mut self, stream: &TcpStream) -> Option<OwnedSemaphorePermit> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Some(permit);
        }
        let _ = stream.try_write(REFUSAL);
        self.refused += 1;
        let now = Instant::now();
        if self
            .last_warning
            .is_none_or(|at| now.duration_since(at) >= WARN_EVERY)
        {
            self.last_warning = Some(now);
            tracing::warn!(
                max_connections = self.max,
                refused_total = self.refused,
                "connection limit reached; refusing new connections"
            );
        } else {
            tracing::debug!("connection refused: limit reached");
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_automatic_cap_fits_a_quarter_of_the_memory_limit() {
        // The production pods' 256 MiB: 1024 connections, 64 MiB at most.
        assert_eq!(auto_limit(Some(256 << 20)), 1024);
        assert_eq!(auto_limit(Some(1 << 30)), 4096);
        assert_eq!(auto_limit(Some(8 << 20)), MIN_AUTO);
        assert_eq!(auto_limit(Some(1 << 40)), UNLIMITED_DEFAULT);
        assert_eq!(auto_limit(None), UNLIMITED_DEFAULT);
    }

    #[test]
    fn the_refusal_is_a_complete_json_503() {
        let text = std::str::from_utf8(REFUSAL).expect("ascii");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let json: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(json["error"]["code"], "too_many_connections");
    }
}
