//! The API routes, with the checks Stripe's API reference documents for the fields we send
//! (<https://docs.stripe.com/api/checkout/sessions/create>,
//! <https://docs.stripe.com/api/customer_portal/sessions/create>,
//! <https://docs.stripe.com/api/webhook_endpoints/create>): an unknown parameter, a missing
//! required one, a malformed value or an id that does not exist answers 400 with Stripe's
//! message and the offending `param`; a missing or wrong key answers 401.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::state::{api_now, lock, Call, Endpoint, Mode, Shared};

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/v1/checkout/sessions", post(create_checkout_session))
        .route("/v1/billing_portal/sessions", post(create_portal_session))
        .route("/v1/webhook_endpoints", post(create_webhook_endpoint))
        .route(
            "/v1/webhook_endpoints/{id}",
            delete(delete_webhook_endpoint),
        )
}

/// A 4xx in Stripe's shape.
pub(crate) fn stripe_error(
    status: StatusCode,
    message: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Response {
    let mut error = json!({"type": "invalid_request_error", "message": message});
    if let Some(param) = param {
        error["param"] = json!(param);
    }
    if let Some(code) = code {
        error["code"] = json!(code);
    }
    (status, Json(json!({ "error": error }))).into_response()
}

fn invalid(message: &str, param: &str) -> Response {
    stripe_error(StatusCode::BAD_REQUEST, message, Some(param), None)
}

fn missing(param: &str) -> Response {
    stripe_error(
        StatusCode::BAD_REQUEST,
        &format!("Missing required param: {param}."),
        Some(param),
        Some("parameter_missing"),
    )
}

fn no_such(what: &str, id: &str, param: &str) -> Response {
    stripe_error(
        StatusCode::BAD_REQUEST,
        &format!("No such {what}: '{id}'"),
        Some(param),
        Some("resource_missing"),
    )
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::to_string)
}

/// Stripe masks a rejected key down to its last four characters.
fn unauthorized(key: Option<&str>) -> Response {
    let message = match key {
        None | Some("") => "You did not provide an API key. You need to provide your API key in \
                            the Authorization header, using Bearer auth."
            .to_string(),
        Some(key) => {
            let tail: String = key
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("Invalid API Key provided: sk_****{tail}")
        }
    };
    stripe_error(StatusCode::UNAUTHORIZED, &message, None, None)
}

/// Records the request, checks the key and applies the failure mode. `Err` is the answer to
/// send instead of handling the request.
async fn admit(
    shared: &Shared,
    method: Method,
    path: String,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, Response> {
    let key = bearer(headers);
    let form: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let mode = {
        let mut inner = lock(shared);
        inner.calls.push(Call {
            method: method.to_string(),
            path,
            key: key.clone(),
            form: form.clone(),
        });
        let known = key
            .as_deref()
            .is_some_and(|k| inner.options.api_keys.iter().any(|a| a == k));
        if !known {
            return Err(unauthorized(key.as_deref()));
        }
        inner.mode.clone()
    };
    if method == Method::POST
        && !headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
        && !body.is_empty()
    {
        return Err(invalid(
            "Invalid request: Stripe accepts form-encoded bodies \
             (application/x-www-form-urlencoded).",
            "body",
        ));
    }
    match mode {
        Mode::Normal => {}
        Mode::Fail(status, message) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Err(stripe_error(status, &message, None, None));
        }
        Mode::Slow(delay) => tokio::time::sleep(delay).await,
    }
    Ok(form)
}

/// A URL Stripe accepts for `success_url` and friends: absolute http(s), at most 5000 chars.
fn valid_url(value: &str) -> bool {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    value.len() <= 5000
        && rest.is_some_and(|r| {
            !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace)
        })
}

/// The parameters of a create-session call this stand-in knows; others are Stripe's "unknown
/// parameter" error, which is what a typo in a client would get from Stripe.
fn known_checkout_param(name: &str) -> bool {
    const PLAIN: [&str; 9] = [
        "mode",
        "success_url",
        "cancel_url",
        "client_reference_id",
        "customer",
        "customer_email",
        "allow_promotion_codes",
        "locale",
        "expand[]",
    ];
    if PLAIN.contains(&name)
        || name.starts_with("metadata[")
        || name.starts_with("subscription_data[")
    {
        return true;
    }
    line_item_field(name).is_some_and(|(_, field)| matches!(field, "price" | "quantity"))
}

/// `line_items[3][price]` → `(3, "price")`.
fn line_item_field(name: &str) -> Option<(usize, &str)> {
    let rest = name.strip_prefix("line_items[")?;
    let (index, rest) = rest.split_once("][")?;
    let field = rest.strip_suffix(']')?;
    Some((index.parse().ok()?, field))
}

async fn create_checkout_session(
    State(shared): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match admit(
        &shared,
        Method::POST,
        "/v1/checkout/sessions".into(),
        &headers,
        &body,
    )
    .await
    {
        Ok(form) => form,
        Err(answer) => return answer,
    };
    let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if let Some((name, _)) = form.iter().find(|(k, _)| !known_checkout_param(k)) {
        return invalid(&format!("Received unknown parameter: {name}"), name);
    }
    let Some(mode) = get("mode") else {
        return missing("mode");
    };
    if !matches!(mode.as_str(), "payment" | "setup" | "subscription") {
        return invalid(
            &format!("Invalid mode: must be one of payment, setup, or subscription (got {mode})"),
            "mode",
        );
    }
    let Some(success_url) = get("success_url") else {
        return missing("success_url");
    };
    if !valid_url(&success_url) {
        return invalid("Not a valid URL", "success_url");
    }
    let cancel_url = get("cancel_url");
    if cancel_url.as_deref().is_some_and(|u| !valid_url(u)) {
        return invalid("Not a valid URL", "cancel_url");
    }
    // Line items must be numbered from 0 without gaps, each with a price and a quantity.
    let mut items: Vec<(String, u64)> = Vec::new();
    for index in 0.. {
        let price = get(&format!("line_items[{index}][price]"));
        let quantity = get(&format!("line_items[{index}][quantity]"));
        if price.is_none() && quantity.is_none() {
            break;
        }
        let Some(price) = price else {
            return missing(&format!("line_items[{index}][price]"));
        };
        let Some(quantity) = quantity else {
            return invalid(
                &format!("Quantity is required. Add `quantity` to `line_items[{index}]`"),
                &format!("line_items[{index}][quantity]"),
            );
        };
        let Some(quantity) = quantity.parse::<u64>().ok().filter(|q| *q >= 1) else {
            return invalid(
                &format!("Invalid integer: {quantity}"),
                &format!("line_items[{index}][quantity]"),
            );
        };
        items.push((price, quantity));
    }
    let numbered = form
        .iter()
        .filter_map(|(k, _)| line_item_field(k))
        .all(|(i, _)| i < items.len());
    if !numbered {
        return invalid(
            "Invalid array: line_items must be indexed from 0",
            "line_items",
        );
    }
    if mode == "subscription" && items.is_empty() {
        return invalid(
            "You must provide at least one recurring price in `subscription` mode when using prices.",
            "line_items",
        );
    }
    let client_reference_id = get("client_reference_id");
    if let Some(reference) = &client_reference_id {
        let ok = !reference.is_empty()
            && reference.len() <= 200
            && reference
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return invalid(
                "client_reference_id can be at most 200 characters: alphanumerics, dashes or \
                 underscores",
                "client_reference_id",
            );
        }
    }
    let customer = get("customer");
    let customer_email = get("customer_email");
    if customer.is_some() && customer_email.is_some() {
        return invalid(
            "You may only specify one of these parameters: customer, customer_email.",
            "customer",
        );
    }
    if customer_email.as_deref().is_some_and(|e| {
        !e.split_once('@')
            .is_some_and(|(a, b)| !a.is_empty() && b.contains('.'))
    }) {
        return invalid("Invalid email address", "customer_email");
    }
    let mut inner = lock(&shared);
    for (index, (price, _)) in items.iter().enumerate() {
        if !inner.options.prices.iter().any(|p| p == price) {
            return no_such("price", price, &format!("line_items[{index}][price]"));
        }
    }
    if let Some(customer) = &customer {
        if !inner.customers.contains_key(customer) {
            return no_such("customer", customer, "customer");
        }
    }
    let id = inner.id("cs_test");
    let session = json!({
        "id": id,
        "object": "checkout.session",
        "mode": mode,
        "status": "open",
        "payment_status": "unpaid",
        "url": format!("{}/c/pay/{id}", inner.public_url),
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": client_reference_id,
        "customer": customer,
        "customer_email": customer_email,
        "subscription": null,
        "line_items_summary": items.iter().map(|(p, q)| json!({"price": p, "quantity": q})).collect::<Vec<_>>(),
        "created": api_now(),
        "expires_at": api_now() + 24 * 3600,
        "livemode": false,
    });
    inner.sessions.insert(id, session.clone());
    Json(public_session(&session)).into_response()
}

/// The session as the API returns it (without the stand-in's own bookkeeping).
pub(crate) fn public_session(session: &Value) -> Value {
    let mut out = session.clone();
    if let Some(map) = out.as_object_mut() {
        map.remove("line_items_summary");
    }
    out
}

async fn create_portal_session(
    State(shared): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match admit(
        &shared,
        Method::POST,
        "/v1/billing_portal/sessions".into(),
        &headers,
        &body,
    )
    .await
    {
        Ok(form) => form,
        Err(answer) => return answer,
    };
    let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if let Some((name, _)) = form.iter().find(|(k, _)| {
        !matches!(
            k.as_str(),
            "customer" | "return_url" | "configuration" | "locale"
        )
    }) {
        return invalid(&format!("Received unknown parameter: {name}"), name);
    }
    let Some(customer) = get("customer") else {
        return missing("customer");
    };
    let return_url = get("return_url");
    if return_url.as_deref().is_some_and(|u| !valid_url(u)) {
        return invalid("Not a valid URL", "return_url");
    }
    let mut inner = lock(&shared);
    if !inner.customers.contains_key(&customer) {
        return no_such("customer", &customer, "customer");
    }
    let id = inner.id("bps");
    inner
        .portal_sessions
        .insert(id.clone(), (customer.clone(), return_url.clone()));
    Json(json!({
        "id": id,
        "object": "billing_portal.session",
        "customer": customer,
        "return_url": return_url,
        "url": format!("{}/p/session/{id}", inner.public_url),
        "created": api_now(),
        "livemode": false,
    }))
    .into_response()
}

async fn create_webhook_endpoint(
    State(shared): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match admit(
        &shared,
        Method::POST,
        "/v1/webhook_endpoints".into(),
        &headers,
        &body,
    )
    .await
    {
        Ok(form) => form,
        Err(answer) => return answer,
    };
    let url = form
        .iter()
        .find(|(k, _)| k == "url")
        .map(|(_, v)| v.clone());
    let events: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "enabled_events[]" || k.starts_with("enabled_events["))
        .map(|(_, v)| v.clone())
        .collect();
    let Some(url) = url else {
        return missing("url");
    };
    if !valid_url(&url) {
        return invalid("Invalid URL: must be a valid http or https URL", "url");
    }
    if events.is_empty() {
        return missing("enabled_events");
    }
    let mut inner = lock(&shared);
    let id = inner.id("we");
    let secret = format!("whsec_{}", uuid::Uuid::new_v4().simple());
    inner.endpoints.insert(
        id.clone(),
        Endpoint {
            url: url.clone(),
            secret: secret.clone(),
        },
    );
    Json(json!({
        "id": id,
        "object": "webhook_endpoint",
        "secret": secret,
        "url": url,
        "enabled_events": events,
        "status": "enabled",
        "livemode": false,
    }))
    .into_response()
}

async fn delete_webhook_endpoint(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/v1/webhook_endpoints/{id}");
    if let Err(answer) = admit(&shared, Method::DELETE, path, &headers, &[]).await {
        return answer;
    }
    if lock(&shared).endpoints.remove(&id).is_none() {
        return stripe_error(
            StatusCode::NOT_FOUND,
            &format!("No such webhook endpoint: '{id}'"),
            Some("id"),
            Some("resource_missing"),
        );
    }
    Json(json!({"id": id, "object": "webhook_endpoint", "deleted": true})).into_response()
}

/// Keeps the API's answer for the hosted pages, which share the error shape.
pub(crate) fn not_found(what: &str) -> Response {
    stripe_error(
        StatusCode::NOT_FOUND,
        &format!("No such {what}"),
        None,
        Some("resource_missing"),
    )
}
