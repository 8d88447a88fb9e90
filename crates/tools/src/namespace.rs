//! Which namespace a command acts for, and whether that is production: `db-reset` refuses
//! production, and the Stripe commands pick the live key and the bare webhook URL for it.

use clap::Args;

/// The namespace this runs in, and which one is production.
#[derive(Args, Debug, Clone)]
pub struct NamespaceArgs {
    /// The Kubernetes namespace (or environment name) this command acts for.
    #[arg(long, env = "NAMESPACE")]
    pub namespace: String,
    /// The namespace that is production.
    #[arg(long, env = "PRODUCTION_NAMESPACE", default_value = "production")]
    pub production_namespace: String,
}

impl NamespaceArgs {
    pub fn is_production(&self) -> bool {
        self.namespace == self.production_namespace
    }
}
