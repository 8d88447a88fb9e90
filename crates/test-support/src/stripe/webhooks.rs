//! Events as Stripe sends them (<https://docs.stripe.com/webhooks>): an `event` object
//! (`id`, `object: "event"`, `created`, `type`, `data.object`), POSTed as JSON to every
//! endpoint with `Stripe-Signature: t={unix time},v1={hex HMAC-SHA256 of "{t}.{body}" keyed by
//! the endpoint's whole whsec_ secret}`. This is an implementation of its own, not the
//! backend's verifier run backwards, so the two check each other.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::state::{api_now, lock, Shared};

/// The `Stripe-Signature` header for `body` signed at `t` with `secret`.
pub fn signature_header(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Why an event did not reach an endpoint with a 2xx.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("the webhook endpoint {url} answered {status}: {body}")]
    Refused {
        url: String,
        status: u16,
        body: String,
    },
    #[error("cannot reach the webhook endpoint {url}: {reason}")]
    Unreachable { url: String, reason: String },
}

/// Builds an event of `kind` about `object` and delivers it to every endpoint, in turn. Stripe
/// would retry a failed delivery for days; the stand-in reports it instead, so a test (or the
/// person clicking "Pay") sees at once that the backend refused it.
pub(crate) async fn send(shared: &Shared, kind: &str, object: Value) -> Result<(), DeliveryError> {
    let (event, endpoints) = {
        let mut inner = lock(shared);
        let id = inner.id("evt");
        let event = json!({
            "id": id,
            "object": "event",
            "api_version": "2025-06-30.basil",
            "created": api_now(),
            "type": kind,
            "livemode": false,
            "pending_webhooks": inner.endpoints.len(),
            "request": {"id": null, "idempotency_key": null},
            "data": {"object": object},
        });
        (event, inner.endpoints.values().cloned().collect::<Vec<_>>())
    };
    let body = event.to_string();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .user_agent("Stripe/1.0 (+https://stripe.com/docs/webhooks)")
        .build()
        .map_err(|e| DeliveryError::Unreachable {
            url: String::new(),
            reason: e.to_string(),
        })?;
    for endpoint in endpoints {
        let header = signature_header(&endpoint.secret, api_now(), body.as_bytes());
        let answer = client
            .post(&endpoint.url)
            .header("content-type", "application/json; charset=utf-8")
            .header("stripe-signature", header)
            .body(body.clone())
            .send()
            .await;
        let response = answer.map_err(|e| DeliveryError::Unreachable {
            url: endpoint.url.clone(),
            reason: e.without_url().to_string(),
        })?;
        let status = response.status().as_u16();
        lock(shared)
            .deliveries
            .push((kind.to_string(), endpoint.url.clone(), status));
        if !response.status().is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(DeliveryError::Refused {
                url: endpoint.url,
                status,
                body: body.chars().take(500).collect(),
            });
        }
    }
    Ok(())
}
