//! A PostgreSQL outage under load: the backend keeps running, answers its database routes with
//! 503 and the JSON error shape while PostgreSQL is down, keeps `/healthz` at 200 (a restart
//! would not help, so the orchestrator must not be told to restart it), and serves again as soon
//! as PostgreSQL is back, without being restarted.

use std::time::Duration;

use reqwest::StatusCode;
use test_support::Cluster;
use tokio::time::Instant;

use crate::helpers::{client, Load, Request, Service};

pub const JWT_SECRET: &str = "resilience-test-secret-0123456789abcdef";

/// Signs a user up through `backend` and returns the token.
pub async fn signup(backend: &Service, email: &str) -> String {
    let r = client()
        .post(backend.url("/auth/signup"))
        .json(&serde_json::json!({ "email": email, "password": "correct horse battery staple" }))
        .send()
        .await
        .expect("signup request");
    assert_eq!(r.status(), StatusCode::CREATED, "signup");
    let body: serde_json::Value = r.json().await.expect("signup JSON");
    body["token"]
        .as_str()
        .expect("token in signup answer")
        .to_string()
}

/// Polls `req` (bounded) until it answers `status`; returns the last body.
async fn wait_for(req: &Request, status: StatusCode, within: Duration) -> String {
    let client = client();
    let deadline = Instant::now() + within;
    let mut last = String::new();
    while Instant::now() < deadline {
        match req.send(&client).await {
            Ok((s, body)) if s == status => return body,
            Ok((s, body)) => last = format!("{s} {body}"),
            Err(e) => last = format!("error: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{} never answered {status} within {within:?}; last: {last}",
        req.label
    );
}

#[test]
fn backend_survives_a_database_outage_without_restart() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // A cluster of its own: this test stops and starts the server.
    let mut cluster = Cluster::start();
    let url = cluster.url();
    rt.block_on(async {
        let pool = sqlx::PgPool::connect(&url).await.expect("connect");
        backend::MIGRATOR.run(&pool).await.expect("migrate");
        pool.close().await;
    });

    let mut backend = Service::spawn(
        "backend",
        &[
            ("DATABASE_URL", url.clone()),
            ("JWT_SECRET", JWT_SECRET.into()),
            ("SUBSCRIPTIONS_ENABLED", "false".into()),
        ],
    );
    let pid = backend.pid();
    let (token, load) = rt.block_on(async {
        backend.wait_healthy().await;
        let token = signup(&backend, "outage@example.com").await;
        let load = Load::start(
            vec![
                Request::get("/accounts", backend.url("/accounts")).bearer(&token),
                Request::get("/healthz", backend.url("/healthz")),
            ],
            4,
            Duration::from_millis(10),
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        (token, load)
    });
    let accounts = Request::get("/accounts", backend.url("/accounts")).bearer(&token);

    cluster.stop();
    rt.block_on(async {
        let body = wait_for(
            &accounts,
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        )
        .await;
        let json: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("503 body is not JSON ({e}): {body}"));
        assert_eq!(json["error"]["code"], "database_unavailable", "{body}");
        assert!(json["error"]["message"].is_string(), "{body}");

        let c = client();
        let r = c
            .get(backend.url("/healthz"))
            .send()
            .await
            .expect("healthz");
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "/healthz must stay 200 during a DB outage"
        );
        assert_eq!(r.text().await.expect("healthz body"), "1");

        let create = c
            .post(backend.url("/accounts"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "name": "Cash", "type": "asset" }))
            .send()
            .await
            .expect("create account");
        assert_eq!(create.status(), StatusCode::SERVICE_UNAVAILABLE);
        let ct = create.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap_or("")
            .to_string();
        assert!(ct.starts_with("application/json"), "content-type {ct}");
        // Keep the load running through the outage for a while.
        tokio::time::sleep(Duration::from_secs(1)).await;
    });

    cluster.restart();
    let tally = rt.block_on(async {
        wait_for(&accounts, StatusCode::OK, Duration::from_secs(60)).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        load.stop().await
    });
    assert!(backend.running(), "the backend exited during the outage");
    assert_eq!(backend.pid(), pid);

    eprintln!("database outage under load: {tally:?}");
    let allowed = [
        "GET /accounts 200",
        "GET /accounts 503 database_unavailable",
        "GET /healthz 200",
    ];
    let unexpected: Vec<_> = tally
        .iter()
        .filter(|(k, _)| !allowed.contains(&k.as_str()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "unexpected answers under load: {unexpected:?} (all: {tally:?})"
    );
    for k in allowed {
        assert!(
            tally.get(k).copied().unwrap_or(0) > 0,
            "the load never saw {k}: {tally:?}"
        );
    }
    // The same process, after recovery, creates rows again.
    rt.block_on(async {
        let r = client()
            .post(backend.url("/accounts"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "name": "Cash", "type": "asset" }))
            .send()
            .await
            .expect("create account after recovery");
        assert_eq!(r.status(), StatusCode::CREATED);
    });
}
