//! PostgreSQL limits on every pooled connection: a statement stuck behind a lock (here, a
//! migration-like `LOCK TABLE` held by another session) is cancelled after
//! `DATABASE_LOCK_TIMEOUT` and answered 503 `database_busy`, not left to pin the pool; the session
//! settings reach the server.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use sqlx::Connection;

use crate::helpers::{expect, expect_error, spawn_app_with, Options};

#[tokio::test]
async fn a_write_stuck_behind_a_lock_answers_503_database_busy_and_nothing_is_written() {
    let app = spawn_app_with(Options {
        lock_timeout: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let (token, _) = app.signup("locked@example.com").await;

    // Another session (a migration, an operator) holds the accounts table.
    let url = app.db.as_ref().expect("own database").url.clone();
    let mut other = sqlx::PgConnection::connect(&url).await.expect("connect");
    let mut tx = other.begin().await.expect("begin");
    sqlx::query("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .expect("lock");

    let started = Instant::now();
    let res = app
        .post(
            "/accounts",
            Some(&token),
            &json!({"name": "Checking", "type": "asset"}),
        )
        .await;
    let waited = started.elapsed();
    let retry_after = res.headers().get("retry-after").cloned();
    expect_error(res, StatusCode::SERVICE_UNAVAILABLE, "database_busy").await;
    assert_eq!(
        retry_after.as_ref().and_then(|v| v.to_str().ok()),
        Some("1")
    );
    // Cancelled by the lock timeout, well before the 15 s request timeout would have answered.
    assert!(waited < Duration::from_secs(5), "answered after {waited:?}");

    tx.rollback().await.expect("release");
    // The server and its pool are fine once the lock is gone.
    app.create_account(&token, "Checking", "asset").await;
    let res = app.get("/accounts", Some(&token)).await;
    let list = expect(res, StatusCode::OK).await;
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(1),
        "the cancelled insert left no row"
    );
    app.finish().await;
}

#[tokio::test]
async fn every_pooled_connection_carries_the_statement_and_lock_timeouts() {
    let app = spawn_app_with(Options::default()).await;
    // What a backend connection reports: the pool the app uses is not exposed, so open one with
    // the same options the application builds.
    let url = app.db.as_ref().expect("own database").url.clone();
    let options = backend::db::with_session_limits(
        url.parse().expect("options"),
        Duration::from_secs(10),
        Duration::from_secs(3),
    );
    let mut conn = sqlx::PgConnection::connect_with(&options)
        .await
        .expect("connect");
    for (setting, want) in [
        ("statement_timeout", "10s"),
        ("lock_timeout", "3s"),
        ("tcp_keepalives_idle", "60"),
    ] {
        let got: String = sqlx::query_scalar("SELECT current_setting($1)")
            .bind(setting)
            .fetch_one(&mut conn)
            .await
            .expect("show");
        assert_eq!(got, want, "{setting}");
    }
    app.finish().await;
}
