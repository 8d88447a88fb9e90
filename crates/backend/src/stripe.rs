//! The Stripe API client, over rustls (no OpenSSL, so it runs on distroless): form-encoded POSTs and
//! DELETEs with the secret key as Bearer token, answers decoded from JSON.
//!
//! Every failure is one [`StripeError`]: the key refused, a request Stripe refused (with
//! Stripe's own `error.message`, which masks keys, and is scrubbed of ours anyway), Stripe
//! being down, the network, the time limit, or an answer of the wrong shape. Response bodies
//! are never echoed. `tools` uses the same client for webhook endpoints.

use std::time::Duration;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Why a Stripe call failed. The messages name no secret.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    #[error("Stripe rejected the API key ({status}): {message}")]
    Unauthorized { status: StatusCode, message: String },
    #[error("Stripe refused the request ({status}): {message}")]
    Rejected { status: StatusCode, message: String },
    #[error("Stripe is unavailable ({status}); nothing was changed, try again later")]
    Unavailable { status: StatusCode },
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

/// The outcome of a DELETE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    Deleted,
    /// Stripe answered 404: someone (or an earlier run) already deleted it.
    AlreadyGone,
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

/// A client for one Stripe account (one secret key) at one API base.
pub struct StripeApi {
    http: reqwest::Client,
    base: String,
    key: SecretString,
    timeout: Duration,
}

impl std::fmt::Debug for StripeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeApi")
            .field("base", &self.base)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl StripeApi {
    /// `base` is `https://api.stripe.com` in production (`STRIPE_API_BASE`); `timeout` bounds
    /// connecting and the whole exchange.
    pub fn new(
        base: &reqwest::Url,
        key: SecretString,
        user_agent: &str,
        timeout: Duration,
    ) -> Result<StripeApi, StripeError> {
        install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(user_agent)
            .build()
            .map_err(StripeError::Client)?;
        Ok(StripeApi {
            http,
            base: base.as_str().trim_end_matches('/').to_string(),
            key,
            timeout,
        })
    }

    /// `POST {base}{path}` with `form`, the answer decoded as `T`.
    pub async fn post_form<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<T, StripeError> {
        self.send_form(path, form, None).await
    }

    /// [`StripeApi::post_form`] with an `Idempotency-Key`: Stripe answers a repeat of the same
    /// request within 24 hours with its first answer instead of creating the object again.
    pub async fn post_form_idempotent<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, &str)],
        idempotency_key: &str,
    ) -> Result<T, StripeError> {
        self.send_form(path, form, Some(idempotency_key)).await
    }

    async fn send_form<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, &str)],
        idempotency_key: Option<&str>,
    ) -> Result<T, StripeError> {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(self.key.expose_secret());
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request
            .form(form)
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let response = self.check(response).await?;
        response.json::<T>().await.map_err(|e| {
            if e.is_timeout() {
                StripeError::Timeout(self.timeout)
            } else {
                StripeError::BadResponse(format!("POST {path} answered JSON of another shape"))
            }
        })
    }

    /// `DELETE {base}{path}`; 404 counts as already deleted.
    pub async fn delete(&self, path: &str) -> Result<Deleted, StripeError> {
        let response = self
            .http
            .delete(format!("{}{path}", self.base))
            .bearer_auth(self.key.expose_secret())
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        if response.status() == StatusCode::NOT_FOUND {
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
        // Stripe masks keys in its messages; make sure nothing else ever echoes ours.
        let message = message.replace(self.key.expose_secret(), "***");
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            Err(StripeError::Unauthorized { status, message })
        } else {
            Err(StripeError::Rejected { status, message })
        }
    }
}

/// reqwest is built without its default crypto provider (aws-lc-rs, a C build and a second
/// crypto library next to the ring that sqlx already uses): rustls then needs a process-wide
/// provider before the first client is built. Installing twice is harmless (the first wins).
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
