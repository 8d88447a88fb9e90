use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use test_support::Cluster;

use crate::helpers::{app_role_url, expect, expect_error, sample, serve, Options};

#[tokio::test]
async fn database_outage_answers_503_and_recovers_without_restart() {
    let cluster = tokio::task::spawn_blocking(Cluster::start)
        .await
        .expect("cluster");
    let url = cluster.url();
    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    backend::MIGRATOR.run(&pool).await.expect("migrate");
    pool.close().await;

    let app = serve(
        &app_role_url(&url).await,
        Options {
            acquire_timeout: Duration::from_secs(1),
            metrics: true,
            ..Options::default()
        },
    )
    .await;
    let (token, _) = app.signup("ann@example.com").await;
    expect(app.get("/accounts", Some(&token)).await, StatusCode::OK).await;

    let mut cluster = tokio::task::spawn_blocking(move || {
        let mut cluster = cluster;
        cluster.stop();
        cluster
    })
    .await
    .expect("stop");

    expect_error(
        app.get("/accounts", Some(&token)).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
    )
    .await;
    let res = app
        .post(
            "/auth/login",
            None,
            &serde_json::json!({"email": "ann@example.com", "password": "correct horse battery"}),
        )
        .await;
    // Like every 503 of the API, it says when to retry.
    assert_eq!(res.headers()["retry-after"], "1");
    expect_error(res, StatusCode::SERVICE_UNAVAILABLE, "database_unavailable").await;
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.text().await.expect("body"), "1");
    // Both 503s are counted (the counter is per process: at least ours).
    let text = app.metrics().await;
    assert!(
        sample(&text, "database_unavailable_answers_total") >= 2.0,
        "{text}"
    );
    assert!(
        sample(
            &text,
            r#"http_requests_total{method="GET",route="/accounts",status="503"}"#
        ) >= 1.0,
        "{text}"
    );

    cluster = tokio::task::spawn_blocking(move || {
        cluster.restart();
        cluster
    })
    .await
    .expect("restart");

    // Same app instance, no restart: the pool reconnects by itself (bounded retries).
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..20 {
        status = app.get("/accounts", Some(&token)).await.status();
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(status, StatusCode::OK);
    let me = expect(app.get("/users/me", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(me["email"], "ann@example.com");

    app.finish().await;
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .expect("drop cluster");
}

#[test]
fn short_jwt_secret_fails_start_with_one_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_backend"))
        .env_clear()
        .env("DATABASE_URL", "postgres://u:pw@127.0.0.1:1/db")
        .env("JWT_SECRET", "too-short-secret")
        .env("STRIPE_WEBHOOK_SECRET", "whsec_x")
        .output()
        .expect("run backend");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("JWT_SECRET"), "{stderr}");
    assert!(
        !stderr.contains("too-short-secret"),
        "secret leaked: {stderr}"
    );
}

#[test]
fn missing_webhook_secret_fails_start_while_billing_is_on() {
    let out = Command::new(env!("CARGO_BIN_EXE_backend"))
        .env_clear()
        .env("DATABASE_URL", "postgres://u:pw@127.0.0.1:1/db")
        .env("JWT_SECRET", "0123456789abcdef0123456789abcdef")
        .output()
        .expect("run backend");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("STRIPE_WEBHOOK_SECRET"), "{stderr}");
}
