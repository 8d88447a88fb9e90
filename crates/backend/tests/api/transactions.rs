use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{expect, expect_error, spawn_app};

#[tokio::test]
async fn transaction_crud_validation_and_isolation() {
    let app = spawn_app().await;
    let (ann, _) = app.signup("ann@example.com").await;
    let (bob, _) = app.signup("bob@example.com").await;
    let cash = app.create_account(&ann, "Cash", "asset").await;
    let food = app.create_account(&ann, "Food", "expense").await;
    let bobs = app.create_account(&bob, "Bob's cash", "asset").await;

    let body = json!({"date": "2026-02-01", "amount_cents": 1234, "description": " lunch ",
                      "debit_account_id": food, "credit_account_id": cash});
    let created = expect(
        app.post("/transactions", Some(&ann), &body).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["description"], "lunch");
    assert_eq!(created["date"], "2026-02-01");
    let path = format!("/transactions/{}", created["id"].as_str().expect("id"));

    let shown = expect(app.get(&path, Some(&ann)).await, StatusCode::OK).await;
    assert_eq!(shown, created);
    let patched = expect(
        app.patch(
            &path,
            &ann,
            &json!({"amount_cents": 999, "date": "2026-02-03"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["amount_cents"], 999);
    assert_eq!(patched["date"], "2026-02-03");
    assert_eq!(patched["description"], "lunch");

    // Each rule names its field.
    let cases: [(Value, &str); 6] = [
        (
            json!({"date": "2026-02-01", "amount_cents": 0, "debit_account_id": food, "credit_account_id": cash}),
            "amount_cents",
        ),
        (
            json!({"date": "2026-02-01", "amount_cents": -5, "debit_account_id": food, "credit_account_id": cash}),
            "amount_cents",
        ),
        (
            json!({"date": "2026-02-01", "amount_cents": 5, "debit_account_id": food, "credit_account_id": food}),
            "credit_account_id",
        ),
        (
            json!({"date": "2026-02-01", "amount_cents": 5, "debit_account_id": bobs, "credit_account_id": cash}),
            "debit_account_id",
        ),
        (
            json!({"date": "2026-02-01", "amount_cents": 5, "debit_account_id": food, "credit_account_id": bobs}),
            "credit_account_id",
        ),
        (
            json!({"date": "01/02/2026", "amount_cents": 5, "debit_account_id": food, "credit_account_id": cash}),
            "date",
        ),
    ];
    for (body, field) in cases {
        let res = app.post("/transactions", Some(&ann), &body).await;
        let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(err["field"], field, "{body}");
    }
    // Wrong JSON types are reported with the field's name too.
    let res = app
        .patch(&path, &ann, &json!({"amount_cents": "12.50"}))
        .await;
    let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    assert_eq!(err["field"], "amount_cents");
    let res = app
        .patch(&path, &ann, &json!({"credit_account_id": food}))
        .await;
    let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(err["field"], "credit_account_id");
    let unchanged = expect(app.get(&path, Some(&ann)).await, StatusCode::OK).await;
    assert_eq!(unchanged, patched);

    // Bob: 404 on every route, an empty list, and Ann's accounts are not his to use.
    expect_error(
        app.get(&path, Some(&bob)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_error(
        app.patch(&path, &bob, &json!({"amount_cents": 1})).await,
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
    let page = expect(app.get("/transactions", Some(&bob)).await, StatusCode::OK).await;
    assert_eq!(page, json!({"items": [], "next_cursor": null}));

    let res = app.delete(&path, &ann).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    expect_error(
        app.get(&path, Some(&ann)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_error(
        app.delete(&path, &ann).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    app.finish().await;
}

#[tokio::test]
async fn pagination_and_filters() {
    let app = spawn_app().await;
    let (ann, _) = app.signup("ann@example.com").await;
    let cash = app.create_account(&ann, "Cash", "asset").await;
    let food = app.create_account(&ann, "Food", "expense").await;
    let rent = app.create_account(&ann, "Rent", "expense").await;

    // 23 rows over 5 dates: many share a date, so the id tie-break matters.
    let mut all = HashSet::new();
    for i in 0..23 {
        let debit = if i % 3 == 0 { &rent } else { &food };
        let body = json!({"date": format!("2026-03-0{}", 1 + i % 5), "amount_cents": 100 + i,
                          "debit_account_id": debit, "credit_account_id": cash});
        let t = expect(
            app.post("/transactions", Some(&ann), &body).await,
            StatusCode::CREATED,
        )
        .await;
        all.insert(t["id"].as_str().expect("id").to_string());
    }

    let collect = |query: String| {
        let app = &app;
        let ann = &ann;
        async move {
            let mut seen: Vec<(String, String)> = Vec::new();
            let mut cursor: Option<String> = None;
            for _ in 0..50 {
                let mut url = format!("/transactions?{query}");
                if let Some(c) = &cursor {
                    url.push_str(&format!("&cursor={c}"));
                }
                let page = expect(app.get(&url, Some(ann)).await, StatusCode::OK).await;
                for t in page["items"].as_array().expect("items") {
                    seen.push((
                        t["date"].as_str().expect("date").into(),
                        t["id"].as_str().expect("id").into(),
                    ));
                }
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_string()),
                    None => return seen,
                }
            }
            panic!("pagination did not end");
        }
    };

    let seen = collect("limit=5".into()).await;
    assert_eq!(seen.len(), 23);
    let ids: HashSet<String> = seen.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(ids, all, "every row exactly once");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first, ties by id");

    // Default page size 50 holds everything, no next cursor.
    let page = expect(app.get("/transactions", Some(&ann)).await, StatusCode::OK).await;
    assert_eq!(page["items"].as_array().expect("items").len(), 23);
    assert!(page["next_cursor"].is_null());

    // Filters, also across pages: dates 2..=4 hold 14 rows; rent is debited by 8.
    let ranged = collect("limit=4&from=2026-03-02&to=2026-03-04".into()).await;
    assert_eq!(ranged.len(), 14);
    assert!(ranged
        .iter()
        .all(|(d, _)| ("2026-03-02".."2026-03-05").contains(&d.as_str())));
    assert_eq!(collect(format!("limit=3&account_id={rent}")).await.len(), 8);
    assert_eq!(collect(format!("account_id={cash}")).await.len(), 23);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("from=yesterday", "from"),
        ("to=2026-13-01", "to"),
        ("account_id=42", "account_id"),
        ("cursor=nonsense", "cursor"),
    ] {
        let res = app.get(&format!("/transactions?{query}"), Some(&ann)).await;
        let err = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(err["field"], field, "{query}");
    }
    app.finish().await;
}

/// The list is encoded by hand (`encode_page`), single transactions by serde: an item in the
/// list is byte for byte the body `GET /transactions/{id}` answers, escapes included, and the
/// list is served as JSON.
#[tokio::test]
async fn listed_items_are_the_bytes_show_answers() {
    let app = spawn_app().await;
    let (ann, _) = app.signup("ann@example.com").await;
    let cash = app.create_account(&ann, "Cash", "asset").await;
    let food = app.create_account(&ann, "Food", "expense").await;
    let mut ids = Vec::new();
    for (i, description) in [
        "",
        "say \"hi\" \\ back\\slash",
        "tab\tnew\nline\u{1}\u{1f}\u{7f}",
        "line\u{2028}sep Café 日本語 🎉 </script>",
    ]
    .into_iter()
    .enumerate()
    {
        let body = json!({"date": format!("2026-04-0{}", i + 1), "amount_cents": 1_000_000_000_000i64 - i as i64,
                          "description": description, "debit_account_id": food, "credit_account_id": cash});
        let t = expect(
            app.post("/transactions", Some(&ann), &body).await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(t["description"], description);
        ids.push(t["id"].as_str().expect("id").to_string());
    }
    for query in [
        "",
        "?limit=2",
        &format!("?account_id={food}&from=2026-04-02"),
    ] {
        let res = app.get(&format!("/transactions{query}"), Some(&ann)).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        let text = res.text().await.expect("body");
        let page: Value = serde_json::from_str(&text).expect("JSON");
        let items = page["items"].as_array().expect("items");
        assert!(!items.is_empty(), "{query}");
        for item in items {
            let id = item["id"].as_str().expect("id");
            let shown = app.get(&format!("/transactions/{id}"), Some(&ann)).await;
            let shown = shown.text().await.expect("body");
            assert!(text.contains(&shown), "{query}: {shown} not in {text}");
        }
    }
    app.finish().await;
}
