//! A minimal HTTP/1.1 round-robin proxy with readiness probes, standing in for a Kubernetes
//! Service's endpoints (or ingress-nginx) in front of several instances.
//!
//! Each request gets its own upstream connection (`Connection: close`) so that a request, once
//! forwarded, is tied to exactly one instance and completes there; the proxy never retries, so
//! an instance that drops a request shows up as a failure in the test.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{timeout, Instant};

/// How often every instance's `/healthz` is probed (a readiness probe's `periodSeconds`).
pub const PROBE_INTERVAL: Duration = Duration::from_millis(100);
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_HEAD: usize = 64 * 1024;

/// Instances and whether their last probe answered 200 (new instances start not ready).
type Endpoints = Arc<Mutex<HashMap<SocketAddr, bool>>>;

pub struct Proxy {
    pub addr: SocketAddr,
    endpoints: Endpoints,
    tasks: Vec<JoinHandle<()>>,
}

impl Proxy {
    pub async fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let endpoints: Endpoints = Arc::default();
        let next = Arc::new(AtomicUsize::new(0));

        let eps = endpoints.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(handle(client, eps.clone(), next.clone()));
            }
        });

        let eps = endpoints.clone();
        let probe = tokio::spawn(async move {
            let mut tick = tokio::time::interval(PROBE_INTERVAL);
            loop {
                tick.tick().await;
                let addrs: Vec<SocketAddr> = lock(&eps).keys().copied().collect();
                let mut probes = JoinSet::new();
                for a in addrs {
                    probes.spawn(async move { (a, probe_healthz(a).await) });
                }
                while let Some(Ok((a, ready))) = probes.join_next().await {
                    // An instance removed while its probe ran stays removed.
                    if let Some(r) = lock(&eps).get_mut(&a) {
                        *r = ready;
                    }
                }
            }
        });

        Proxy {
            addr,
            endpoints,
            tasks: vec![accept, probe],
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Registers an instance; it receives traffic once a probe has seen it healthy.
    pub fn add(&self, addr: SocketAddr) {
        lock(&self.endpoints).insert(addr, false);
    }

    pub fn remove(&self, addr: SocketAddr) {
        lock(&self.endpoints).remove(&addr);
    }

    pub fn is_ready(&self, addr: SocketAddr) -> bool {
        lock(&self.endpoints).get(&addr).copied().unwrap_or(false)
    }

    /// Waits (bounded) until the instance is in rotation; false if it never got there.
    pub async fn wait_ready(&self, addr: SocketAddr, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.is_ready(addr) {
                return true;
            }
            tokio::time::sleep(PROBE_INTERVAL / 4).await;
        }
        false
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn lock(eps: &Endpoints) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, bool>> {
    eps.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Round robin over the instances that are ready right now.
fn pick(eps: &Endpoints, next: &AtomicUsize) -> Option<SocketAddr> {
    let map = lock(eps);
    let mut ready: Vec<SocketAddr> = map.iter().filter(|(_, r)| **r).map(|(a, _)| *a).collect();
    if ready.is_empty() {
        return None;
    }
    ready.sort();
    Some(ready[next.fetch_add(1, Ordering::Relaxed) % ready.len()])
}

async fn probe_healthz(addr: SocketAddr) -> bool {
    let attempt = async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head).await.ok()?;
        Some(head.starts_with(b"HTTP/1.") && &head[9..12] == b"200")
    };
    matches!(timeout(PROBE_TIMEOUT, attempt).await, Ok(Some(true)))
}

async fn handle(mut client: TcpStream, eps: Endpoints, next: Arc<AtomicUsize>) {
    let Some(request) = read_request(&mut client).await else {
        return;
    };
    let response = match pick(&eps, &next) {
        None => plain(503, "no ready endpoint"),
        Some(target) => match timeout(UPSTREAM_TIMEOUT, forward(target, &request)).await {
            Ok(Ok(bytes)) if !bytes.is_empty() => bytes,
            Ok(Ok(_)) => plain(502, &format!("{target} closed without answering")),
            Ok(Err(e)) => plain(502, &format!("{target}: {e}")),
            Err(_) => plain(504, &format!("{target} timed out")),
        },
    };
    let _ = client.write_all(&response).await;
    let _ = client.shutdown().await;
}

async fn forward(target: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut upstream = TcpStream::connect(target).await?;
    upstream.write_all(request).await?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response).await?;
    Ok(response)
}

fn plain(status: u16, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} Proxy\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads one request (head and `Content-Length` body) and rewrites it to `Connection: close`.
async fn read_request<R: AsyncRead + Unpin>(client: &mut R) -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(1024);
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let mut chunk = [0u8; 4096];
        let n = client.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let mut out = format!("{}\r\n", lines.next()?);
    let mut body_len = 0usize;
    for line in lines {
        let name = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match name.as_str() {
            "connection" | "keep-alive" => continue,
            "content-length" => body_len = line.split(':').nth(1)?.trim().parse().ok()?,
            _ => {}
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < body_len {
        let mut chunk = [0u8; 4096];
        let n = client.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let mut request = out.into_bytes();
    request.extend_from_slice(&body);
    Some(request)
}
