//! Which namespace a command acts for, and whether that is production: `db-reset` refuses
//! production, `db-migrate` marks the database it migrates there as production
//! ([`crate::db::production_mark`]), and the Stripe commands pick the live key and the bare
//! webhook URL for it.

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

/// The namespace for commands that run without one too (`db-migrate` in compose): it only decides
/// whether the database gets marked as production.
#[derive(Args, Debug, Clone)]
pub struct OptionalNamespaceArgs {
    /// The Kubernetes namespace (or environment name) this runs in; in the production namespace
    /// the migrated database is marked as production, which `db-reset` then refuses.
    #[arg(long, env = "NAMESPACE")]
    pub namespace: Option<String>,
    /// The namespace that is production.
    #[arg(long, env = "PRODUCTION_NAMESPACE", default_value = "production")]
    pub production_namespace: String,
}

impl OptionalNamespaceArgs {
    /// The namespace, when it is the production one.
    pub fn production(&self) -> Option<&str> {
        self.namespace
            .as_deref()
            .filter(|ns| *ns == self.production_namespace)
    }
}
