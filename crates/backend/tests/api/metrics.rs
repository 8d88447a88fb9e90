//! `/metrics` of the backend, on its own port: requests by route template (never the raw path),
//! throttled logins, webhook events by type and outcome, the pool, the shared service metrics.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{expect_error, sample, spawn_app_with, Options};

#[tokio::test]
async fn requests_throttling_webhooks_and_the_pool_are_exported() {
    let app = spawn_app_with(Options {
        login_attempts_per_minute: 1,
        metrics: true,
        ..Options::default()
    })
    .await;
    let before = app.metrics().await;
    let (token, _) = app.signup("metrics@example.com").await;
    let id = "7f2c1c4e-1111-4222-8333-944445555666";
    expect_error(
        app.get(&format!("/accounts/{id}"), Some(&token)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let creds = json!({"email": "metrics@example.com", "password": "wrong password here"});
    expect_error(
        app.post("/auth/login", None, &creds).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    expect_error(
        app.post("/auth/login", None, &creds).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    let res = app
        .client
        .post(app.url("/billing/webhook"))
        .header("stripe-signature", "t=1,v1=00")
        .body(r#"{"id":"evt_1","type":"invoice.paid"}"#)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = app.get("/no/such/route", None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let text = app.metrics().await;
    let requests = |labels: &str| sample(&text, &format!("http_requests_total{{{labels}}}"));
    assert_eq!(
        requests(r#"method="POST",route="/auth/signup",status="201""#),
        1.0,
        "{text}"
    );
    assert_eq!(
        requests(r#"method="GET",route="/accounts/{id}",status="404""#),
        1.0,
        "{text}"
    );
    assert_eq!(
        requests(r#"method="POST",route="/auth/login",status="429""#),
        1.0,
        "{text}"
    );
    assert_eq!(
        requests(r#"method="GET",route="unmatched",status="404""#),
        1.0,
        "{text}"
    );
    assert!(
        !text.contains(id) && !text.contains("/no/such"),
        "raw path in labels:\n{text}"
    );
    // Counters below are per process (other tests run beside this one): at least ours.
    let delta = |series: &str| sample(&text, series) - sample(&before, series);
    assert!(
        delta(r#"auth_throttled_attempts_total{action="login"}"#) >= 1.0,
        "{text}"
    );
    assert!(
        delta(r#"billing_webhook_events_total{type="invoice.paid",outcome="invalid_signature"}"#)
            >= 1.0,
        "{text}"
    );
    assert_eq!(sample(&text, "db_pool_max_connections"), 5.0, "{text}");
    let open = sample(&text, r#"db_pool_connections{state="idle"}"#)
        + sample(&text, r#"db_pool_connections{state="in_use"}"#);
    assert!((1.0..=5.0).contains(&open), "{text}");
    assert!(text.contains("process_resident_memory_bytes "), "{text}");
    assert!(text.contains("service_build_info{"), "{text}");
    app.finish().await;
}

/// `db_pool_acquire_duration_seconds`: a request that finds every pooled connection taken waits
/// for one, and that wait is what the histogram shows (the pool's gauges alone cannot).
#[tokio::test]
async fn waiting_for_a_pooled_connection_is_timed() {
    let app = spawn_app_with(Options {
        metrics: true,
        ..Options::default()
    })
    .await;
    let (token, _) = app.signup("acquire-wait@example.com").await;
    // Observations of every app in this test process share the histogram: compare deltas of
    // the waits longer than 250 ms, which only a held pool produces.
    let slow = |text: &str| {
        sample(text, "db_pool_acquire_duration_seconds_count")
            - sample(
                text,
                r#"db_pool_acquire_duration_seconds_bucket{le="0.25"}"#,
            )
    };
    let before = app.metrics().await;
    let max = app.pool.options().get_max_connections();
    let mut held = Vec::new();
    for _ in 0..max {
        held.push(app.pool.acquire().await.expect("hold a connection"));
    }
    let request = {
        let (client, url) = (app.client.clone(), app.url("/accounts"));
        tokio::spawn(async move { client.get(url).bearer_auth(token).send().await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    drop(held);
    let res = request.await.expect("join").expect("request");
    assert_eq!(res.status(), StatusCode::OK);
    let after = app.metrics().await;
    assert!(
        slow(&after) - slow(&before) >= 1.0,
        "no acquire wait over 250 ms recorded:\n{after}"
    );
    assert!(
        sample(&after, "db_pool_acquire_duration_seconds_count")
            > sample(&before, "db_pool_acquire_duration_seconds_count"),
        "{after}"
    );
    app.finish().await;
}
