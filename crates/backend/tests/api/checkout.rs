//! `POST /billing/checkout`, `POST /billing/portal` and the trial / subscription guard on writes,
//! against the local Stripe stand-in (test-support), which checks every form field as Stripe's
//! API reference documents it and plays the hosted checkout: paying there sends signed
//! `checkout.session.completed` and `invoice.paid` events to this backend's webhook.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use test_support::stripe::{Mode, Options as StandInOptions, StandIn};

use crate::helpers::{
    app_role_url, expect, expect_error, spawn_app_with, Options, TestApp, APP_URL, JWT_SECRET,
    PRICE_ID, STRIPE_API_KEY, WEBHOOK_SECRET,
};

async fn stand_in() -> StandIn {
    StandIn::start(StandInOptions {
        api_keys: vec![STRIPE_API_KEY.into()],
        prices: vec![PRICE_ID.into()],
        webhook: None,
        public_url: None,
        sequential_ids: false,
    })
    .await
}

/// The app, with billing pointed at a fresh stand-in whose webhook endpoint is this app.
async fn app_with_stripe(trial_days: u32) -> (TestApp, StandIn) {
    let stripe = stand_in().await;
    let app = spawn_app_with(Options {
        stripe_api_base: stripe.base(),
        stripe_api_timeout: Duration::from_secs(2),
        trial_days,
        ..Options::default()
    })
    .await;
    stripe.add_endpoint(&app.url("/billing/webhook"), WEBHOOK_SECRET);
    (app, stripe)
}

async fn subscription(app: &TestApp, token: &str) -> Value {
    expect(
        app.get("/billing/subscription", Some(token)).await,
        StatusCode::OK,
    )
    .await
}

async fn checkout_url(app: &TestApp, token: &str) -> String {
    let body = expect(
        app.post("/billing/checkout", Some(token), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    body["url"].as_str().expect("url").to_string()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// What the "Pay" button does: POST the hosted page's form; returns where it redirects.
async fn pay(url: &str) -> String {
    let page = no_redirects().get(url).send().await.expect("checkout page");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.expect("html").contains("id=\"pay\""));
    let paid = no_redirects().post(url).send().await.expect("pay");
    let status = paid.status();
    let location = paid
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "{}",
        paid.text().await.unwrap_or_default()
    );
    location.expect("redirect")
}

#[tokio::test]
async fn checkout_sends_the_documented_fields_and_paying_activates_the_subscription() {
    let (app, stripe) = app_with_stripe(14).await;
    let (token, user_id) = app.signup("Ann@Example.com").await;

    let url = checkout_url(&app, &token).await;
    assert!(
        url.starts_with(&format!("{}/c/pay/cs_test_", stripe.base())),
        "{url}"
    );
    let calls = stripe.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0];
    assert_eq!(
        (call.method.as_str(), call.path.as_str()),
        ("POST", "/v1/checkout/sessions")
    );
    assert_eq!(call.key.as_deref(), Some(STRIPE_API_KEY));
    assert_eq!(call.field("mode"), Some("subscription"));
    assert_eq!(call.field("line_items[0][price]"), Some(PRICE_ID));
    assert_eq!(call.field("line_items[0][quantity]"), Some("1"));
    assert_eq!(
        call.field("success_url"),
        Some(format!("{APP_URL}/billing/success?session_id={{CHECKOUT_SESSION_ID}}").as_str())
    );
    assert_eq!(
        call.field("cancel_url"),
        Some(format!("{APP_URL}/billing/cancel").as_str())
    );
    assert_eq!(call.field("client_reference_id"), Some(user_id.as_str()));
    assert_eq!(call.field("customer_email"), Some("ann@example.com"));
    assert_eq!(call.field("customer"), None);

    // Not paid yet: nothing changed.
    assert_eq!(subscription(&app, &token).await["status"], "none");

    let back = pay(&url).await;
    let session_id = url.rsplit('/').next().expect("session id");
    assert_eq!(
        back,
        format!("{APP_URL}/billing/success?session_id={session_id}")
    );
    let delivered: Vec<(String, u16)> = stripe
        .deliveries()
        .into_iter()
        .map(|(kind, _, status)| (kind, status))
        .collect();
    assert_eq!(
        delivered,
        [
            ("checkout.session.completed".to_string(), 200),
            ("invoice.paid".to_string(), 200)
        ]
    );
    let s = subscription(&app, &token).await;
    assert_eq!(
        (s["status"].as_str(), s["subscribed"].as_bool()),
        (Some("active"), Some(true))
    );
    assert!(s["current_period_end"].is_string(), "{s}");
    assert_eq!(s["has_billing_account"], true);
    let me = expect(app.get("/users/me", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(me["subscribed"], true);

    // Subscribed: a second checkout is refused, the portal opens for the same customer.
    expect_error(
        app.post("/billing/checkout", Some(&token), &json!({}))
            .await,
        StatusCode::CONFLICT,
        "already_subscribed",
    )
    .await;
    let portal = expect(
        app.post("/billing/portal", Some(&token), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    let portal_url = portal["url"].as_str().expect("portal url");
    let call = stripe.calls().pop().expect("portal call");
    assert_eq!(call.path, "/v1/billing_portal/sessions");
    let customer = call.field("customer").expect("customer").to_string();
    assert!(customer.starts_with("cus_"), "{customer}");
    assert_eq!(
        stripe.session(session_id).expect("session")["customer"],
        customer.as_str()
    );
    assert_eq!(
        call.field("return_url"),
        Some(format!("{APP_URL}/billing").as_str())
    );

    // Canceling in the portal ends it; subscribing again reuses the Stripe customer.
    let canceled = no_redirects()
        .post(format!("{portal_url}/cancel"))
        .send()
        .await
        .expect("cancel");
    assert_eq!(canceled.status(), StatusCode::SEE_OTHER);
    assert_eq!(subscription(&app, &token).await["status"], "canceled");
    checkout_url(&app, &token).await;
    let again = stripe.calls().pop().expect("second checkout");
    assert_eq!(again.field("customer"), Some(customer.as_str()));
    assert_eq!(again.field("customer_email"), None);
    app.finish().await;
}

#[tokio::test]
async fn the_portal_needs_a_stripe_customer_and_billing_needs_a_session() {
    let (app, stripe) = app_with_stripe(14).await;
    let (token, _) = app.signup("ann@example.com").await;
    expect_error(
        app.post("/billing/portal", Some(&token), &json!({})).await,
        StatusCode::CONFLICT,
        "no_billing_account",
    )
    .await;
    for path in ["/billing/checkout", "/billing/portal"] {
        expect_error(
            app.post(path, None, &json!({})).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        )
        .await;
    }
    assert!(stripe.calls().is_empty());
    app.finish().await;
}

#[tokio::test]
async fn stripe_failures_answer_a_json_502_that_names_no_secret() {
    let (app, stripe) = app_with_stripe(14).await;
    let (token, _) = app.signup("ann@example.com").await;
    let leaky = format!("Invalid API Key provided: {STRIPE_API_KEY}");
    for mode in [
        Mode::Fail(401, leaky.clone()),
        Mode::Fail(400, "No such price: 'price_test_monthly'".into()),
        Mode::Fail(500, "internal".into()),
        Mode::Fail(429, "rate limited".into()),
        Mode::Slow(Duration::from_secs(4)),
    ] {
        stripe.set_mode(mode.clone());
        let res = app
            .post("/billing/checkout", Some(&token), &json!({}))
            .await;
        let status = res.status();
        let text = res.text().await.expect("body");
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{mode:?}: {text}");
        let body: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(body["error"]["code"], "payment_provider_error", "{text}");
        assert!(
            !text.contains(STRIPE_API_KEY) && !text.contains("sk_"),
            "{mode:?}: {text}"
        );
    }
    app.finish().await;
}

#[tokio::test]
async fn writes_need_a_subscription_once_the_trial_has_ended_and_reads_never_do() {
    let (app, _stripe) = app_with_stripe(0).await;
    let (token, user_id) = app.signup("ann@example.com").await;
    let s = subscription(&app, &token).await;
    assert_eq!(
        (s["trial_active"].as_bool(), s["can_write"].as_bool()),
        (Some(false), Some(false))
    );
    let created: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT created_at FROM users")
        .fetch_one(&app.pool)
        .await
        .expect("created_at");
    assert_eq!(s["trial_ends_at"], json!(created));

    // Reads pass (an account seeded directly, so there is something to read).
    let account: (uuid::Uuid,) = sqlx::query_as(
        "INSERT INTO accounts (user_id, name, type) VALUES ($1::uuid, 'Bank', 'asset') RETURNING id",
    )
    .bind(&user_id)
    .fetch_one(&app.pool)
    .await
    .expect("seed account");
    let id = account.0;
    let list = expect(app.get("/accounts", Some(&token)).await, StatusCode::OK).await;
    assert!(list.to_string().contains("Bank"), "{list}");
    expect(
        app.get(&format!("/accounts/{id}"), Some(&token)).await,
        StatusCode::OK,
    )
    .await;
    expect(app.get("/transactions", Some(&token)).await, StatusCode::OK).await;

    // Every kind of write answers 402 and changes nothing.
    let error = expect_error(
        app.post(
            "/accounts",
            Some(&token),
            &json!({"name": "Card", "type": "liability"}),
        )
        .await,
        StatusCode::PAYMENT_REQUIRED,
        "subscription_required",
    )
    .await;
    assert!(
        error["message"]
            .as_str()
            .expect("message")
            .contains("trial"),
        "{error}"
    );
    expect_error(
        app.patch(
            &format!("/accounts/{id}"),
            &token,
            &json!({"name": "Renamed"}),
        )
        .await,
        StatusCode::PAYMENT_REQUIRED,
        "subscription_required",
    )
    .await;
    expect_error(
        app.delete(&format!("/accounts/{id}"), &token).await,
        StatusCode::PAYMENT_REQUIRED,
        "subscription_required",
    )
    .await;
    expect_error(
        app.post(
            "/transactions",
            Some(&token),
            &json!({"date": "2026-01-01", "amount_cents": 1,
            "debit_account_id": id, "credit_account_id": id}),
        )
        .await,
        StatusCode::PAYMENT_REQUIRED,
        "subscription_required",
    )
    .await;
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM accounts")
        .fetch_all(&app.pool)
        .await
        .expect("accounts");
    assert_eq!(names, ["Bank"]);
    // Without a valid token it is still a 401, not a 402.
    expect_error(
        app.post(
            "/accounts",
            Some("garbage"),
            &json!({"name": "x", "type": "asset"}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;

    // Subscribing unlocks writes at once.
    let url = checkout_url(&app, &token).await;
    pay(&url).await;
    app.create_account(&token, "Card", "liability").await;
    app.finish().await;
}

#[tokio::test]
async fn the_trial_counts_from_sign_up() {
    let (app, _stripe) = app_with_stripe(14).await;
    let (token, user_id) = app.signup("ann@example.com").await;
    let s = subscription(&app, &token).await;
    assert_eq!(
        (s["trial_active"].as_bool(), s["can_write"].as_bool()),
        (Some(true), Some(true))
    );
    app.create_account(&token, "Bank", "asset").await;

    // Fifteen days later (backdated sign-up), the same user is read-only.
    sqlx::query("UPDATE users SET created_at = now() - interval '15 days' WHERE id = $1::uuid")
        .bind(&user_id)
        .execute(&app.pool)
        .await
        .expect("backdate");
    let s = subscription(&app, &token).await;
    assert_eq!(
        (s["trial_active"].as_bool(), s["can_write"].as_bool()),
        (Some(false), Some(false))
    );
    expect_error(
        app.post(
            "/accounts",
            Some(&token),
            &json!({"name": "Card", "type": "liability"}),
        )
        .await,
        StatusCode::PAYMENT_REQUIRED,
        "subscription_required",
    )
    .await;
    expect(app.get("/accounts", Some(&token)).await, StatusCode::OK).await;
    app.finish().await;
}

#[tokio::test]
async fn without_subscriptions_there_is_no_trial_to_end() {
    let app = spawn_app_with(Options {
        subscriptions_enabled: false,
        trial_days: 0,
        ..Options::default()
    })
    .await;
    let (token, _) = app.signup("ann@example.com").await;
    app.create_account(&token, "Bank", "asset").await;
    expect_error(
        app.post("/billing/checkout", Some(&token), &json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    app.finish().await;
}

/// The real binary, so its logs can be read: a Stripe error that echoes the key reaches
/// neither the client nor the log.
#[tokio::test]
async fn the_stripe_key_never_reaches_the_logs() {
    tokio::task::spawn_blocking(test_support::server_url)
        .await
        .expect("test PostgreSQL");
    let db = test_support::TestDb::new().await;
    backend::MIGRATOR.run(&db.pool).await.expect("migrate");
    let stripe = stand_in().await;
    stripe.set_mode(Mode::Fail(
        401,
        format!("Invalid API Key provided: {STRIPE_API_KEY}"),
    ));
    let port = test_support::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_backend"))
        .env_clear()
        .envs([
            ("PORT", port.to_string()),
            ("HOST", "127.0.0.1".into()),
            ("DATABASE_URL", app_role_url(&db.url).await),
            ("JWT_SECRET", JWT_SECRET.into()),
            ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
            ("STRIPE_API_KEY", STRIPE_API_KEY.into()),
            ("STRIPE_PRICE_ID", PRICE_ID.into()),
            ("STRIPE_API_BASE", stripe.base()),
            ("APP_URL", APP_URL.into()),
            ("LOG_FORMAT", "json".into()),
            ("RUST_LOG", "debug".into()),
            ("METRICS_PORT", "0".into()),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the backend");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        // Ready, not just listening: the schema gate must have seen the migrations.
        let health = client.get(format!("{base}/healthz")).send().await;
        if health.is_ok_and(|r| r.status().is_success()) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "backend did not start");
    let signup = client
        .post(format!("{base}/auth/signup"))
        .json(&json!({"email": "ann@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .expect("signup");
    let token = expect(signup, StatusCode::CREATED).await["token"]
        .as_str()
        .expect("token")
        .to_string();
    let res = client
        .post(format!("{base}/billing/checkout"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("checkout");
    let status = res.status();
    let body = res.text().await.expect("body");
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(!body.contains(STRIPE_API_KEY), "{body}");

    // SIGTERM-free stop: the log so far is what matters.
    let _ = child.kill();
    let _ = child.wait();
    let mut logs = String::new();
    for stream in [
        child.stdout.take().map(|s| Box::new(s) as Box<dyn Read>),
        child.stderr.take().map(|s| Box::new(s) as Box<dyn Read>),
    ]
    .into_iter()
    .flatten()
    {
        let mut stream = stream;
        let _ = stream.read_to_string(&mut logs);
    }
    assert!(logs.contains("Stripe API call failed"), "{logs}");
    assert!(logs.contains("Stripe rejected the API key"), "{logs}");
    assert!(
        !logs.contains(STRIPE_API_KEY),
        "the key is in the logs:\n{logs}"
    );
    db.drop_db().await;
}
