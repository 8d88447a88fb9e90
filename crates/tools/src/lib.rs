//! `tools`: the operational commands that replace the npm scripts, so prod images need nothing but
//! this binary (no shell, no npm, no psql, no curl, no busybox).
//!
//! Output is for operators reading a Job's log: one line per step on stderr, prefixed with the
//! subcommand, and the failure as one `error: ...` line with its causes. Exit codes are listed in
//! [`exit`] and in `tools --help`.
//!
//! # Layout
//! - [`cli`]: the clap command list; its doc comments are the `--help` text. Each subcommand's
//!   arguments live next to its `run`.
//! - [`exit`]: exit codes, their `--help` text, and the [`exit::Failure`] that carries one.
//! - [`namespace`]: the namespace a command acts for, and whether it is production.
//! - [`db`]: `db-migrate` ([`db::migrate`]), `db-reset` ([`db::reset`]), demo data ([`db::seed`]),
//!   connecting with retries and the password-masking `DATABASE_URL`.
//! - [`backup`]: `db-backup` and `db-restore`: pg_dump streamed through age into an object store
//!   (`file://`, `s3://`), the manifest, retention, the verified restore.
//! - [`stripe`]: `inject-stripe-secret` and `stripe-webhook delete`: the Stripe client, the
//!   store file, the injection.
//! - [`tls`]: the process-wide rustls crypto provider the HTTP clients need.
//! - [`files`]: atomic file replacement (temp file + fsync + rename).
//! - [`wait_for`]: `wait-for HOST:PORT...`.
//!
//! `healthcheck URL` is the shared probe (and argument shape) from `service_runtime::healthcheck`.

pub mod backup;
pub mod cli;
pub mod db;
pub mod exit;
pub mod files;
pub mod namespace;
pub mod stripe;
pub mod tls;
pub mod wait_for;

use std::process::ExitCode;

use cli::{Cli, Command, WebhookCommand};
use exit::Failure;

/// Runs one subcommand to completion and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    if let Command::Healthcheck(args) = &cli.command {
        // Blocking and runtime-free on purpose: it runs every few seconds in every container.
        // No port of its own: the URL is required.
        return args.run(None);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Failure::from(anyhow::Error::new(e).context("cannot start")).report(),
    };
    match runtime.block_on(dispatch(&cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

async fn dispatch(command: &Command) -> Result<(), Failure> {
    match command {
        Command::DbMigrate(args) => db::migrate::run(args).await,
        Command::DbReset(args) => db::reset::run(args).await,
        Command::DbBackup(args) => backup::create::run(args).await,
        Command::DbRestore(args) => backup::restore::run(args).await,
        Command::InjectStripeSecret(args) => stripe::inject::run(args).await,
        Command::StripeWebhook {
            command: WebhookCommand::Delete(args),
        } => stripe::delete::run(args).await,
        Command::WaitFor(args) => wait_for::run(args).await,
        Command::Healthcheck(_) => {
            unreachable!("healthcheck is answered in run(), without a runtime")
        }
    }
}
