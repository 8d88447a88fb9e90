//! The binaries under test as child processes, and a steady load generator.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, SystemTime};

use reqwest::{Client, Method, StatusCode};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Directory holding this test's sibling binaries: `<target>/<profile>`, found from the test
/// executable (`<target>/<profile>/deps/resilience-<hash>`), so `CARGO_TARGET_DIR` and
/// `--release` are followed without compile-time paths.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the test executable");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("test executable lives in <target>/<profile>/deps")
        .to_path_buf()
}

/// Path of a workspace binary in this test's profile directory.
///
/// `cargo test --workspace` builds it (cargo builds a package's binaries for its own integration
/// tests); alone, run `cargo build -p marketing-server -p backend -p tools` first, or set
/// `RESILIENCE_BUILD=1` to have this test run that build (not the default: with other packages
/// selected, cargo would build them a second time with different features).
pub fn binary(name: &str) -> PathBuf {
    static BUILD: Once = Once::new();
    let dir = profile_dir();
    BUILD.call_once(|| {
        if std::env::var_os("RESILIENCE_BUILD").is_none() {
            return;
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "--quiet",
            "-p",
            "marketing-server",
            "-p",
            "backend",
            "-p",
            "tools",
        ]);
        if dir.file_name().is_some_and(|p| p == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build");
        assert!(
            status.success(),
            "cargo build -p marketing-server -p backend -p tools failed"
        );
    });
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not found: run `cargo build -p marketing-server -p backend -p tools` first \
         (or RESILIENCE_BUILD=1)",
        path.display()
    );
    warn_if_stale(&path, name);
    path
}

/// Says so when the binary is older than its sources: the test would exercise old code.
fn warn_if_stale(bin: &Path, name: &str) {
    let Ok(built) = std::fs::metadata(bin).and_then(|m| m.modified()) else {
        return;
    };
    // Set by `cargo test` when it runs the test; without it there is nothing to compare.
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        return;
    };
    let crates = Path::new(&manifest_dir).join("..");
    for src in [name, "service-runtime"] {
        if let Some(newest) = newest_mtime(&crates.join(src).join("src")) {
            if newest > built {
                eprintln!(
                    "warning: {} is older than crates/{src}/src: run \
                     `cargo build -p marketing-server -p backend` to test the current code",
                    bin.display()
                );
                return;
            }
        }
    }
}

fn newest_mtime(dir: &Path) -> Option<SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let t = if path.is_dir() {
            newest_mtime(&path)
        } else {
            entry.metadata().and_then(|m| m.modified()).ok()
        };
        newest = newest.max(t);
    }
    newest
}

/// A PostgreSQL cluster of this test's own with the backend's schema migrated in.
pub async fn migrated_cluster() -> test_support::Cluster {
    // Starting a cluster blocks (initdb, pg_ctl): off the async threads.
    let cluster = tokio::task::spawn_blocking(test_support::Cluster::start)
        .await
        .expect("test PostgreSQL");
    let pool = sqlx::PgPool::connect(&cluster.url())
        .await
        .expect("connect");
    backend::MIGRATOR.run(&pool).await.expect("migrate");
    pool.close().await;
    cluster
}

/// One running instance of a service binary on a free loopback port. Killed when dropped.
pub struct Service {
    pub name: &'static str,
    pub addr: SocketAddr,
    child: Child,
}

impl Service {
    /// Starts `name` with `PORT`/`HOST` set and quiet logs, plus `env`.
    pub fn spawn(name: &'static str, env: &[(&str, String)]) -> Service {
        Self::start(name, env, "warn", Stdio::null())
    }

    /// Like [`Service::spawn`], with info logs (JSON lines) written to `log`.
    pub fn spawn_logged(name: &'static str, env: &[(&str, String)], log: &Path) -> Service {
        let file = std::fs::File::create(log).expect("create the log file");
        Self::start(name, env, "info", Stdio::from(file))
    }

    fn start(name: &'static str, env: &[(&str, String)], filter: &str, out: Stdio) -> Service {
        let port = test_support::free_port();
        let child = Command::new(binary(name))
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("RUST_LOG", filter)
            .env("LOG_FORMAT", "json")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(out)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Service {
            name,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True while the process has not exited.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits (bounded) for `/healthz` to answer 200; panics if the process exits first.
    pub async fn wait_healthy(&mut self) {
        let client = client();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited during start-up: {status}", self.name);
            }
            if let Ok(r) = client.get(self.url("/healthz")).send().await {
                if r.status() == StatusCode::OK {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{} did not answer 200 on /healthz within 30 s", self.name);
    }

    /// What Kubernetes sends a pod it is replacing.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {} failed", self.pid());
    }

    /// Waits (bounded) for the process to exit and returns its status.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} (pid {}) still running {within:?} after SIGTERM",
                self.name,
                self.pid()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client that opens a fresh connection for every request: no pooled connection can be closed
/// under it between requests, so every failure it sees is the server's (or the proxy's).
pub fn client() -> Client {
    // reqwest is built without a default crypto provider (see tools::stripe::client).
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client")
}

/// One request the load repeats.
#[derive(Clone)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub label: String,
    pub bearer: Option<String>,
    pub json: Option<serde_json::Value>,
}

impl Request {
    pub fn get(label: &str, url: String) -> Request {
        Request {
            method: Method::GET,
            url,
            label: format!("GET {label}"),
            bearer: None,
            json: None,
        }
    }

    pub fn bearer(mut self, token: &str) -> Request {
        self.bearer = Some(token.to_string());
        self
    }

    pub async fn send(&self, client: &Client) -> Result<(StatusCode, String), reqwest::Error> {
        let mut b = client.request(self.method.clone(), &self.url);
        if let Some(t) = &self.bearer {
            b = b.bearer_auth(t);
        }
        if let Some(j) = &self.json {
            b = b.json(j);
        }
        let r = b.send().await?;
        let status = r.status();
        Ok((status, r.text().await?))
    }
}

/// How many requests ended which way: `"GET / 200"`, `"GET /accounts 503 database_unavailable"`
/// (the JSON error code, when there is one), or `"GET / error: ..."` for a transport failure.
pub type Tally = BTreeMap<String, u64>;

pub fn outcome(label: &str, result: &Result<(StatusCode, String), reqwest::Error>) -> String {
    match result {
        Ok((status, _)) if status.is_success() => format!("{label} {}", status.as_u16()),
        Ok((status, body)) => {
            let code = serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
                .unwrap_or_else(|| body.chars().take(60).collect());
            format!("{label} {} {code}", status.as_u16())
        }
        Err(e) => format!("{label} error: {e}"),
    }
}

/// `workers` tasks, each sending `requests` in turn with `pause` between, until stopped.
pub struct Load {
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<Tally>>,
}

impl Load {
    pub fn start(requests: Vec<Request>, workers: usize, pause: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..workers)
            .map(|w| {
                let stop = stop.clone();
                let requests = requests.clone();
                tokio::spawn(async move {
                    let client = client();
                    let mut tally = Tally::new();
                    let mut i = w;
                    while !stop.load(Ordering::Relaxed) {
                        let req = &requests[i % requests.len()];
                        let result = req.send(&client).await;
                        *tally.entry(outcome(&req.label, &result)).or_default() += 1;
                        i += 1;
                        tokio::time::sleep(pause).await;
                    }
                    tally
                })
            })
            .collect();
        Load { stop, workers }
    }

    /// Stops the workers after their current request and adds up what they saw.
    pub async fn stop(self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        let mut total = Tally::new();
        for w in self.workers {
            for (k, n) in w.await.expect("load worker") {
                *total.entry(k).or_default() += n;
            }
        }
        total
    }
}
