//! Stripe webhook endpoints per namespace: `inject-stripe-secret` ([`inject`]) and
//! `stripe-webhook delete` ([`delete`]).
//!
//! Every namespace (a branch deployment, staging, production) gets its own endpoint, so each
//! backend verifies events with its own signing secret. The store file remembers which endpoint
//! belongs to which namespace; without it every deploy would create another endpoint.
//!
//! # Layout
//! - [`client`]: the two Stripe API calls, with errors reduced to one line each.
//! - [`store`]: the JSON store file (namespace -> endpoint id, secret, url), written mode 0600.
//! - [`inject`]: get-or-create + placeholder replacement.
//! - [`delete`]: remove a namespace's endpoint when its branch is gone.

pub mod client;
pub mod delete;
pub mod inject;
pub mod store;

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use secrecy::SecretString;
use service_runtime::config::parse_duration;

use crate::exit::{self, Failure};
use crate::namespace::NamespaceArgs;

/// Talking to Stripe.
#[derive(Args, Debug, Clone)]
pub struct StripeArgs {
    #[command(flatten)]
    pub ns: NamespaceArgs,
    /// The JSON file mapping namespace -> {endpoint_id, secret, url}; created (mode 0600) if absent.
    #[arg(long)]
    pub store: PathBuf,
    /// Stripe test-mode secret key (sk_test_...), used for every namespace but production.
    #[arg(long, env = "STRIPE_API_KEY_TEST", hide_env_values = true)]
    pub stripe_api_key_test: Option<SecretString>,
    /// Stripe live-mode secret key (sk_live_...), used for the production namespace only.
    #[arg(long, env = "STRIPE_API_KEY_PROD", hide_env_values = true)]
    pub stripe_api_key_prod: Option<SecretString>,
    /// Stripe API base URL (tests point it at a local server).
    #[arg(
        long,
        env = "STRIPE_API_BASE",
        default_value = "https://api.stripe.com"
    )]
    pub stripe_api_base: reqwest::Url,
    /// Time limit for each Stripe request.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// The events the endpoint is subscribed to: exactly those the backend's webhook acts on.
pub use backend::billing::EVENTS;

/// The `--help` line naming them (`inject-stripe-secret --help`).
pub fn events_help() -> String {
    format!("Webhook events: {}", EVENTS.join(", "))
}

/// `STRIPE_WEBHOOK_URL_BASE`: host and path of the webhook without a scheme,
/// e.g. `backend.example.com/billing/webhook`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrlBase(String);

impl WebhookUrlBase {
    pub fn parse(input: &str) -> Result<WebhookUrlBase, String> {
        let s = input.trim().trim_end_matches('/');
        if s.contains("://") {
            return Err(format!(
                "'{input}' has a scheme; give host and path only (e.g. backend.example.com/billing/webhook): \
                 https:// is added, with the namespace as a subdomain outside production"
            ));
        }
        if s.is_empty() || s.starts_with('/') || s.starts_with('.') {
            return Err(format!(
                "'{input}' is not host/path (e.g. backend.example.com/billing/webhook)"
            ));
        }
        reqwest::Url::parse(&format!("https://{s}"))
            .map_err(|e| format!("'{input}' does not make a valid URL: {e}"))?;
        Ok(WebhookUrlBase(s.to_string()))
    }

    /// `https://BASE` for production, `https://NAMESPACE.BASE` otherwise.
    pub fn url_for(&self, namespace: &str, production: bool) -> Result<String, Failure> {
        let url = if production {
            format!("https://{}", self.0)
        } else {
            format!("https://{namespace}.{}", self.0)
        };
        reqwest::Url::parse(&url).map_err(|e| {
            Failure::new(
                exit::USAGE,
                anyhow::anyhow!(
                    "namespace '{namespace}' does not make a valid webhook URL ({url}): {e}"
                ),
            )
        })?;
        Ok(url)
    }
}

/// A Stripe client for the namespace: its key (see [`api_key`]), the API base and the timeout.
pub fn client_for(args: &StripeArgs) -> Result<client::StripeClient, Failure> {
    let (key, key_name) = api_key(args)?;
    client::StripeClient::new(&args.stripe_api_base, key, key_name, args.timeout)
        .map_err(|e| anyhow::Error::new(e).into())
}

/// The API key for the namespace: live key for production, test key otherwise.
/// Returns the key and the name of the env var it came from (for error messages).
pub fn api_key(args: &StripeArgs) -> Result<(SecretString, &'static str), Failure> {
    let (key, name) = if args.ns.is_production() {
        (&args.stripe_api_key_prod, "STRIPE_API_KEY_PROD")
    } else {
        (&args.stripe_api_key_test, "STRIPE_API_KEY_TEST")
    };
    let which = if args.ns.is_production() {
        "the production namespace"
    } else {
        "non-production namespaces"
    };
    use secrecy::ExposeSecret;
    match key {
        Some(k) if !k.expose_secret().trim().is_empty() => Ok((k.clone(), name)),
        _ => Err(Failure::new(
            exit::USAGE,
            anyhow::anyhow!(
                "{name} (--{}) is not set; it is the Stripe key used for {which}",
                name.to_lowercase().replace('_', "-")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls() {
        let base = WebhookUrlBase::parse("backend.example.com/billing/webhook").expect("base");
        assert_eq!(
            base.url_for("production", true).ok(),
            Some("https://backend.example.com/billing/webhook".to_string())
        );
        assert_eq!(
            base.url_for("feature-x", false).ok(),
            Some("https://feature-x.backend.example.com/billing/webhook".to_string())
        );
        assert!(WebhookUrlBase::parse("https://backend.example.com").is_err());
        assert!(WebhookUrlBase::parse("").is_err());
        assert!(base.url_for("bad ns", false).is_err());
    }
}
