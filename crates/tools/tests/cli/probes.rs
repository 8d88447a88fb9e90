//! `wait-for` and `healthcheck`: the replacements for busybox init containers and curl.

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

use crate::helpers::{closed_port, run, serve, tools};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_succeeds_once_every_target_listens() {
    let a = serve(Router::new()).await;
    let b = serve(Router::new()).await;
    let out = run(tools(&[
        "wait-for",
        &a.to_string(),
        &format!("localhost:{}", b.port()),
        "--timeout",
        "10s",
    ]))
    .await;
    out.expect_code(0);
    assert!(
        out.stderr.contains(&format!("{a} is reachable")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("all 2 target(s) reachable"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_gives_up_at_the_deadline_naming_the_missing_targets() {
    let open = serve(Router::new()).await;
    let closed = format!("127.0.0.1:{}", closed_port());
    let out = run(tools(&[
        "wait-for",
        &open.to_string(),
        &closed,
        "--timeout",
        "1s",
        "--interval",
        "200ms",
    ]))
    .await;
    out.expect_code(1);
    let last = out
        .stderr
        .trim()
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(
        last.starts_with("error: gave up after 1s"),
        "{}",
        out.stderr
    );
    assert!(last.contains(&closed), "{}", out.stderr);
    assert!(!last.contains(&open.to_string()), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("{closed} not reachable yet")),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_rejects_a_target_without_a_port() {
    let out = run(tools(&["wait-for", "database"])).await;
    out.expect_code(2);
    assert!(out.stderr.contains("HOST:PORT"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_follows_the_status_code() {
    let healthy = serve(Router::new().route("/healthz", get(|| async { "1" }))).await;
    let draining = serve(Router::new().route(
        "/healthz",
        get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "draining") }),
    ))
    .await;

    run(tools(&[
        "healthcheck",
        &format!("http://{healthy}/healthz"),
    ]))
    .await
    .expect_code(0);

    // The services' shape (`--url`) works here too: one argument shape for every binary.
    run(tools(&[
        "healthcheck",
        "--url",
        &format!("http://{healthy}/healthz"),
    ]))
    .await
    .expect_code(0);

    let out = run(tools(&[
        "healthcheck",
        &format!("http://{draining}/healthz"),
    ]))
    .await;
    out.expect_code(1);
    assert!(out.stderr.contains("503"), "{}", out.stderr);

    let out = run(tools(&[
        "healthcheck",
        &format!("http://127.0.0.1:{}/healthz", closed_port()),
        "--timeout",
        "1s",
    ]))
    .await;
    out.expect_code(1);
    assert!(out.stderr.contains("unhealthy"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_without_a_url_is_a_usage_error() {
    // tools has no port of its own to default to.
    let out = run(tools(&["healthcheck"])).await;
    out.expect_code(2);
    assert!(out.stderr.contains("URL"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_documents_every_command_and_the_exit_codes() {
    let out = run(tools(&["--help"])).await;
    out.expect_code(0);
    for text in [
        "db-migrate",
        "db-reset",
        "inject-stripe-secret",
        "stripe-webhook",
        "healthcheck",
        "wait-for",
        "Exit codes:",
    ] {
        assert!(out.stdout.contains(text), "{text} missing:\n{}", out.stdout);
    }
    let out = run(tools(&["db-reset", "--help"])).await;
    out.expect_code(0);
    assert!(
        out.stdout
            .contains("--i-understand-this-destroys-production-data"),
        "{}",
        out.stdout
    );
}
