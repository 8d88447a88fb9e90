//! Rolling restarts lose no request: two instances behind the health-checking proxy, steady
//! load, and three times over: SIGTERM one instance, start a fresh one, put it into rotation
//! once healthy, wait for the old one to exit 0. Every request must succeed.
//!
//! This is the Kubernetes sequence: on SIGTERM the instance answers /healthz 503 for
//! SHUTDOWN_DRAIN_SECONDS while still serving, the readiness probe takes it out of rotation
//! within one probe interval, and only then does it stop accepting connections.

use std::collections::VecDeque;
use std::time::Duration;

use crate::helpers::{migrated_cluster, Load, Request, Service, Tally};
use crate::proxy::{Proxy, PROBE_INTERVAL};

const RESTARTS: usize = 3;
const WORKERS: usize = 8;
const PAUSE: Duration = Duration::from_millis(5);
/// Comfortably more than one probe interval (100 ms), yet short enough to keep the test quick.
const DRAIN_SECONDS: &str = "1";

/// Runs the rolling restart with `spawn` making each instance; returns the load's tally.
async fn roll(spawn: impl Fn() -> Service, requests: impl Fn(&Proxy) -> Vec<Request>) -> Tally {
    let proxy = Proxy::start().await;
    let mut live = VecDeque::new();
    for _ in 0..2 {
        let mut s = spawn();
        s.wait_healthy().await;
        proxy.add(s.addr);
        assert!(
            proxy.wait_ready(s.addr, Duration::from_secs(10)).await,
            "{} never became ready in the proxy",
            s.name
        );
        live.push_back(s);
    }

    let load = Load::start(requests(&proxy), WORKERS, PAUSE);
    tokio::time::sleep(PROBE_INTERVAL * 3).await;
    for round in 1..=RESTARTS {
        let mut old = live.pop_front().expect("an instance to replace");
        old.sigterm();
        let mut fresh = spawn();
        fresh.wait_healthy().await;
        proxy.add(fresh.addr);
        assert!(
            proxy.wait_ready(fresh.addr, Duration::from_secs(10)).await,
            "round {round}: the fresh instance never became ready"
        );
        let status = old.wait_exit(Duration::from_secs(30)).await;
        assert!(
            status.success(),
            "round {round}: the old instance exited with {status}"
        );
        proxy.remove(old.addr);
        live.push_back(fresh);
        tokio::time::sleep(PROBE_INTERVAL * 2).await;
    }
    tokio::time::sleep(PROBE_INTERVAL * 3).await;
    load.stop().await
}

/// Every request in `tally` is `expected`, and there were at least `min` of them.
fn assert_all(tally: &Tally, expected: &str, min: u64) {
    let served = tally.get(expected).copied().unwrap_or(0);
    eprintln!("rolling restart, {RESTARTS} replacements: {tally:?}");
    let failed: Vec<_> = tally.iter().filter(|(k, _)| *k != expected).collect();
    assert!(
        failed.is_empty(),
        "requests failed during the rolling restart (served {served}): {failed:?}"
    );
    assert!(
        served >= min,
        "only {served} requests were served: the load did not run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marketing_server_rolling_restart_loses_no_request() {
    let site = tempfile::tempdir().expect("site dir");
    let page = format!(
        "<!doctype html><title>Rolling</title><p>{}</p>",
        "steady ".repeat(500)
    );
    std::fs::write(site.path().join("index.html"), &page).expect("write index.html");
    let site_dir = site.path().display().to_string();

    let tally = roll(
        || {
            Service::spawn(
                "marketing-server",
                &[
                    ("SITE_DIR", site_dir.clone()),
                    ("SHUTDOWN_DRAIN_SECONDS", DRAIN_SECONDS.into()),
                    ("SHUTDOWN_TIMEOUT_SECONDS", "10".into()),
                ],
            )
        },
        |proxy| vec![Request::get("/", proxy.url("/"))],
    )
    .await;
    assert_all(&tally, "GET / 200", 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_rolling_restart_loses_no_request() {
    // A cluster of its own, like the outage test needs anyway.
    let cluster = migrated_cluster().await;
    let env = vec![
        ("DATABASE_URL", cluster.url()),
        ("JWT_SECRET", crate::db_outage::JWT_SECRET.to_string()),
        ("SUBSCRIPTIONS_ENABLED", "false".to_string()),
        ("SHUTDOWN_DRAIN_SECONDS", DRAIN_SECONDS.to_string()),
        ("SHUTDOWN_TIMEOUT_SECONDS", "10".to_string()),
    ];

    // A user and a token, through a first instance that is then part of the rotation.
    let mut first = Service::spawn("backend", &env);
    first.wait_healthy().await;
    let token = crate::db_outage::signup(&first, "rolling@example.com").await;
    drop(first);

    let tally = roll(
        || Service::spawn("backend", &env),
        |proxy| vec![Request::get("/accounts", proxy.url("/accounts")).bearer(&token)],
    )
    .await;
    assert_all(&tally, "GET /accounts 200", 100);
}
