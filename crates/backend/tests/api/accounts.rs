use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{expect, expect_error, spawn_app};

#[tokio::test]
async fn account_crud_balances_and_isolation() {
    let app = spawn_app().await;
    let (ann, _) = app.signup("ann@example.com").await;
    let (bob, _) = app.signup("bob@example.com").await;

    let res = app
        .post(
            "/accounts",
            Some(&ann),
            &json!({"name": "Checking", "type": "asset"}),
        )
        .await;
    let checking = expect(res, StatusCode::CREATED).await;
    assert_eq!(checking["balance_cents"], 0);
    assert_eq!(checking["type"], "asset");
    let checking_id = checking["id"].as_str().expect("id").to_string();
    let salary = app.create_account(&ann, "Salary", "income").await;
    let card = app.create_account(&ann, "Card", "liability").await;
    let food = app.create_account(&ann, "Food", "expense").await;

    // Validation names the field.
    let res = app
        .post(
            "/accounts",
            Some(&ann),
            &json!({"name": "X", "type": "equity"}),
        )
        .await;
    let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(err["field"], "type");
    let res = app
        .post(
            "/accounts",
            Some(&ann),
            &json!({"name": "  ", "type": "asset"}),
        )
        .await;
    let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(err["field"], "name");
    expect_error(
        app.post("/accounts", None, &json!({"name": "X", "type": "asset"}))
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;

    // Salary 1000.00 into checking, groceries 25.50 on the card.
    for (debit, credit, cents) in [(&checking_id, &salary, 100_000), (&food, &card, 2_550)] {
        let body = json!({"date": "2026-01-15", "amount_cents": cents,
                          "debit_account_id": debit, "credit_account_id": credit});
        expect(
            app.post("/transactions", Some(&ann), &body).await,
            StatusCode::CREATED,
        )
        .await;
    }
    let list = expect(app.get("/accounts", Some(&ann)).await, StatusCode::OK).await;
    let balances: Vec<(String, i64)> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|a| {
            (
                a["name"].as_str().expect("name").to_string(),
                a["balance_cents"].as_i64().expect("cents"),
            )
        })
        .collect();
    assert_eq!(
        balances,
        vec![
            ("Checking".to_string(), 100_000),
            ("Salary".to_string(), 100_000),
            ("Card".to_string(), 2_550),
            ("Food".to_string(), 2_550)
        ]
    );

    let one = expect(
        app.get(&format!("/accounts/{checking_id}"), Some(&ann))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(one["balance_cents"], 100_000);
    let renamed = expect(
        app.patch(
            &format!("/accounts/{checking_id}"),
            &ann,
            &json!({"name": "Main checking"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(renamed["name"], "Main checking");
    assert_eq!(renamed["type"], "asset");
    assert_eq!(renamed["balance_cents"], 100_000);
    let res = app
        .patch(
            &format!("/accounts/{checking_id}"),
            &ann,
            &json!({"type": "nope"}),
        )
        .await;
    assert_eq!(
        expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await["field"],
        "type"
    );

    // Another user sees none of it: 404, exactly like a missing id; the list is empty.
    let path = format!("/accounts/{checking_id}");
    expect_error(
        app.get(&path, Some(&bob)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_error(
        app.patch(&path, &bob, &json!({"name": "mine"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_error(
        app.delete(&path, &bob).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(
        expect(app.get("/accounts", Some(&bob)).await, StatusCode::OK).await,
        json!([])
    );
    expect_error(
        app.get("/accounts/not-a-uuid", Some(&ann)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // An account with transactions cannot be deleted; an unused one can.
    expect_error(
        app.delete(&path, &ann).await,
        StatusCode::CONFLICT,
        "account_has_transactions",
    )
    .await;
    let spare = app.create_account(&ann, "Spare", "asset").await;
    let res = app.delete(&format!("/accounts/{spare}"), &ann).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    expect_error(
        app.get(&format!("/accounts/{spare}"), Some(&ann)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let still = expect(app.get(&path, Some(&ann)).await, StatusCode::OK).await;
    assert_eq!(still["name"], "Main checking");

    app.finish().await;
}
