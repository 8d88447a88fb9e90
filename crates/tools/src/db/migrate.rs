//! `db-migrate`: apply the backend's embedded migrations ([`backend::MIGRATOR`]).
//!
//! sqlx's migrator already serialises concurrent runs with a PostgreSQL advisory lock. This module
//! takes the same (re-entrant, session-level) lock around it as well, so that the list of
//! migrations "applied by this run" is exact even when two Jobs race, and it maps sqlx's errors
//! onto the distinct exit codes an operator acts on.
//!
//! Run in the production namespace (`NAMESPACE` = `PRODUCTION_NAMESPACE`), it also marks the
//! database as production ([`production_mark`]) once the migrations are in. Given
//! `--app-user`/`--app-password` it then sets up the backend's application role
//! ([`app_role`]). Both steps (and `--seed`) run while the migration lock is still held, so a
//! concurrent run starts only once this one has finished all of it.

use std::collections::HashSet;

use backend::db::is_unavailable;
use clap::Args;
use sqlx::migrate::{Migrate, MigrateError};
use sqlx::PgConnection;

use crate::db::app_role::{self, AppRole, AppRoleArgs};
use crate::db::{
    connect_once, production_mark, seed, with_retries, Attempt, DatabaseArgs, DatabaseUrl,
    RetryArgs,
};
use crate::exit::{self, Failure};
use crate::namespace::OptionalNamespaceArgs;

#[derive(Args, Debug)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub retry: RetryArgs,
    #[command(flatten)]
    pub ns: OptionalNamespaceArgs,
    #[command(flatten)]
    pub app: AppRoleArgs,
    /// Also add the demo data (user demo@example.com / demo-password, accounts, transactions);
    /// idempotent: a second run adds nothing.
    #[arg(long)]
    pub seed: bool,
}

/// Why migrating failed, in the words an operator needs.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error(
        "the database has migration {0} applied, which this binary does not know: \
         the schema is newer than this tools image; run the tools image that matches the backend"
    )]
    UnknownMigration(i64),
    #[error(
        "migration {0} applied in the database differs from the one embedded in this binary \
         (checksum mismatch); run the tools image that matches the backend"
    )]
    ModifiedMigration(i64),
    #[error("migration {version} ({description}) failed; its changes were rolled back")]
    Failed {
        version: i64,
        description: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("migration {0} is marked as partially applied; repair it by hand")]
    Dirty(i64),
    #[error("migrating failed")]
    Other(#[source] MigrateError),
}

impl MigrationError {
    pub fn exit_code(&self) -> u8 {
        match self {
            MigrationError::UnknownMigration(_) | MigrationError::ModifiedMigration(_) => {
                exit::UNKNOWN_MIGRATIONS
            }
            _ => exit::MIGRATION_FAILED,
        }
    }
}

impl From<MigrationError> for Failure {
    fn from(err: MigrationError) -> Failure {
        Failure::new(err.exit_code(), err)
    }
}

fn classify(err: MigrateError) -> MigrationError {
    match err {
        MigrateError::VersionMissing(v) => MigrationError::UnknownMigration(v),
        MigrateError::VersionMismatch(v) => MigrationError::ModifiedMigration(v),
        MigrateError::ExecuteMigration(source, version) => MigrationError::Failed {
            version,
            description: backend::MIGRATOR
                .iter()
                .find(|m| m.version == version)
                .map(|m| m.description.to_string())
                .unwrap_or_default(),
            source,
        },
        MigrateError::Dirty(v) => MigrationError::Dirty(v),
        other => MigrationError::Other(other),
    }
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Versions applied by this run, oldest first.
    pub applied: Vec<i64>,
    /// The newest version embedded in this binary (the schema's version once migrated, and the
    /// one the backend's readiness waits for).
    pub latest: Option<i64>,
}

fn up_migrations() -> impl Iterator<Item = &'static sqlx::migrate::Migration> {
    backend::MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
}

/// Applies the pending migrations on `conn`, taking the migration lock, which stays held on
/// success until the caller unlocks (or closes the connection): what follows the migrations (the
/// production mark, the application role, the seed) runs under it too. On error the caller drops
/// the connection, which releases the lock.
pub async fn apply(conn: &mut PgConnection) -> Result<Outcome, MigrateError> {
    conn.lock().await?;
    apply_locked(conn).await
}

async fn apply_locked(conn: &mut PgConnection) -> Result<Outcome, MigrateError> {
    let table = &backend::MIGRATOR.table_name;
    conn.ensure_migrations_table(table).await?;
    let before: HashSet<i64> = conn
        .list_applied_migrations(table)
        .await?
        .into_iter()
        .map(|m| m.version)
        .collect();
    backend::MIGRATOR.run(&mut *conn).await?;
    Ok(Outcome {
        applied: up_migrations()
            .map(|m| m.version)
            .filter(|v| !before.contains(v))
            .collect(),
        latest: backend::schema::built_for().map(|m| m.version),
    })
}

/// `db-migrate`.
pub async fn run(args: &MigrateArgs) -> Result<(), Failure> {
    let role = args.app.role()?;
    migrate_and_seed(
        "db-migrate",
        &args.db.database_url,
        &args.retry,
        args.ns.production(),
        role.as_ref(),
        args.seed,
    )
    .await
}

/// Connects (with retries), migrates, marks the database as production when `production_namespace`
/// is given, sets up the application role when given, and optionally seeds: shared with
/// `db-reset`.
pub async fn migrate_and_seed(
    prefix: &str,
    url: &DatabaseUrl,
    retry: &RetryArgs,
    production_namespace: Option<&str>,
    app_role: Option<&AppRole>,
    with_seed: bool,
) -> Result<(), Failure> {
    eprintln!(
        "{prefix}: migrating {url} ({} migration(s) embedded)",
        up_migrations().count()
    );
    let (outcome, mut conn) = with_retries(prefix, url, retry, || async move {
        let mut conn = connect_once(url, retry).await?;
        match apply(&mut conn).await {
            Ok(outcome) => Ok((outcome, conn)),
            // The server went away mid-run (a restart while it came up): each migration runs in
            // its own transaction, so trying again is safe.
            Err(MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _))
                if is_unavailable(&e) =>
            {
                Err(Attempt::Retry(
                    anyhow::Error::new(e).context("connection lost while migrating"),
                ))
            }
            Err(e) => Err(Attempt::Stop(classify(e).into())),
        }
    })
    .await?;
    let version = outcome
        .latest
        .map(|v| v.to_string())
        .unwrap_or_else(|| "none".into());
    if outcome.applied.is_empty() {
        eprintln!("{prefix}: database already up to date (schema version {version})");
    } else {
        let list: Vec<String> = outcome.applied.iter().map(i64::to_string).collect();
        eprintln!(
            "{prefix}: applied {} migration(s): {}; schema version {version}",
            outcome.applied.len(),
            list.join(", ")
        );
    }
    if let Some(namespace) = production_namespace {
        production_mark::mark(&mut conn, namespace)
            .await
            .map_err(|e| {
                Failure::new(
                    exit::FAILURE,
                    anyhow::Error::new(e).context("cannot mark the database as production"),
                )
            })?;
        eprintln!(
            "{prefix}: marked database {} as production (NAMESPACE '{namespace}'); \
             db-reset refuses it from now on",
            url.database()
        );
    }
    if let Some(role) = app_role {
        app_role::apply(prefix, &mut conn, role).await?;
    }
    if with_seed {
        let added = seed::seed(&mut conn)
            .await
            .map_err(|e| Failure::new(exit::FAILURE, e))?;
        eprintln!("{prefix}: {added}");
    }
    // Closing releases the migration lock too; unlocking first says so explicitly.
    let _ = conn.unlock().await;
    use sqlx::Connection;
    let _ = conn.close().await;
    Ok(())
}
