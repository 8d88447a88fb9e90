//! The command line: one documented subcommand per job. Doc comments here are the `--help` text,
//! so they are written for the operator reading it, not for the code reader.
//!
//! This module only assembles the command list: each subcommand's arguments live next to the
//! `run` that uses them (`db::migrate::MigrateArgs`, `wait_for::WaitForArgs`, ...).
//!
//! Every setting is a flag that also reads an env var; secrets (`DATABASE_URL`, Stripe keys) are
//! declared with `hide_env_values = true` so neither `--help` nor an error line ever shows them.

use clap::{Parser, Subcommand};
use service_runtime::healthcheck::HealthcheckArgs;

use crate::backup::create::BackupArgs;
use crate::backup::restore::RestoreArgs;
use crate::db::migrate::MigrateArgs;
use crate::db::reset::ResetArgs;
use crate::exit;
use crate::stripe;
use crate::stripe::delete::DeleteArgs;
use crate::stripe::inject::InjectArgs;
use crate::wait_for::WaitForArgs;

/// Operational commands for the prod images: database migrations and resets, the Stripe webhook
/// secret, health probes and start-up ordering.
///
/// It is the ENTRYPOINT of the `tools` image, which has no shell: Kubernetes runs it with
/// `args: ["db-migrate"]`, compose with `command: ["db-migrate", "--seed"]`. Progress is printed to
/// stderr, one line per step; secrets (passwords, API keys, webhook secrets) are never printed.
#[derive(Parser, Debug)]
#[command(name = "tools", version, after_help = exit::help())]
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
    /// the later ones find nothing to do. With NAMESPACE equal to PRODUCTION_NAMESPACE it also
    /// marks the database as production (table public.tools_production_mark), which db-reset then
    /// refuses whatever NAMESPACE says. With APP_DATABASE_USER and APP_DATABASE_PASSWORD it then
    /// creates that login role (or sets its password) and grants it SELECT/INSERT/UPDATE/DELETE
    /// on the tables and nothing else: the role the backend connects as. Exits 3 when the
    /// database stays unreachable, 4 when a migration fails, 5 when the database has migrations
    /// this binary does not know.
    #[command(after_help = exit::help())]
    DbMigrate(MigrateArgs),

    /// Drop and recreate the database, migrate it, and optionally seed it (development resets).
    ///
    /// Terminates every other session on the database first, so running backends do not block it.
    /// Refuses (exit 6, nothing dropped) when NAMESPACE equals PRODUCTION_NAMESPACE, and when the
    /// database is marked as production (db-migrate ran there in the production namespace) whatever
    /// NAMESPACE says, unless --i-understand-this-destroys-production-data is given.
    #[command(after_help = exit::help())]
    DbReset(ResetArgs),

    /// Dump the database (pg_dump, custom format), encrypt it with age, and upload it to BACKUP_TO.
    ///
    /// The dump is streamed (memory stays flat whatever the database size) as a multipart upload
    /// of <database>-<UTC time>.dump.age; its manifest (size, SHA-256, server and tools versions)
    /// is written next to it only once the upload is complete, then latest.json (a copy of the
    /// newest manifest, for monitoring). A failed dump or upload aborts the upload and leaves no
    /// manifest. --keep-days / --keep-last then delete older backups of the same database.
    /// pg_dump comes from PG_DUMP or PATH and must be at least the server's major version.
    #[command(after_help = exit::help())]
    DbBackup(BackupArgs),

    /// Restore a backup made by db-backup into DATABASE_URL (an empty database unless --clean).
    ///
    /// --from is a backup object, or a prefix ending in / for its newest complete backup. The
    /// object's size and SHA-256 are checked against its manifest and the age header is opened
    /// with the identity file before pg_restore starts; pg_restore runs in a single transaction,
    /// so a failure leaves the database as it was. Refuses (exit 6) a database marked as
    /// production unless --i-understand-this-destroys-production-data is given, and (exit 8) one
    /// that has tables unless --clean. Prints the restored tables and their row counts.
    #[command(after_help = exit::help())]
    DbRestore(RestoreArgs),

    /// Get or create this namespace's Stripe webhook endpoint and write its signing secret into a file.
    ///
    /// The secret is looked up in the store file (JSON: namespace -> {endpoint_id, secret, url});
    /// if absent, a webhook endpoint is created with `POST /v1/webhook_endpoints` for the events
    /// the backend handles (listed below), at `https://BASE` with the live key for the production
    /// namespace and at `https://NAMESPACE.BASE` with the test key otherwise, and saved to the
    /// store. Then every occurrence of the placeholder in the target file is replaced by the secret.
    /// The target is checked for the placeholder before Stripe is called. The creation is sent
    /// with an Idempotency-Key derived from the namespace and the URL, so a retried run gets the
    /// same endpoint back. Both files are written atomically with mode 0600; when Stripe or a check
    /// fails, no file changes. The secret is never printed.
    #[command(after_help = stripe::events_help())]
    InjectStripeSecret(InjectArgs),

    /// Manage the namespaces' Stripe webhook endpoints recorded in the store file.
    StripeWebhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },

    /// GET a URL: exit 0 on a 2xx/3xx answer, 1 otherwise (exec-form HEALTHCHECK without curl).
    Healthcheck(HealthcheckArgs),

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
