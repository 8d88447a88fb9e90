//! The pages Stripe hosts, reduced to what a browser test needs: the checkout page a session's
//! `url` points to, whose "Pay" button does what a real payment does (a customer and a
//! subscription are created, `checkout.session.completed` and then `invoice.paid` are sent to
//! every webhook endpoint, and the browser is redirected to the session's `success_url`, with
//! `{CHECKOUT_SESSION_ID}` filled in), and the customer portal, which can cancel the
//! subscription (`customer.subscription.deleted`) and links back to `return_url`.
//!
//! Plain HTML forms, no script: it works in any browser and under any test driver.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::api::{not_found, public_session};
use super::state::{api_now, lock, Shared};
use super::webhooks;

/// A subscription period in the stand-in: 30 days.
const PERIOD_SECS: i64 = 30 * 24 * 3600;

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/c/pay/{id}", get(checkout_page).post(pay))
        .route("/p/session/{id}", get(portal_page))
        .route("/p/session/{id}/cancel", post(cancel_subscription))
        .route("/healthz", get(|| async { "1" }))
}

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title} (Stripe stand-in)</title></head>\n<body>\n<main>\n{body}\n</main>\n\
         <p><small>Local Stripe stand-in for tests: no card is charged.</small></p>\n</body></html>\n",
        title = escape(title)
    );
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

async fn checkout_page(State(shared): State<Shared>, Path(id): Path<String>) -> Response {
    let Some(session) = lock(&shared).sessions.get(&id).cloned() else {
        return not_found("checkout session");
    };
    if text(&session, "status").as_deref() != Some("open") {
        return page(
            "Checkout",
            "<h1>This checkout session is no longer active</h1>",
        );
    }
    let email = text(&session, "customer_email").unwrap_or_default();
    let items: String = session["line_items_summary"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| {
                    format!(
                        "<li>{} × {}</li>",
                        escape(i["price"].as_str().unwrap_or("")),
                        i["quantity"]
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let cancel = text(&session, "cancel_url")
        .map(|url| {
            format!(
                "<p><a id=\"cancel\" href=\"{}\">Cancel and go back</a></p>",
                escape(&url)
            )
        })
        .unwrap_or_default();
    let id = escape(&id);
    page(
        "Checkout",
        &format!(
            "<h1>Subscribe</h1>\n<ul id=\"items\">{items}</ul>\n<p id=\"email\">{}</p>\n\
             <form method=\"post\" action=\"/c/pay/{id}\">\
             <button id=\"pay\" type=\"submit\">Pay</button></form>\n{cancel}",
            escape(&email)
        ),
    )
}

/// What paying does: the objects Stripe creates, the events it sends, the redirect.
async fn pay(State(shared): State<Shared>, Path(id): Path<String>) -> Response {
    let completed = {
        let mut inner = lock(&shared);
        let Some(session) = inner.sessions.get(&id).cloned() else {
            return not_found("checkout session");
        };
        if text(&session, "status").as_deref() != Some("open") {
            return page(
                "Checkout",
                "<h1>This checkout session is no longer active</h1>",
            );
        }
        let customer = match text(&session, "customer") {
            Some(customer) => customer,
            None => {
                let customer = inner.id("cus");
                inner
                    .customers
                    .insert(customer.clone(), text(&session, "customer_email"));
                customer
            }
        };
        let subscription = inner.id("sub");
        inner
            .subscriptions
            .insert(subscription.clone(), customer.clone());
        let mut session = session;
        session["status"] = json!("complete");
        session["payment_status"] = json!("paid");
        session["customer"] = json!(customer);
        session["subscription"] = json!(subscription);
        inner.sessions.insert(id.clone(), session.clone());
        session
    };
    let customer = completed["customer"].clone();
    let subscription = completed["subscription"].clone();
    let price = completed["line_items_summary"][0]["price"].clone();
    let now = api_now();
    let invoice = json!({
        "id": lock(&shared).id("in"),
        "object": "invoice",
        "customer": customer,
        "subscription": subscription,
        "parent": {"type": "subscription_details",
                   "subscription_details": {"subscription": subscription}},
        "status": "paid",
        "paid": true,
        "billing_reason": "subscription_create",
        "lines": {"object": "list", "data": [{
            "object": "line_item",
            "price": {"id": price},
            "period": {"start": now, "end": now + PERIOD_SECS},
        }]},
    });
    let sent = async {
        webhooks::send(
            &shared,
            "checkout.session.completed",
            public_session(&completed),
        )
        .await?;
        webhooks::send(&shared, "invoice.paid", invoice).await
    };
    if let Err(e) = sent.await {
        let body = format!(
            "<h1>The payment went through, but the webhook failed</h1>\n<p id=\"error\">{}</p>",
            escape(&e.to_string())
        );
        let mut response = page("Checkout", &body);
        *response.status_mut() = StatusCode::BAD_GATEWAY;
        return response;
    }
    let success = text(&completed, "success_url")
        .unwrap_or_default()
        .replace("{CHECKOUT_SESSION_ID}", &id);
    Redirect::to(&success).into_response()
}

async fn portal_page(State(shared): State<Shared>, Path(id): Path<String>) -> Response {
    let Some((customer, return_url)) = lock(&shared).portal_sessions.get(&id).cloned() else {
        return not_found("billing portal session");
    };
    let back = return_url
        .map(|url| {
            format!(
                "<p><a id=\"return\" href=\"{}\">Return to the app</a></p>",
                escape(&url)
            )
        })
        .unwrap_or_default();
    let active = lock(&shared).subscriptions.values().any(|c| *c == customer);
    let cancel = if active {
        format!(
            "<form method=\"post\" action=\"/p/session/{}/cancel\">\
             <button id=\"cancel-subscription\" type=\"submit\">Cancel subscription</button></form>",
            escape(&id)
        )
    } else {
        "<p id=\"no-subscription\">No active subscription.</p>".to_string()
    };
    page(
        "Billing portal",
        &format!(
            "<h1>Manage billing</h1>\n<p id=\"customer\">{}</p>\n{cancel}\n{back}",
            escape(&customer)
        ),
    )
}

/// Cancels the customer's subscriptions now (`customer.subscription.deleted`), then back to
/// the portal page.
async fn cancel_subscription(State(shared): State<Shared>, Path(id): Path<String>) -> Response {
    let Some((customer, _)) = lock(&shared).portal_sessions.get(&id).cloned() else {
        return not_found("billing portal session");
    };
    let ended: Vec<String> = {
        let mut inner = lock(&shared);
        let ids: Vec<String> = inner
            .subscriptions
            .iter()
            .filter(|(_, c)| **c == customer)
            .map(|(s, _)| s.clone())
            .collect();
        for s in &ids {
            inner.subscriptions.remove(s);
        }
        ids
    };
    for subscription in ended {
        let object = json!({"id": subscription, "object": "subscription",
                            "customer": customer, "status": "canceled"});
        if let Err(e) = webhooks::send(&shared, "customer.subscription.deleted", object).await {
            let mut response = page(
                "Billing portal",
                &format!("<p id=\"error\">{}</p>", escape(&e.to_string())),
            );
            *response.status_mut() = StatusCode::BAD_GATEWAY;
            return response;
        }
    }
    Redirect::to(&format!("/p/session/{id}")).into_response()
}
