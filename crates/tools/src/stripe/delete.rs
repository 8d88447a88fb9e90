//! `stripe-webhook delete`: remove a namespace's endpoint at Stripe, then from the store.
//!
//! Stripe first: if the call fails, the store still records the endpoint so a later run can
//! retry. A 404 means it is gone already, which is the goal, so the entry is removed.

use clap::Args;

use crate::exit::Failure;
use crate::stripe::client::Deleted;
use crate::stripe::store::Store;
use crate::stripe::{client_for, StripeArgs};

#[derive(Args, Debug)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub stripe: StripeArgs,
}

const P: &str = "stripe-webhook delete";

/// `stripe-webhook delete`.
pub async fn run(args: &DeleteArgs) -> Result<(), Failure> {
    let ns = &args.stripe.ns.namespace;
    let store_path = &args.stripe.store;
    let mut store = Store::load(store_path).map_err(anyhow::Error::new)?;
    let Some(entry) = store.entries.get(ns).cloned() else {
        eprintln!(
            "{P}: no webhook endpoint recorded for namespace {ns} in {}; nothing to delete",
            store_path.display()
        );
        return Ok(());
    };
    let client = client_for(&args.stripe)?;
    let outcome = client
        .delete_webhook_endpoint(&entry.endpoint_id)
        .await
        .map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "cannot delete webhook endpoint {} of namespace {ns} (key {}); the store was not changed",
                entry.endpoint_id,
                client.key_name()
            ))
        })?;
    match outcome {
        Deleted::Deleted => eprintln!(
            "{P}: namespace {ns}: deleted webhook endpoint {} ({})",
            entry.endpoint_id, entry.url
        ),
        Deleted::AlreadyGone => eprintln!(
            "{P}: namespace {ns}: webhook endpoint {} was already gone at Stripe",
            entry.endpoint_id
        ),
    }
    store.entries.remove(ns);
    store.save(store_path).map_err(anyhow::Error::new)?;
    eprintln!("{P}: removed namespace {ns} from {}", store_path.display());
    Ok(())
}
