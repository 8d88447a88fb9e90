use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{expect, expect_error, spawn_app, spawn_app_with, Options, TestApp};

#[tokio::test]
async fn signup_login_me_and_their_errors() {
    let app = spawn_app().await;

    let res = app
        .post(
            "/auth/signup",
            None,
            &json!({"email": "  Ann@Example.COM ", "password": "correct horse battery"}),
        )
        .await;
    let body = expect(res, StatusCode::CREATED).await;
    assert_eq!(body["user"]["email"], "ann@example.com");
    assert_eq!(body["user"]["subscribed"], false);
    let token = body["token"].as_str().expect("token").to_string();

    let me = expect(app.get("/users/me", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(me["email"], "ann@example.com");
    assert_eq!(me["id"], body["user"]["id"]);

    // The same address in another spelling is the same account.
    let res = app
        .post(
            "/auth/signup",
            None,
            &json!({"email": "ANN@example.com", "password": "another password"}),
        )
        .await;
    expect_error(res, StatusCode::CONFLICT, "email_taken").await;

    let res = app
        .post(
            "/auth/signup",
            None,
            &json!({"email": "not-an-email", "password": "correct horse battery"}),
        )
        .await;
    let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(err["field"], "email");

    let res = app
        .post(
            "/auth/signup",
            None,
            &json!({"email": "bob@example.com", "password": "short"}),
        )
        .await;
    let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(err["field"], "password");

    let res = app
        .post(
            "/auth/login",
            None,
            &json!({"email": "ann@EXAMPLE.com ", "password": "correct horse battery"}),
        )
        .await;
    let login = expect(res, StatusCode::OK).await;
    let login_token = login["token"].as_str().expect("token");
    let me = expect(
        app.get("/users/me", Some(login_token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["email"], "ann@example.com");

    // Wrong password and unknown email: indistinguishable answers.
    let wrong = app
        .post(
            "/auth/login",
            None,
            &json!({"email": "ann@example.com", "password": "wrong password"}),
        )
        .await;
    let unknown = app
        .post(
            "/auth/login",
            None,
            &json!({"email": "nobody@example.com", "password": "wrong password"}),
        )
        .await;
    let wrong = expect(wrong, StatusCode::UNAUTHORIZED).await;
    let unknown = expect(unknown, StatusCode::UNAUTHORIZED).await;
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["error"]["code"], "invalid_credentials");

    expect_error(
        app.get("/users/me", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    expect_error(
        app.get("/users/me", Some("garbage")).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;

    app.finish().await;
}

#[tokio::test]
async fn login_is_rate_limited_per_client() {
    let app = spawn_app_with(Options {
        login_attempts_per_minute: 3,
        ..Options::default()
    })
    .await;
    let creds = json!({"email": "nobody@example.com", "password": "whatever123"});
    for _ in 0..3 {
        let res = app.post("/auth/login", None, &creds).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = app.post("/auth/login", None, &creds).await;
    assert!(res.headers().contains_key("retry-after"));
    expect_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Not behind a trusted proxy: a forged X-Forwarded-For does not buy a fresh budget.
    let res = app
        .client
        .post(app.url("/auth/login"))
        .header("x-forwarded-for", "198.51.100.1")
        .json(&creds)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    app.finish().await;
}

#[tokio::test]
async fn signup_is_rate_limited_per_client() {
    let app = spawn_app_with(Options {
        signup_attempts_per_minute: 2,
        ..Options::default()
    })
    .await;
    let signup = |email: &str| json!({"email": email, "password": "correct horse battery"});
    let res = app
        .post("/auth/signup", None, &signup("a@example.com"))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // Invalid attempts count too: each would otherwise be free probing.
    let res = app
        .post("/auth/signup", None, &signup("not-an-email"))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app
        .post("/auth/signup", None, &signup("b@example.com"))
        .await;
    assert!(res.headers().contains_key("retry-after"));
    expect_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // A separate budget from login's.
    let res = app
        .post("/auth/login", None, &signup("a@example.com"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    app.finish().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_limit_is_per_forwarded_client() {
    let app = spawn_app_with(Options {
        login_attempts_per_minute: 2,
        trust_forwarded_for: true,
        ..Options::default()
    })
    .await;
    let creds = json!({"email": "nobody@example.com", "password": "whatever123"});
    let attempt = |client: &'static str| {
        let req = app
            .client
            .post(app.url("/auth/login"))
            .header("x-forwarded-for", format!("192.0.2.200, {client}"))
            .json(&creds);
        async move { req.send().await.expect("request").status() }
    };
    assert_eq!(attempt("203.0.113.1").await, StatusCode::UNAUTHORIZED);
    assert_eq!(attempt("203.0.113.1").await, StatusCode::UNAUTHORIZED);
    assert_eq!(attempt("203.0.113.1").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(attempt("203.0.113.2").await, StatusCode::UNAUTHORIZED);
    app.finish().await;
}

/// A login attempt for `email` from `client` (as the trusted proxy reports it): its status.
async fn login_from(app: &TestApp, client: &str, email: &str) -> StatusCode {
    app.client
        .post(app.url("/auth/login"))
        .header("x-forwarded-for", client)
        .json(&json!({"email": email, "password": "whatever123"}))
        .send()
        .await
        .expect("request")
        .status()
}

#[tokio::test]
async fn one_account_is_limited_whatever_address_the_guesses_come_from() {
    let app = spawn_app_with(Options {
        login_attempts_per_account_per_minute: 3,
        trust_forwarded_for: true,
        ..Options::default()
    })
    .await;
    for client in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        assert_eq!(
            login_from(&app, client, "victim@example.com").await,
            StatusCode::UNAUTHORIZED
        );
    }
    // A fresh address, the same account (spelled differently): over the account's budget.
    assert_eq!(
        login_from(&app, "203.0.113.4", " Victim@Example.com").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Other accounts are not affected.
    assert_eq!(
        login_from(&app, "203.0.113.4", "other@example.com").await,
        StatusCode::UNAUTHORIZED
    );
    app.finish().await;
}

#[tokio::test]
async fn ipv6_clients_are_limited_by_their_64() {
    let app = spawn_app_with(Options {
        login_attempts_per_minute: 2,
        trust_forwarded_for: true,
        ..Options::default()
    })
    .await;
    // A host picking a new address in its /64 for every attempt gets no new budget.
    assert_eq!(
        login_from(&app, "2001:db8:1:2::1", "a@example.com").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_from(&app, "2001:db8:1:2::2", "b@example.com").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_from(&app, "2001:db8:1:2:dead:beef:0:3", "c@example.com").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login_from(&app, "2001:db8:1:3::1", "d@example.com").await,
        StatusCode::UNAUTHORIZED
    );
    app.finish().await;
}

#[tokio::test]
async fn malformed_requests_answer_json_errors() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/auth/signup"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .expect("request");
    expect_error(res, StatusCode::BAD_REQUEST, "malformed_json").await;

    let res = app
        .post("/auth/signup", None, &json!({"email": "a@b.io"}))
        .await;
    let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    assert_eq!(err["field"], "password", "{err}");

    let res = app
        .client
        .post(app.url("/auth/signup"))
        .body("email=a")
        .send()
        .await
        .expect("request");
    expect_error(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    expect_error(
        app.get("/no/such/route", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let res = app
        .client
        .put(app.url("/accounts"))
        .send()
        .await
        .expect("request");
    expect_error(res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;

    // CORS: the SPA's origin may call the API from the browser.
    let res = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/accounts"))
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .expect("preflight");
    assert_eq!(
        res.headers()
            .get("access-control-allow-origin")
            .map(|v| v.as_bytes()),
        Some(&b"http://localhost:3000"[..])
    );
    app.finish().await;
}
