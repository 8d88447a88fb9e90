//! A local server that behaves like Stripe's `/v1/webhook_endpoints` for the parts `tools` uses:
//! Bearer-key check with Stripe's 401 error shape, form bodies with repeated `enabled_events[]`,
//! created endpoints with a fresh `whsec_` secret, DELETE with 404 for unknown ids, and
//! `Idempotency-Key` as Stripe documents it: a repeated key with the same parameters gets the
//! first answer again (nothing new is created), with other parameters a 400 `idempotency_error`.
//! Every request is recorded so tests can assert what was (not) sent.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde_json::json;

pub const TEST_KEY: &str = "sk_test_good_key_123";
pub const PROD_KEY: &str = "sk_live_good_key_456";

/// One request as received.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub key: Option<String>,
    pub url: Option<String>,
    pub events: Vec<String>,
    pub idempotency_key: Option<String>,
}

/// How the server answers creations (to exercise the error paths).
#[derive(Debug, Clone)]
pub enum Mode {
    Normal,
    /// Answer with this status and Stripe-shaped error message.
    Fail(u16, &'static str),
    /// Answer normally, but only after this long.
    Slow(Duration),
}

#[derive(Clone)]
pub struct FakeStripe {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    calls: Vec<Call>,
    endpoints: BTreeMap<String, String>,
    /// Idempotency-Key -> (the request's form body, the answer given).
    idempotent: BTreeMap<String, (String, serde_json::Value)>,
    next: u32,
    mode: Mode,
}

impl FakeStripe {
    pub async fn start() -> FakeStripe {
        let inner = Arc::new(Mutex::new(Inner {
            calls: Vec::new(),
            endpoints: BTreeMap::new(),
            idempotent: BTreeMap::new(),
            next: 1,
            mode: Mode::Normal,
        }));
        let app = Router::new()
            .route("/v1/webhook_endpoints", post(create))
            .route("/v1/webhook_endpoints/{id}", delete(remove))
            .with_state(inner.clone());
        let addr = crate::helpers::serve(app).await;
        FakeStripe { addr, inner }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_mode(&self, mode: Mode) {
        self.inner.lock().expect("lock").mode = mode;
    }

    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().expect("lock").calls.clone()
    }

    /// Registers an endpoint as if created earlier (for delete tests).
    pub fn add_endpoint(&self, id: &str, url: &str) {
        self.inner
            .lock()
            .expect("lock")
            .endpoints
            .insert(id.into(), url.into());
    }

    pub fn has_endpoint(&self, id: &str) -> bool {
        self.inner.lock().expect("lock").endpoints.contains_key(id)
    }
}

type Shared = Arc<Mutex<Inner>>;

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::to_string)
}

fn stripe_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"type": kind, "message": message}})),
    )
        .into_response()
}

fn unauthorized(key: Option<&str>) -> Response {
    // Like Stripe: the key is masked down to its last four characters.
    let tail: String = key
        .unwrap_or("")
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    stripe_error(
        StatusCode::UNAUTHORIZED,
        "invalid_request_error",
        &format!("Invalid API Key provided: sk_****{tail}"),
    )
}

async fn create(State(inner): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let key = bearer(&headers);
    let idempotency_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let form = String::from_utf8_lossy(&body).into_owned();
    let parsed = reqwest::Url::parse(&format!("http://x/?{form}")).expect("form body");
    let mut url = None;
    let mut events = Vec::new();
    for (k, v) in parsed.query_pairs() {
        match k.as_ref() {
            "url" => url = Some(v.into_owned()),
            "enabled_events[]" => events.push(v.into_owned()),
            _ => {}
        }
    }
    let mode = {
        let mut inner = inner.lock().expect("lock");
        inner.calls.push(Call {
            method: "POST".into(),
            path: "/v1/webhook_endpoints".into(),
            key: key.clone(),
            url: url.clone(),
            events: events.clone(),
            idempotency_key: idempotency_key.clone(),
        });
        inner.mode.clone()
    };
    if !matches!(key.as_deref(), Some(TEST_KEY) | Some(PROD_KEY)) {
        return unauthorized(key.as_deref());
    }
    match mode {
        Mode::Normal => {}
        Mode::Fail(status, message) => {
            let status = StatusCode::from_u16(status).expect("status");
            return stripe_error(status, "invalid_request_error", message);
        }
        Mode::Slow(delay) => tokio::time::sleep(delay).await,
    }
    let Some(url) = url else {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "Missing required param: url.",
        );
    };
    if events.is_empty() {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "Missing required param: enabled_events.",
        );
    }
    let mut inner = inner.lock().expect("lock");
    if let Some((first_form, answer)) = idempotency_key
        .as_ref()
        .and_then(|k| inner.idempotent.get(k))
    {
        if *first_form != form {
            return stripe_error(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they were first used with.",
            );
        }
        return Json(answer.clone()).into_response();
    }
    let id = format!("we_{:04}", inner.next);
    inner.next += 1;
    inner.endpoints.insert(id.clone(), url.clone());
    let secret = format!("whsec_{}", uuid::Uuid::new_v4().simple());
    let answer = json!({
        "id": id,
        "object": "webhook_endpoint",
        "secret": secret,
        "url": url,
        "enabled_events": events,
        "status": "enabled",
    });
    if let Some(k) = idempotency_key {
        inner.idempotent.insert(k, (form, answer.clone()));
    }
    Json(answer).into_response()
}

async fn remove(
    State(inner): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let key = bearer(&headers);
    let mut inner = inner.lock().expect("lock");
    inner.calls.push(Call {
        method: "DELETE".into(),
        path: format!("/v1/webhook_endpoints/{id}"),
        key: key.clone(),
        url: None,
        events: Vec::new(),
        idempotency_key: None,
    });
    if !matches!(key.as_deref(), Some(TEST_KEY) | Some(PROD_KEY)) {
        return unauthorized(key.as_deref());
    }
    if inner.endpoints.remove(&id).is_none() {
        return stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            &format!("No such webhook endpoint: '{id}'"),
        );
    }
    Json(json!({"id": id, "object": "webhook_endpoint", "deleted": true})).into_response()
}
