//! The two Stripe API calls this tool makes, over rustls (no OpenSSL, so it runs on distroless).
//!
//! Every failure becomes one [`StripeError`] line: a bad key, a request Stripe refused (with
//! Stripe's own `error.message`), Stripe being down, the network, or the time limit. Response
//! bodies are never echoed, since a success body contains the signing secret.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// A webhook endpoint as created by Stripe.
pub struct Endpoint {
    pub id: String,
    pub secret: SecretString,
    pub url: String,
}

/// The outcome of a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    Deleted,
    /// Stripe answered 404: someone (or an earlier run) already deleted it.
    AlreadyGone,
}

#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    #[error("Stripe rejected the API key in {key_name} ({status}): {message}")]
    Unauthorized {
        key_name: &'static str,
        status: reqwest::StatusCode,
        message: String,
    },
    #[error("Stripe refused the request ({status}): {message}")]
    Rejected {
        status: reqwest::StatusCode,
        message: String,
    },
    #[error("Stripe is unavailable ({status}); nothing was changed, try again later")]
    Unavailable { status: reqwest::StatusCode },
    #[error("Stripe did not answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot reach Stripe at {base}")]
    Network {
        base: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("unexpected answer from Stripe ({0})")]
    BadResponse(String),
    #[error("cannot set up the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// Stripe's error body: `{"error": {"message": "...", "type": "..."}}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct EndpointBody {
    id: String,
    secret: Option<String>,
    url: String,
}

pub struct StripeClient {
    http: reqwest::Client,
    base: String,
    key: SecretString,
    key_name: &'static str,
    timeout: Duration,
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
        crate::tls::install_provider();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("tools/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(StripeError::Client)?;
        Ok(StripeClient {
            http,
            base: base.as_str().trim_end_matches('/').to_string(),
            key,
            key_name,
            timeout,
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
        let response = self
            .http
            .post(format!("{}/v1/webhook_endpoints", self.base))
            .bearer_auth(self.key.expose_secret())
            .header("Idempotency-Key", idempotency_key)
            .form(&form)
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let response = self.check(response).await?;
        let body: EndpointBody = response.json().await.map_err(|e| {
            if e.is_timeout() {
                StripeError::Timeout(self.timeout)
            } else {
                StripeError::BadResponse("the created endpoint is not the expected JSON".into())
            }
        })?;
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
        let response = self
            .http
            .delete(format!("{}/v1/webhook_endpoints/{id}", self.base))
            .bearer_auth(self.key.expose_secret())
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(Deleted::AlreadyGone);
        }
        self.check(response).await?;
        Ok(Deleted::Deleted)
    }

    fn transport(&self, e: reqwest::Error) -> StripeError {
        if e.is_timeout() {
            StripeError::Timeout(self.timeout)
        } else {
            StripeError::Network {
                base: self.base.clone(),
                source: e.without_url(),
            }
        }
    }

    /// Passes 2xx through; turns anything else into the matching error.
    async fn check(&self, response: reqwest::Response) -> Result<reqwest::Response, StripeError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        if status.is_server_error() {
            return Err(StripeError::Unavailable { status });
        }
        let message = match response.json::<ErrorBody>().await {
            Ok(body) => body
                .error
                .message
                .or(body.error.kind)
                .unwrap_or_else(|| "no message".into()),
            Err(_) => "no Stripe error message".into(),
        };
        // Stripe masks keys in its messages; make sure nothing else ever echoes one.
        let message = message.replace(self.key.expose_secret(), "***");
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            Err(StripeError::Unauthorized {
                key_name: self.key_name,
                status,
                message,
            })
        } else {
            Err(StripeError::Rejected { status, message })
        }
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
