//! The command line: one documented subcommand per job. Doc comments here are the `--help` text,
//! so they are written for the operator reading it, not for the code reader.
//!
//! Every setting is a flag that also reads an env var; secrets (`DATABASE_URL`, Stripe keys) are
//! declared with `hide_env_values = true` so neither `--help` nor an error line ever shows them.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;
use service_runtime::config::parse_duration;

use crate::db::DatabaseUrl;
use crate::stripe::WebhookUrlBase;
use crate::wait_for::Target;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  other failure (Stripe, files, seeding, wait-for deadline, unhealthy)
  2  invalid command line or environment
  3  database unreachable (or connection refused) after all attempts
  4  a migration failed (its changes were rolled back)
  5  the database has migrations this binary does not know: run a newer tools image
  6  db-reset refused: the namespace is the production namespace";

/// Operational commands for the prod images: database migrations and resets, the Stripe webhook
/// secret, health probes and start-up ordering.
///
/// It is the ENTRYPOINT of the `tools` image, which has no shell: Kubernetes runs it with
/// `args: ["db-migrate"]`, compose with `command: ["db-migrate", "--seed"]`. Progress is printed to
/// stderr, one line per step; secrets (passwords, API keys, webhook secrets) are never printed.
#[derive(Parser, Debug)]
#[command(name = "tools", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Apply the backend's migrations (embedded in this binary), retrying while the database starts.
    ///
    /// Each attempt connects with a timeout; while the database is not reachable yet the attempt
    /// is reported and retried after a delay. Safe when several run at once (a Kubernetes Job
    /// retried while the first is still running): PostgreSQL's advisory lock serialises them and
    /// the later ones find nothing to do. Exits 3 when the database stays unreachable, 4 when a
    /// migration fails, 5 when the database has migrations this binary does not know.
    #[command(after_help = EXIT_CODES)]
    DbMigrate(MigrateArgs),

    /// Drop and recreate the database, migrate it, and optionally seed it (development resets).
    ///
    /// Terminates every other session on the database first, so running backends do not block it.
    /// Refuses (exit 6, nothing dropped) when NAMESPACE equals PRODUCTION_NAMESPACE, unless
    /// --i-understand-this-destroys-production-data is given.
    #[command(after_help = EXIT_CODES)]
    DbReset(ResetArgs),

    /// Get or create this namespace's Stripe webhook endpoint and write its signing secret into a file.
    ///
    /// The secret is looked up in the store file (JSON: namespace -> {endpoint_id, secret, url});
    /// if absent, a webhook endpoint is created with `POST /v1/webhook_endpoints` for the events
    /// checkout.session.completed, invoice.paid, invoice.payment_failed and
    /// customer.subscription.deleted, at `https://BASE` with the live key for the production
    /// namespace and at `https://NAMESPACE.BASE` with the test key otherwise, and saved to the
    /// store. Then every occurrence of the placeholder in the target file is replaced by the secret.
    /// The target is checked for the placeholder before Stripe is called. Both files are written
    /// atomically (store mode 0600, target keeps its mode); when Stripe or a check fails, no file
    /// changes. The secret is never printed.
    InjectStripeSecret(InjectArgs),

    /// Manage the namespaces' Stripe webhook endpoints recorded in the store file.
    StripeWebhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },

    /// GET a URL: exit 0 on a 2xx/3xx answer, 1 otherwise (exec-form HEALTHCHECK without curl).
    Healthcheck(service_runtime::healthcheck::HealthcheckArgs),

    /// Wait until TCP connections to every HOST:PORT succeed (init containers; no busybox needed).
    ///
    /// Each pending target is tried once per interval; progress is printed when a target becomes
    /// reachable or its reason changes. Exits 0 once all are reachable, 1 at the deadline naming
    /// those that were not.
    WaitFor(WaitForArgs),
}

#[derive(Subcommand, Debug)]
pub enum WebhookCommand {
    /// Delete the namespace's webhook endpoint at Stripe and remove it from the store.
    ///
    /// An endpoint Stripe no longer knows (404) counts as already deleted. Nothing stored for
    /// the namespace: nothing to do, exit 0.
    Delete(DeleteArgs),
}

/// Where the database is.
#[derive(Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// PostgreSQL URL, e.g. postgres://app:PASSWORD@database:5432/app (printed with the password masked).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_parser = DatabaseUrl::parse)]
    pub database_url: DatabaseUrl,
}

/// How long to keep trying while the database is not reachable yet.
#[derive(Args, Debug, Clone)]
pub struct RetryArgs {
    /// Connection attempts before giving up (exit 3).
    #[arg(long, env = "DB_CONNECT_ATTEMPTS", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub attempts: u32,
    /// Time limit for one connection attempt (e.g. 500ms, 5s).
    #[arg(long, env = "DB_ATTEMPT_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub attempt_timeout: Duration,
    /// Pause between attempts.
    #[arg(long, env = "DB_RETRY_DELAY", default_value = "2s", value_parser = parse_duration)]
    pub retry_delay: Duration,
}

#[derive(Args, Debug)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub retry: RetryArgs,
    /// Also add the demo data (user demo@example.com / demo-password, accounts, transactions);
    /// idempotent: a second run adds nothing.
    #[arg(long)]
    pub seed: bool,
}

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

#[derive(Args, Debug)]
pub struct ResetArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub retry: RetryArgs,
    #[command(flatten)]
    pub ns: NamespaceArgs,
    /// Add the demo data after migrating.
    #[arg(long)]
    pub seed: bool,
    /// Reset even though NAMESPACE is the production namespace. Deletes every customer's data.
    #[arg(long = "i-understand-this-destroys-production-data")]
    pub destroy_production: bool,
}

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

#[derive(Args, Debug)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub stripe: StripeArgs,
}

#[derive(Args, Debug)]
pub struct WaitForArgs {
    /// Targets as HOST:PORT (e.g. database:5432, [::1]:80).
    #[arg(required = true, num_args = 1.., value_parser = Target::parse)]
    pub targets: Vec<Target>,
    /// Give up (exit 1) after this long.
    #[arg(long, env = "WAIT_FOR_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Pause between rounds of connection attempts (also each attempt's time limit).
    #[arg(long, env = "WAIT_FOR_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,
}
