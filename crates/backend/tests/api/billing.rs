use backend::billing::signature;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    expect, expect_error, spawn_app, spawn_app_with, Options, TestApp, WEBHOOK_SECRET,
};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn send(app: &TestApp, body: &str, header: Option<String>) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/billing/webhook"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(h) = header {
        req = req.header("stripe-signature", h);
    }
    req.send().await.expect("webhook request")
}

/// Posts `event` signed the way Stripe signs it, now.
async fn deliver(app: &TestApp, event: &Value) -> Value {
    let body = event.to_string();
    let header = signature::header(WEBHOOK_SECRET, now(), body.as_bytes());
    expect(send(app, &body, Some(header)).await, StatusCode::OK).await
}

async fn status(app: &TestApp, token: &str) -> Value {
    expect(
        app.get("/billing/subscription", Some(token)).await,
        StatusCode::OK,
    )
    .await
}

async fn events_stored(app: &TestApp) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM stripe_events")
        .fetch_one(&app.pool)
        .await
        .expect("count events")
}

fn checkout(id: &str, user_id: &str) -> Value {
    json!({"id": id, "type": "checkout.session.completed", "data": {"object": {
        "object": "checkout.session", "client_reference_id": user_id, "payment_status": "paid",
        "customer": "cus_123", "subscription": "sub_123"}}})
}

/// `event` as created by Stripe at unix time `created`.
fn at(mut event: Value, created: i64) -> Value {
    event["created"] = json!(created);
    event
}

fn for_customer(id: &str, kind: &str, object: Value) -> Value {
    let mut object = object;
    object["customer"] = json!("cus_123");
    json!({"id": id, "type": kind, "data": {"object": object}})
}

#[tokio::test]
async fn subscription_lifecycle_from_signed_events() {
    let app = spawn_app().await;
    let (token, user_id) = app.signup("ann@example.com").await;
    let before = status(&app, &token).await;
    assert_eq!(before["status"], "none");
    assert_eq!(before["subscribed"], false);

    let ack = deliver(&app, &checkout("evt_checkout", &user_id)).await;
    assert_eq!(ack["duplicate"], false);
    let s = status(&app, &token).await;
    assert_eq!(
        (s["status"].as_str(), s["subscribed"].as_bool()),
        (Some("active"), Some(true))
    );
    let me = expect(app.get("/users/me", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(me["subscribed"], true);

    deliver(
        &app,
        &for_customer(
            "evt_failed",
            "invoice.payment_failed",
            json!({"object": "invoice"}),
        ),
    )
    .await;
    let s = status(&app, &token).await;
    assert_eq!(
        (s["status"].as_str(), s["subscribed"].as_bool()),
        (Some("past_due"), Some(false))
    );

    let paid = json!({"object": "invoice", "lines": {"data": [{"period": {"start": 1_767_225_600, "end": 1_769_904_000}}]}});
    deliver(&app, &for_customer("evt_paid", "invoice.paid", paid)).await;
    let s = status(&app, &token).await;
    assert_eq!(s["status"], "active");
    assert_eq!(s["current_period_end"], "2026-02-01T00:00:00Z");

    deliver(
        &app,
        &for_customer(
            "evt_deleted",
            "customer.subscription.deleted",
            json!({"object": "subscription"}),
        ),
    )
    .await;
    let s = status(&app, &token).await;
    assert_eq!(
        (s["status"].as_str(), s["subscribed"].as_bool()),
        (Some("canceled"), Some(false))
    );

    // Unknown types are acknowledged and recorded, and change nothing.
    deliver(
        &app,
        &json!({"id": "evt_other", "type": "customer.created", "data": {"object": {}}}),
    )
    .await;
    assert_eq!(events_stored(&app).await, 5);
    assert_eq!(status(&app, &token).await["status"], "canceled");

    expect_error(
        app.get("/billing/subscription", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    app.finish().await;
}

#[tokio::test]
async fn bad_signatures_are_rejected_and_store_nothing() {
    let app = spawn_app().await;
    let (token, user_id) = app.signup("ann@example.com").await;
    let body = checkout("evt_1", &user_id).to_string();
    let t = now();

    let tampered = body.replace("cus_123", "cus_999");
    let wrong_secret = signature::header("whsec_not_the_secret", t, body.as_bytes());
    let stale = signature::header(WEBHOOK_SECRET, t - 301, body.as_bytes());
    let good = signature::header(WEBHOOK_SECRET, t, body.as_bytes());
    for (payload, header) in [
        (tampered.as_str(), Some(good.clone())),
        (body.as_str(), Some(wrong_secret)),
        (body.as_str(), Some(stale)),
        (body.as_str(), Some(format!("t={t}"))),
        (body.as_str(), Some("garbage".to_string())),
        (body.as_str(), None),
    ] {
        let res = send(&app, payload, header.clone()).await;
        expect_error(res, StatusCode::BAD_REQUEST, "invalid_signature").await;
    }
    assert_eq!(events_stored(&app).await, 0);
    assert_eq!(status(&app, &token).await["status"], "none");

    // A header carrying several v1 signatures (secret rotation) passes if any one matches.
    let v1 = signature::sign(WEBHOOK_SECRET, t, body.as_bytes());
    let several = format!(
        "t={t},v1={},v0=ignored,v1={v1}",
        signature::sign("whsec_old", t, body.as_bytes())
    );
    expect(send(&app, &body, Some(several)).await, StatusCode::OK).await;
    assert_eq!(status(&app, &token).await["status"], "active");
    assert_eq!(events_stored(&app).await, 1);
    app.finish().await;
}

#[tokio::test]
async fn replayed_events_change_nothing() {
    let app = spawn_app().await;
    let (token, user_id) = app.signup("ann@example.com").await;
    let first = checkout("evt_checkout", &user_id);
    deliver(&app, &first).await;
    deliver(
        &app,
        &for_customer("evt_failed", "invoice.payment_failed", json!({})),
    )
    .await;
    assert_eq!(status(&app, &token).await["status"], "past_due");

    // The checkout event again (as Stripe retries do, freshly signed): acknowledged, not applied.
    let ack = deliver(&app, &first).await;
    assert_eq!(ack["duplicate"], true);
    assert_eq!(status(&app, &token).await["status"], "past_due");
    assert_eq!(events_stored(&app).await, 2);
    app.finish().await;
}

#[tokio::test]
async fn subscriptions_disabled_turns_billing_off() {
    let app = spawn_app_with(Options {
        subscriptions_enabled: false,
        ..Options::default()
    })
    .await;
    let (token, _) = app.signup("ann@example.com").await;
    let me = expect(app.get("/users/me", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(me["subscribed"], true);
    expect_error(
        app.get("/billing/subscription", Some(&token)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let body = json!({"id": "evt_1", "type": "invoice.paid"}).to_string();
    let header = signature::header(WEBHOOK_SECRET, now(), body.as_bytes());
    expect_error(
        send(&app, &body, Some(header)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(events_stored(&app).await, 0);
    app.finish().await;
}

#[tokio::test]
async fn a_late_invoice_paid_does_not_reactivate_a_deleted_subscription() {
    let app = spawn_app().await;
    let (token, user_id) = app.signup("ann@example.com").await;
    let t = now() - 100;
    deliver(&app, &at(checkout("evt_checkout", &user_id), t)).await;
    let deleted = for_customer(
        "evt_deleted",
        "customer.subscription.deleted",
        json!({"id": "sub_123", "object": "subscription", "status": "canceled"}),
    );
    deliver(&app, &at(deleted, t + 20)).await;
    // The renewal invoice was paid before the cancellation, but its event arrives after it.
    let paid = for_customer(
        "evt_paid_late",
        "invoice.paid",
        json!({"object": "invoice", "subscription": "sub_123"}),
    );
    let ack = deliver(&app, &at(paid, t + 10)).await;
    assert_eq!(
        (ack["duplicate"].as_bool(), ack["applied"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(status(&app, &token).await["status"], "canceled");
    // Even from the same second: canceled is final for that subscription.
    let paid_same = for_customer(
        "evt_paid_same",
        "invoice.paid",
        json!({"object": "invoice", "subscription": "sub_123"}),
    );
    deliver(&app, &at(paid_same, t + 20)).await;
    assert_eq!(status(&app, &token).await["status"], "canceled");
    assert_eq!(events_stored(&app).await, 4);
    app.finish().await;
}

#[tokio::test]
async fn an_older_event_does_not_overwrite_a_newer_one() {
    let app = spawn_app().await;
    let (token, user_id) = app.signup("ann@example.com").await;
    let t = now() - 100;
    deliver(&app, &at(checkout("evt_checkout", &user_id), t)).await;
    let failed = for_customer(
        "evt_failed",
        "invoice.payment_failed",
        json!({"subscription": "sub_123"}),
    );
    let paid = for_customer(
        "evt_paid",
        "invoice.paid",
        json!({"subscription": "sub_123"}),
    );
    deliver(&app, &at(paid, t + 30)).await;
    let ack = deliver(&app, &at(failed, t + 20)).await;
    assert_eq!(ack["applied"], false);
    assert_eq!(status(&app, &token).await["status"], "active");
    app.finish().await;
}

#[tokio::test]
async fn checkout_activates_only_when_paid() {
    let app = spawn_app().await;
    let (token, user_id) = app.signup("ann@example.com").await;
    let mut unpaid = checkout("evt_checkout", &user_id);
    unpaid["data"]["object"]["payment_status"] = json!("unpaid");
    let ack = deliver(&app, &unpaid).await;
    assert_eq!(ack["applied"], true, "the customer is linked");
    let s = status(&app, &token).await;
    assert_eq!(
        (s["status"].as_str(), s["subscribed"].as_bool()),
        (Some("incomplete"), Some(false))
    );
    assert_eq!(s["has_billing_account"], true);
    // The (delayed) payment then settles: invoice.paid finds the user by the linked customer.
    let paid = for_customer(
        "evt_paid",
        "invoice.paid",
        json!({"object": "invoice",
        "parent": {"subscription_details": {"subscription": "sub_123"}}}),
    );
    deliver(&app, &paid).await;
    assert_eq!(status(&app, &token).await["status"], "active");
    app.finish().await;
}

#[tokio::test]
async fn events_that_can_never_apply_are_acknowledged_not_retried() {
    let app = spawn_app().await;
    let (ann, ann_id) = app.signup("ann@example.com").await;
    let (bob, bob_id) = app.signup("bob@example.com").await;
    deliver(&app, &checkout("evt_ann", &ann_id)).await;
    // Bob's session names Ann's customer (a mix-up on Stripe's side): 2xx, logged, not applied.
    let ack = deliver(&app, &checkout("evt_bob", &bob_id)).await;
    assert_eq!(
        (ack["applied"].as_bool(), ack["duplicate"].as_bool()),
        (Some(false), Some(false))
    );
    assert!(
        ack["skipped"]
            .as_str()
            .expect("reason")
            .contains("another user"),
        "{ack}"
    );
    assert_eq!(status(&app, &bob).await["status"], "none");
    assert_eq!(status(&app, &ann).await["status"], "active");
    // A user that does not exist, a customer nobody has, a session without a user.
    for event in [
        checkout("evt_ghost", "00000000-0000-0000-0000-000000000000"),
        for_customer("evt_unknown", "invoice.paid", json!({})),
        json!({"id": "evt_anon", "type": "checkout.session.completed", "data": {"object": {"customer": "cus_9"}}}),
    ] {
        let mut event = event;
        if event["id"] == "evt_unknown" {
            event["data"]["object"]["customer"] = json!("cus_nobody");
        }
        let ack = deliver(&app, &event).await;
        assert_eq!(ack["applied"], false, "{event}: {ack}");
    }
    assert_eq!(events_stored(&app).await, 5);
    app.finish().await;
}
