//! `inject-stripe-secret`: get or create the namespace's webhook endpoint, then write its signing
//! secret into the target file in place of the placeholder.
//!
//! Order matters for "a failure leaves every file as it was": everything that can be checked
//! locally (target readable, placeholder present, store readable, key and URL configured) is
//! checked before Stripe is called, and nothing is written until Stripe has answered. The store
//! is written before the target: once Stripe has created an endpoint, forgetting it would make the
//! next run create a duplicate. The creation carries a deterministic `Idempotency-Key`, so even a
//! run that lost Stripe's answer (timeout, crash) gets the same endpoint back when retried within
//! Stripe's 24 hours. Both files end up mode 0600: each holds the secret.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use secrecy::{ExposeSecret, SecretString};

use crate::exit::{self, Failure};
use crate::files::{check_writable, write_atomic};
use crate::stripe::client::idempotency_key;
use crate::stripe::store::{Entry, Store};
use crate::stripe::{client_for, StripeArgs, WebhookUrlBase, EVENTS};

#[derive(Args, Debug)]
pub struct InjectArgs {
    #[command(flatten)]
    pub stripe: StripeArgs,
    /// The file whose placeholder is replaced by the webhook signing secret.
    #[arg(long)]
    pub target: PathBuf,
    /// The text in the target to replace.
    #[arg(long, default_value = "__WEBHOOK_SECRET_VALUE__")]
    pub placeholder: String,
    /// Host and path of the webhook, without scheme, e.g. backend.example.com/billing/webhook.
    /// Needed only when an endpoint has to be created.
    #[arg(long, env = "STRIPE_WEBHOOK_URL_BASE", value_parser = WebhookUrlBase::parse)]
    pub webhook_url_base: Option<WebhookUrlBase>,
}

const P: &str = "inject-stripe-secret";

/// `inject-stripe-secret`.
pub async fn run(args: &InjectArgs) -> Result<(), Failure> {
    let ns = &args.stripe.ns.namespace;
    let target = read_target(&args.target, &args.placeholder)?;
    let mut store = Store::load(&args.stripe.store).map_err(anyhow::Error::new)?;

    let secret: SecretString = match store.entries.get(ns) {
        Some(entry) => {
            eprintln!(
                "{P}: namespace {ns}: reusing webhook endpoint {} ({}) from {}",
                entry.endpoint_id,
                entry.url,
                args.stripe.store.display()
            );
            SecretString::from(entry.secret.clone())
        }
        None => {
            let production = args.stripe.ns.is_production();
            let base = args.webhook_url_base.as_ref().ok_or_else(|| {
                Failure::new(
                    exit::USAGE,
                    anyhow::anyhow!(
                        "STRIPE_WEBHOOK_URL_BASE (--webhook-url-base) is not set; it is needed to \
                         create the webhook endpoint for namespace {ns}"
                    ),
                )
            })?;
            let url = base.url_for(ns, production)?;
            let client = client_for(&args.stripe)?;
            // An endpoint created but not recorded would be duplicated by the next run.
            check_writable(&args.stripe.store).map_err(|e| {
                anyhow::Error::new(e)
                    .context("cannot record a new webhook endpoint; Stripe was not called")
            })?;
            check_writable(&args.target).map_err(|e| {
                anyhow::Error::new(e).context("cannot replace the target; Stripe was not called")
            })?;
            let endpoint = client
                .create_webhook_endpoint(&url, &EVENTS, &idempotency_key(ns, &url, &EVENTS))
                .await
                .map_err(|e| {
                    anyhow::Error::new(e).context(format!(
                        "cannot create the webhook endpoint for namespace {ns} (key {}); no file was changed",
                        client.key_name()
                    ))
                })?;
            eprintln!(
                "{P}: namespace {ns}: created webhook endpoint {} for {} (key {})",
                endpoint.id,
                endpoint.url,
                client.key_name()
            );
            store.entries.insert(
                ns.clone(),
                Entry {
                    endpoint_id: endpoint.id.clone(),
                    secret: endpoint.secret.expose_secret().to_string(),
                    url: endpoint.url,
                },
            );
            store.save(&args.stripe.store).map_err(|e| {
                anyhow::Error::new(e).context(format!(
                    "Stripe endpoint {} was created but could not be recorded; delete it in the \
                     Stripe dashboard before re-running",
                    endpoint.id
                ))
            })?;
            eprintln!(
                "{P}: saved endpoint {} to {} (mode 0600)",
                endpoint.id,
                args.stripe.store.display()
            );
            endpoint.secret
        }
    };

    let count = target.text.matches(args.placeholder.as_str()).count();
    let injected = target
        .text
        .replace(args.placeholder.as_str(), secret.expose_secret());
    write_atomic(&args.target, injected.as_bytes(), TARGET_MODE)
        .context("cannot write the webhook secret into the target")?;
    eprintln!(
        "{P}: wrote the webhook secret into {} ({count} occurrence(s) of {}; mode 0600)",
        args.target.display(),
        args.placeholder
    );
    Ok(())
}

/// The target holds the signing secret once written: owner-only, like the store.
const TARGET_MODE: u32 = 0o600;

struct Target {
    text: String,
}

/// Reads the target and checks it has the placeholder, before anything else happens.
fn read_target(path: &Path, placeholder: &str) -> Result<Target, Failure> {
    if placeholder.is_empty() {
        return Err(Failure::new(
            exit::USAGE,
            anyhow::anyhow!("--placeholder must not be empty"),
        ));
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the target {}", path.display()))?;
    if !text.contains(placeholder) {
        return Err(anyhow::anyhow!(
            "the target {} does not contain the placeholder {placeholder} (already injected, or the wrong file?); \
             nothing was created or written",
            path.display()
        )
        .into());
    }
    Ok(Target { text })
}
