//! A real Prometheus (Debian's `prometheus`, the server itself, on loopback) scrapes the real
//! binaries every second while the test sends traffic it counts and times; the answers of
//! Prometheus's HTTP query API must agree with that traffic.
//!
//! What is checked, and how closely:
//! - the request counter's final value equals the number of requests sent, exactly;
//! - `rate()` over a window inside the steady traffic equals the client's own count of answers in
//!   that window divided by its length, within 20 %: Prometheus takes the increase between the
//!   first and the last scrape inside the window and extrapolates it to the window's edges, and
//!   with 1 s scrapes of a 6 s window that can move the estimate by up to one scrape's worth of
//!   requests (about 1/6) either way;
//! - `histogram_quantile(0.5)` of login latency lies in the same latency bucket as the median
//!   the client measured, or a neighbouring one: the quantile is interpolated linearly inside a
//!   bucket, so it can only be placed within the right bucket, and the client's time (which
//!   adds loopback and client overhead, well under a millisecond against tens of milliseconds of
//!   password hashing) can sit on the other side of a bucket edge.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::helpers::{client, migrated_cluster, Service};

/// The histogram buckets of `http_request_duration_seconds` (service-runtime's
/// LATENCY_BUCKETS), to tell which bucket a latency falls in.
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

fn bucket(seconds: f64) -> usize {
    BUCKETS.partition_point(|&b| b < seconds)
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The Prometheus server, killed when dropped.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts `prometheus` scraping `targets` (job name, metrics address) every second.
    fn start(targets: &[(&str, SocketAddr)]) -> Prometheus {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = String::from(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n",
        );
        for (job, addr) in targets {
            config +=
                &format!("  - job_name: {job}\n    static_configs:\n      - targets: ['{addr}']\n");
        }
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write config");
        let port = test_support::free_port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus (Debian package `prometheus`; .ci/run installs it)");
        Prometheus {
            child,
            addr,
            _dir: dir,
        }
    }

    async fn wait_ready(&mut self) {
        let c = client();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("prometheus exited: {status}");
            }
            if let Ok(r) = c.get(format!("http://{}/-/ready", self.addr)).send().await {
                if r.status() == StatusCode::OK {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("prometheus not ready within 30 s");
    }

    /// The single value of the instant query `promql` at `time` (None: no series).
    async fn query(&self, promql: &str, time: f64) -> Option<f64> {
        let r = client()
            .post(format!("http://{}/api/v1/query", self.addr))
            .form(&[("query", promql), ("time", &format!("{time:.3}"))])
            .send()
            .await
            .expect("query");
        let body: Value = r.json().await.expect("query JSON");
        assert_eq!(body["status"], "success", "{promql}: {body}");
        let result = body["data"]["result"].as_array().expect("vector result");
        assert!(result.len() <= 1, "{promql}: more than one series: {body}");
        result.first().map(|s| {
            s["value"][1]
                .as_str()
                .and_then(|v| v.parse().ok())
                .expect("a number")
        })
    }

    /// Waits until the last scrape of every job succeeded.
    async fn wait_targets_up(&self, jobs: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(30);
        for job in jobs {
            loop {
                if self.query(&format!("up{{job=\"{job}\"}}"), now()).await == Some(1.0) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{job} never scraped successfully"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const JWT_SECRET: &str = "prometheus-test-secret-0123456789abcdef";
const TRAFFIC: Duration = Duration::from_secs(10);
const PAGE_INTERVAL: Duration = Duration::from_millis(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_measures_the_traffic_that_was_sent() {
    let cluster = migrated_cluster().await;
    let (backend_metrics, marketing_metrics) =
        (test_support::free_port(), test_support::free_port());
    let mut backend = Service::spawn(
        "backend",
        &[
            ("DATABASE_URL", cluster.url()),
            ("JWT_SECRET", JWT_SECRET.into()),
            ("SUBSCRIPTIONS_ENABLED", "false".into()),
            ("LOGIN_ATTEMPTS_PER_MINUTE", "100000".into()),
            ("LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE", "100000".into()),
            ("METRICS_PORT", backend_metrics.to_string()),
        ],
    );
    let site = tempfile::tempdir().expect("site dir");
    std::fs::write(
        site.path().join("index.html"),
        "<!doctype html><title>Metrics</title><p>counted</p>",
    )
    .expect("write index.html");
    let mut marketing = Service::spawn(
        "marketing-server",
        &[
            ("SITE_DIR", site.path().display().to_string()),
            ("METRICS_PORT", marketing_metrics.to_string()),
        ],
    );
    backend.wait_healthy().await;
    marketing.wait_healthy().await;
    let mut prometheus = Prometheus::start(&[
        (
            "backend",
            SocketAddr::from(([127, 0, 0, 1], backend_metrics)),
        ),
        (
            "marketing",
            SocketAddr::from(([127, 0, 0, 1], marketing_metrics)),
        ),
    ]);
    prometheus.wait_ready().await;
    prometheus.wait_targets_up(&["backend", "marketing"]).await;

    let c = client();
    let credentials =
        json!({"email": "prom@example.com", "password": "correct horse battery staple"});
    let r = c
        .post(backend.url("/auth/signup"))
        .json(&credentials)
        .send()
        .await
        .expect("signup");
    assert_eq!(r.status(), StatusCode::CREATED);

    // Steady traffic for TRAFFIC: a page every 20 ms, logins back to back.
    let start = now();
    let page_url = marketing.url("/");
    let pages = tokio::spawn(async move {
        let c = client();
        let mut done = Vec::new();
        let mut tick = tokio::time::interval(PAGE_INTERVAL);
        let until = Instant::now() + TRAFFIC;
        while Instant::now() < until {
            tick.tick().await;
            let r = c.get(&page_url).send().await.expect("page");
            assert_eq!(r.status(), StatusCode::OK);
            r.bytes().await.expect("body");
            done.push(now());
        }
        done
    });
    let login_url = backend.url("/auth/login");
    let logins = tokio::spawn(async move {
        let c = client();
        let mut took = Vec::new();
        let until = Instant::now() + TRAFFIC;
        while Instant::now() < until {
            let sent = Instant::now();
            let r = c
                .post(&login_url)
                .json(&credentials)
                .send()
                .await
                .expect("login");
            assert_eq!(r.status(), StatusCode::OK);
            r.bytes().await.expect("body");
            took.push(sent.elapsed().as_secs_f64());
        }
        took
    });
    let pages = pages.await.expect("pages");
    let mut logins = logins.await.expect("logins");
    // Two more scrapes, so the final counts are in.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let end = now();

    let total = prometheus
        .query(
            r#"http_requests_total{job="marketing",method="GET",route="page",status="200"}"#,
            end,
        )
        .await;
    assert_eq!(total, Some(pages.len() as f64), "page requests counted");
    let login_total = prometheus
        .query(
            r#"http_requests_total{job="backend",method="POST",route="/auth/login",status="200"}"#,
            end,
        )
        .await;
    assert_eq!(login_total, Some(logins.len() as f64), "logins counted");

    // rate() over 6 s well inside the traffic.
    let (from, to) = (start + 2.0, start + 8.0);
    let sent = pages.iter().filter(|&&t| t > from && t <= to).count() as f64 / 6.0;
    let rate = prometheus
        .query(
            r#"rate(http_requests_total{job="marketing",route="page",status="200"}[6s])"#,
            to,
        )
        .await
        .expect("a rate");
    assert!(
        (rate - sent).abs() <= 0.2 * sent,
        "rate() says {rate:.1}/s, the client sent {sent:.1}/s"
    );

    logins.sort_by(f64::total_cmp);
    let client_median = logins[logins.len() / 2];
    let window = (end - start).ceil() as u64 + 1;
    let median = prometheus
        .query(
            &format!(
                r#"histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket{{job="backend",route="/auth/login"}}[{window}s])))"#
            ),
            end,
        )
        .await
        .expect("a quantile");
    assert!(
        bucket(median).abs_diff(bucket(client_median)) <= 1,
        "histogram_quantile(0.5) = {median:.4}s, the client's median {client_median:.4}s \
         ({} logins)",
        logins.len()
    );
    assert!(median > 0.0 && median <= logins[logins.len() - 1] * 2.5);
    eprintln!(
        "prometheus: {} pages, rate() {rate:.1}/s vs {sent:.1}/s sent; {} logins, \
         histogram_quantile(0.5) {median:.4}s vs the client's {client_median:.4}s",
        pages.len(),
        logins.len()
    );
    drop(cluster);
}
