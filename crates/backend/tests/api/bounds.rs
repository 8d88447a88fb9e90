//! Bounds on data and on time: the accounts list pages and is capped, a user's accounts are
//! capped, amounts and dates are range-checked, balances too large for 64 bits answer a JSON
//! 4xx (never a 500), a slow handler answers 503 and a slow body 408, in the API's error shape.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::helpers::{expect, expect_error, spawn_app, spawn_app_with, Options, TestApp};

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|a| a["name"].as_str().expect("name").to_string())
        .collect()
}

/// The `cursor` of a `Link: <...>; rel="next"` header, if any.
fn next_cursor(res: &reqwest::Response) -> Option<String> {
    let link = res.headers().get("link")?.to_str().ok()?;
    assert!(link.ends_with("rel=\"next\""), "{link}");
    let url = link.split_once('<')?.1.split_once('>')?.0;
    assert!(url.starts_with("/accounts?limit="), "{url}");
    Some(url.split_once("cursor=")?.1.to_string())
}

#[tokio::test]
async fn accounts_list_pages_with_limit_and_cursor_and_stays_an_array() {
    let app = spawn_app().await;
    let (ann, _) = app.signup("ann@example.com").await;
    for name in ["A", "B", "C"] {
        app.create_account(&ann, name, "asset").await;
    }
    // No parameters: the whole list, as before pagination existed, and no next page.
    let res = app.get("/accounts", Some(&ann)).await;
    assert!(next_cursor(&res).is_none());
    assert_eq!(names(&expect(res, StatusCode::OK).await), ["A", "B", "C"]);

    let res = app.get("/accounts?limit=2", Some(&ann)).await;
    let cursor = next_cursor(&res).expect("a next page");
    assert_eq!(names(&expect(res, StatusCode::OK).await), ["A", "B"]);
    let res = app
        .get(&format!("/accounts?limit=2&cursor={cursor}"), Some(&ann))
        .await;
    assert!(next_cursor(&res).is_none());
    assert_eq!(names(&expect(res, StatusCode::OK).await), ["C"]);

    for bad in ["limit=0", "limit=1001", "limit=ten", "cursor=zz"] {
        let res = app.get(&format!("/accounts?{bad}"), Some(&ann)).await;
        let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(err["field"], bad.split('=').next().expect("name"), "{bad}");
    }
    app.finish().await;
}

#[tokio::test]
async fn a_user_has_at_most_1000_accounts() {
    let app = spawn_app().await;
    let (ann, ann_id) = app.signup("ann@example.com").await;
    let (bob, _) = app.signup("bob@example.com").await;
    let ann_id = Uuid::parse_str(&ann_id).expect("uuid");
    sqlx::query(
        "INSERT INTO accounts (user_id, name, type)
         SELECT $1, 'bulk ' || n, 'asset' FROM generate_series(1, 999) AS n",
    )
    .bind(ann_id)
    .execute(&app.pool)
    .await
    .expect("bulk insert");
    app.create_account(&ann, "The thousandth", "asset").await;
    let res = app
        .post(
            "/accounts",
            Some(&ann),
            &json!({"name": "One too many", "type": "asset"}),
        )
        .await;
    expect_error(res, StatusCode::CONFLICT, "too_many_accounts").await;
    // The cap is per user, and every account still comes back in one default answer.
    app.create_account(&bob, "Checking", "asset").await;
    let list = expect(app.get("/accounts", Some(&ann)).await, StatusCode::OK).await;
    assert_eq!(list.as_array().expect("array").len(), 1000);
    app.finish().await;
}

async fn post_transaction(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post("/transactions", Some(token), &body).await
}

#[tokio::test]
async fn amounts_and_dates_are_range_checked() {
    let app = spawn_app().await;
    let (ann, _) = app.signup("ann@example.com").await;
    let cash = app.create_account(&ann, "Cash", "asset").await;
    let food = app.create_account(&ann, "Food", "expense").await;
    let body = |date: &str, cents: Value| {
        json!({"date": date, "amount_cents": cents,
               "debit_account_id": food, "credit_account_id": cash})
    };
    let ok = post_transaction(&app, &ann, body("2200-12-31", json!(1_000_000_000_000_i64))).await;
    let created = expect(ok, StatusCode::CREATED).await;
    expect(
        post_transaction(&app, &ann, body("1900-01-01", json!(1))).await,
        StatusCode::CREATED,
    )
    .await;
    for (date, cents, field) in [
        ("2026-01-01", json!(1_000_000_000_001_i64), "amount_cents"),
        ("1899-12-31", json!(1), "date"),
        ("2201-01-01", json!(1), "date"),
        ("+10000-01-01", json!(1), "date"),
    ] {
        let res = post_transaction(&app, &ann, body(date, cents)).await;
        let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(err["field"], field, "{date}");
    }
    // Beyond i64 altogether: the body does not fit, still a JSON 422 naming the field.
    let res = post_transaction(&app, &ann, body("2026-01-01", json!(1e19))).await;
    let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    assert_eq!(err["field"], "amount_cents");
    // An update is held to the same bounds.
    let path = format!("/transactions/{}", created["id"].as_str().expect("id"));
    let res = app.patch(&path, &ann, &json!({"date": "0001-01-01"})).await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let res = app
        .patch(&path, &ann, &json!({"amount_cents": i64::MAX}))
        .await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    app.finish().await;
}

#[tokio::test]
async fn balances_beyond_64_bits_answer_409_never_500() {
    let app = spawn_app().await;
    let (ann, ann_id) = app.signup("ann@example.com").await;
    let ann_id = Uuid::parse_str(&ann_id).expect("uuid");
    let wallet = app.create_account(&ann, "Wallet", "asset").await;
    let income = app.create_account(&ann, "Income", "income").await;
    let loan = app.create_account(&ann, "Loan", "liability").await;
    // Rows written before the API bounded amounts (or by hand): 2 x 5e18 each way through the
    // wallet, whose debit and credit sums both exceed i64 while its balance is 0.
    for (debit, credit) in [(&wallet, &income), (&loan, &wallet)] {
        sqlx::query(
            "INSERT INTO transactions (user_id, date, amount_cents, debit_account_id, credit_account_id)
             SELECT $1, '2026-01-01', 5000000000000000000, $2, $3 FROM generate_series(1, 2)",
        )
        .bind(ann_id)
        .bind(Uuid::parse_str(debit).expect("uuid"))
        .bind(Uuid::parse_str(credit).expect("uuid"))
        .execute(&app.pool)
        .await
        .expect("insert");
    }
    let res = app.get(&format!("/accounts/{wallet}"), Some(&ann)).await;
    assert_eq!(expect(res, StatusCode::OK).await["balance_cents"], 0);
    let res = app.get(&format!("/accounts/{income}"), Some(&ann)).await;
    expect_error(res, StatusCode::CONFLICT, "balance_out_of_range").await;
    let res = app.get("/accounts", Some(&ann)).await;
    expect_error(res, StatusCode::CONFLICT, "balance_out_of_range").await;
    app.finish().await;
}

#[tokio::test]
async fn a_request_slower_than_its_timeout_answers_503_request_timeout() {
    let app = spawn_app_with(Options {
        request_timeout: Duration::from_secs(1),
        ..Options::default()
    })
    .await;
    let (ann, ann_id) = app.signup("ann@example.com").await;
    // Hold the user's row lock, which creating an account waits for.
    let mut lock = app.pool.begin().await.expect("begin");
    sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
        .bind(Uuid::parse_str(&ann_id).expect("uuid"))
        .execute(&mut *lock)
        .await
        .expect("lock");
    let started = Instant::now();
    let res = app
        .post(
            "/accounts",
            Some(&ann),
            &json!({"name": "Cash", "type": "asset"}),
        )
        .await;
    assert_eq!(res.headers()["retry-after"], "1");
    expect_error(res, StatusCode::SERVICE_UNAVAILABLE, "request_timeout").await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    lock.rollback().await.expect("unlock");
    app.create_account(&ann, "Cash", "asset").await;
    app.finish().await;
}

#[tokio::test]
async fn a_body_slower_than_its_timeout_answers_408_body_timeout() {
    let app = spawn_app_with(Options {
        body_read_timeout: Duration::from_secs(1),
        ..Options::default()
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let conn = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let (mut rd, mut wr) = conn.into_split();
    wr.write_all(
        b"POST /auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
          content-length: 60\r\n\r\n{",
    )
    .await
    .expect("head");
    let trickle = tokio::spawn(async move {
        for _ in 0..60 {
            if wr.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(6), rd.read_to_end(&mut answer)).await;
    trickle.abort();
    assert!(read.is_ok(), "no answer within 6 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(answer.contains(r#""code":"body_timeout""#), "{answer}");
    app.finish().await;
}
