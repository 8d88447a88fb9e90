//! The schema gate: a backend started before its migrations ran is not ready and serves no API
//! route; it becomes ready by itself once the schema is there, and a newer schema (a rollback of
//! the image) does not stop it.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use test_support::TestDb;

use crate::helpers::{app_role_url, expect, expect_error, serve, serve_unready, Options, TestApp};

async fn fresh_db() -> TestDb {
    tokio::task::spawn_blocking(test_support::server_url)
        .await
        .expect("test PostgreSQL");
    TestDb::new().await
}

/// A migrated database whose migration table `sql` then edits (bound to the version this
/// build expects), as another release's Job would have left it.
async fn migrated_then(sql: &'static str, bound: impl FnOnce(i64) -> i64) -> TestDb {
    let db = fresh_db().await;
    backend::MIGRATOR.run(&db.pool).await.expect("migrate");
    let built_for = backend::schema::built_for().expect("embedded").version;
    sqlx::query(sql)
        .bind(bound(built_for))
        .execute(&db.pool)
        .await
        .expect("edit the migration table");
    db
}

/// Every kind of route answers 503 `schema_not_ready` with a Retry-After, not just one.
async fn assert_nothing_served(app: &TestApp) {
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.text().await.expect("body"), "starting");
    let signup = json!({"email": "early@example.com", "password": "correct horse battery"});
    for res in [
        app.post("/auth/signup", None, &signup).await,
        app.get("/accounts", Some("not-a-token")).await,
        app.post("/billing/webhook", None, &json!({})).await,
        app.get("/no/such/route", None).await,
    ] {
        assert_eq!(res.headers()["retry-after"], "2");
        expect_error(res, StatusCode::SERVICE_UNAVAILABLE, "schema_not_ready").await;
    }
}

/// Polls /healthz (bounded) until it answers 200.
async fn wait_ready(app: &TestApp, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while app.get("/healthz", None).await.status() != StatusCode::OK {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not ready within {within:?} after migrating"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn unmigrated_database_holds_readiness_until_migrated_then_serves_without_restart() {
    let db = fresh_db().await;
    // The role exists (an earlier release's Job) but has no tables to be granted yet.
    let app = serve_unready(&app_role_url(&db.url).await, Options::default()).await;
    assert_nothing_served(&app).await;
    // Still not ready a few polls later: the gate waits, it does not give up or open by itself.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_nothing_served(&app).await;

    // What the migration Job does: migrate, then grant the new tables.
    backend::MIGRATOR.run(&db.pool).await.expect("migrate");
    app_role_url(&db.url).await;
    wait_ready(&app, Duration::from_secs(5)).await;
    let (token, _) = app.signup("ann@example.com").await;
    expect(app.get("/accounts", Some(&token)).await, StatusCode::OK).await;
    app.finish().await;
    db.drop_db().await;
}

#[tokio::test]
async fn a_schema_newer_than_the_build_is_served() {
    // What the next release's migration Job leaves behind when its image is rolled back.
    let db = migrated_then(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES ($1, 'from a newer release', true, '\\x00', 1)",
        |v| v + 1,
    )
    .await;
    let app = serve(&app_role_url(&db.url).await, Options::default()).await;
    let (token, _) = app.signup("bob@example.com").await;
    expect(app.get("/accounts", Some(&token)).await, StatusCode::OK).await;
    app.finish().await;
    db.drop_db().await;
}

#[tokio::test]
async fn an_older_schema_is_not_enough() {
    // As if the newest migration had not run yet (its Job still running, or failed).
    let db = migrated_then("DELETE FROM _sqlx_migrations WHERE version = $1", |v| v).await;
    let app = serve_unready(&app_role_url(&db.url).await, Options::default()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_nothing_served(&app).await;
    app.finish().await;
    db.drop_db().await;
}
