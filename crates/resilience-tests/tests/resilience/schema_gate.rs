//! A rollout where the backend starts before its migration Job: the real backend binary against
//! a database with no schema is not ready (`/healthz` 503) and serves no API route, says once in
//! its log what it waits for, and becomes ready by itself - same process - once the real
//! `tools db-migrate` has run.

use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use tokio::time::Instant;

use crate::db_outage::{signup, JWT_SECRET};
use crate::helpers::{binary, client, Service};

const WAITING: &str = "waiting for the database schema";

#[tokio::test]
async fn backend_waits_for_the_migration_job_and_becomes_ready_without_restart() {
    tokio::task::spawn_blocking(test_support::server_url)
        .await
        .expect("test PostgreSQL");
    let db = test_support::TestDb::new().await;
    let logs = tempfile::tempdir().expect("tempdir");
    let log = logs.path().join("backend.log");
    let mut backend = Service::spawn_logged(
        "backend",
        &[
            ("DATABASE_URL", db.url.clone()),
            ("JWT_SECRET", JWT_SECRET.into()),
            ("SUBSCRIPTIONS_ENABLED", "false".into()),
        ],
        &log,
    );
    let pid = backend.pid();
    let c = client();

    // Up (it answers), but not ready, for several polls of the gate.
    let deadline = Instant::now() + Duration::from_secs(30);
    let health = loop {
        if let Ok(r) = c.get(backend.url("/healthz")).send().await {
            break r;
        }
        assert!(backend.running(), "backend exited during start-up");
        assert!(Instant::now() < deadline, "backend never answered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let r = c
        .post(backend.url("/auth/signup"))
        .json(
            &serde_json::json!({"email": "early@example.com", "password": "correct horse battery"}),
        )
        .send()
        .await
        .expect("signup");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = r.json().await.expect("JSON error");
    assert_eq!(body["error"]["code"], "schema_not_ready", "{body}");
    let r = c
        .get(backend.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);

    // The migration Job.
    let out = Command::new(binary("tools"))
        .arg("db-migrate")
        .env("DATABASE_URL", &db.url)
        .output()
        .expect("run tools db-migrate");
    assert!(
        out.status.success(),
        "tools db-migrate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    backend.wait_healthy().await;
    assert_eq!(backend.pid(), pid);
    assert!(backend.running(), "the same process serves");
    let token = signup(&backend, "after@example.com").await;
    let r = c
        .get(backend.url("/accounts"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("accounts");
    assert_eq!(r.status(), StatusCode::OK);

    let text = std::fs::read_to_string(&log).expect("backend log");
    assert_eq!(
        text.matches(WAITING).count(),
        1,
        "the wait is logged once, not per poll:\n{text}"
    );
    assert!(text.contains("; ready"), "readiness is logged:\n{text}");
    drop(backend);
    db.drop_db().await;
}
