//! The two Stripe API calls this tool makes (create and delete a webhook endpoint), on the
//! backend's Stripe client ([`backend::stripe::StripeApi`]: rustls, so it runs on distroless; one
//! error type whose messages name no secret; response bodies never echoed, since a created
//! endpoint's body contains its signing secret).

use std::time::Duration;

use backend::stripe::StripeApi;
pub use backend::stripe::{Deleted, StripeError};
use secrecy::SecretString;
use serde::Deserialize;

/// A webhook endpoint as created by Stripe.
pub struct Endpoint {
    pub id: String,
    pub secret: SecretString,
    pub url: String,
}

#[derive(Deserialize)]
struct EndpointBody {
    id: String,
    secret: Option<String>,
    url: String,
}

/// The backend's client plus the env var the key came from (named in messages, never the key).
pub struct StripeClient {
    api: StripeApi,
    key_name: &'static str,
}

impl StripeClient {
    /// The env var the key came from, for messages (never the key itself).
    pub fn key_name(&self) -> &'static str {
        self.key_name
    }

    pub fn new(
        base: &reqwest::Url,
        key: SecretString,
        key_name: &'static str,
        timeout: Duration,
    ) -> Result<StripeClient, StripeError> {
        let user_agent = concat!("tools/", env!("CARGO_PKG_VERSION"));
        Ok(StripeClient {
            api: StripeApi::new(base, key, user_agent, timeout)?,
            key_name,
        })
    }

    /// `POST /v1/webhook_endpoints` with `url` and `enabled_events[]`, sent with
    /// `Idempotency-Key: idempotency_key` ([`idempotency_key`]): Stripe answers a repeat of the
    /// same request within 24 hours with the first answer (the same endpoint and secret) instead
    /// of creating another endpoint.
    pub async fn create_webhook_endpoint(
        &self,
        url: &str,
        events: &[&str],
        idempotency_key: &str,
    ) -> Result<Endpoint, StripeError> {
        let mut form: Vec<(&str, &str)> = vec![("url", url)];
        form.extend(events.iter().map(|e| ("enabled_events[]", *e)));
        let body: EndpointBody = self
            .api
            .post_form_idempotent("/v1/webhook_endpoints", &form, idempotency_key)
            .await?;
        let secret = body
            .secret
            .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic()))
            .ok_or_else(|| {
                StripeError::BadResponse(format!(
                    "endpoint {} was created without a usable signing secret",
                    body.id
                ))
            })?;
        Ok(Endpoint {
            id: body.id,
            secret: SecretString::from(secret),
            url: body.url,
        })
    }

    /// `DELETE /v1/webhook_endpoints/{id}`; 404 counts as already deleted.
    pub async fn delete_webhook_endpoint(&self, id: &str) -> Result<Deleted, StripeError> {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StripeError::BadResponse(format!(
                "stored endpoint id '{id}' is not a Stripe id"
            )));
        }
        self.api
            .delete(&format!("/v1/webhook_endpoints/{id}"))
            .await
    }
}

/// The `Idempotency-Key` for creating `url`'s endpoint for `namespace` with `events`: the same
/// inputs always give the same key, so a run retried after a lost answer (a timeout, a crash
/// before the store was written) gets Stripe's first answer back instead of a second endpoint.
/// The events are part of it because Stripe rejects a reused key whose parameters differ.
pub fn idempotency_key(namespace: &str, url: &str, events: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in [namespace, url].into_iter().chain(events.iter().copied()) {
        // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    format!(
        "tools-webhook-endpoint-{}",
        hex::encode(&hash.finalize()[..20])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idempotency_key_is_stable_per_namespace_and_url() {
        let events = ["invoice.paid", "invoice.payment_failed"];
        let key = idempotency_key("dev", "https://dev.example.com/billing/webhook", &events);
        assert_eq!(
            key,
            idempotency_key("dev", "https://dev.example.com/billing/webhook", &events)
        );
        assert!(
            key.starts_with("tools-webhook-endpoint-") && key.len() < 255,
            "{key}"
        );
        for other in [
            idempotency_key("de", "vhttps://dev.example.com/billing/webhook", &events),
            idempotency_key(
                "dev",
                "https://dev.example.com/billing/webhook",
                &events[..1],
            ),
            idempotency_key("main", "https://main.example.com/billing/webhook", &events),
        ] {
            assert_ne!(key, other);
        }
    }
}
