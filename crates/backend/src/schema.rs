//! The schema this backend was built for, and the start-up gate that waits for it.
//!
//! The backend never migrates (the migration Job runs `tools db-migrate`, which applies the same
//! embedded [`crate::MIGRATOR`]). During a rollout the new pods may start before that Job has
//! finished, or while it is failing: they must not take traffic with a schema they were not
//! built for. So at start [`wait_until_migrated`] polls the database's `_sqlx_migrations`, with
//! backoff, until it lists the newest embedded migration ([`built_for`]); until then `/healthz`
//! answers 503 (the [`Readiness`] gate) and every API route answers 503 `schema_not_ready`.
//! Once seen, the gate stays open: later database outages are the pool's business (503
//! `database_unavailable`, `/healthz` still 200), not readiness.
//!
//! A database with migrations newer than the build (a rollback of the image, with the schema
//! kept: migrations are forward-only) is accepted with a warning; that is only safe because
//! migrations are written expand/contract (docs/runbook-releases.md).

use std::time::Duration;

use service_runtime::Readiness;
use sqlx::migrate::Migration;
use sqlx::PgPool;

/// Pause before the second check; it doubles up to [`MAX_POLL_INTERVAL`].
const FIRST_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Longest pause between two checks while waiting (a migration Job finishing is seen this fast).
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Where sqlx records applied migrations ([`crate::MIGRATOR`] keeps sqlx's default; a unit test
/// holds the two together).
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// The newest (up) migration embedded in this build: the schema it was built for.
pub fn built_for() -> Option<&'static Migration> {
    crate::MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .max_by_key(|m| m.version)
}

/// What one look at `_sqlx_migrations` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The expected migration is applied; `newest` is the newest applied one (may be newer).
    Ready { newest: i64 },
    /// Not yet: `newest` applied so far (`None`: no migration table or nothing applied).
    Behind { newest: Option<i64> },
    /// The database could not be asked.
    Failed(String),
}

impl Check {
    /// Whether two checks would be logged the same way (log once per kind of wait, not per poll).
    fn same_wait(&self, other: &Check) -> bool {
        match (self, other) {
            (Check::Behind { newest: a }, Check::Behind { newest: b }) => a == b,
            (Check::Failed(_), Check::Failed(_)) => true,
            _ => false,
        }
    }
}

/// Looks once: which successful migrations does the database list?
pub async fn check(pool: &PgPool, expected: i64) -> Check {
    match applied(pool, expected).await {
        Ok((true, newest)) => Check::Ready {
            newest: newest.unwrap_or(expected),
        },
        Ok((false, newest)) => Check::Behind { newest },
        Err(e) => Check::Failed(service_runtime::config::chain(&anyhow::Error::new(e))),
    }
}

/// (expected applied?, newest applied). The table does not exist before the first migration:
/// `to_regclass` asks without an error (no ERROR line per poll in the database log).
async fn applied(pool: &PgPool, expected: i64) -> Result<(bool, Option<i64>), sqlx::Error> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(MIGRATIONS_TABLE)
        .fetch_one(pool)
        .await?;
    if !exists {
        return Ok((false, None));
    }
    sqlx::query_as(
        "SELECT coalesce(bool_or(version = $1), false), max(version) \
         FROM _sqlx_migrations WHERE success",
    )
    .bind(expected)
    .fetch_one(pool)
    .await
}

/// Polls until the database has the schema this build expects, then opens `gate`. Logs what it
/// waits for once (and again only when that changes), the moment it is ready, and a warning when
/// the schema is newer than the build. Returns when the gate is open.
pub async fn wait_until_migrated(pool: PgPool, gate: Readiness) {
    let Some(expected) = built_for() else {
        gate.open();
        return;
    };
    let version = expected.version;
    let description = expected.description.as_ref();
    let mut pause = FIRST_POLL_INTERVAL;
    let mut last: Option<Check> = None;
    loop {
        let now = check(&pool, version).await;
        match &now {
            Check::Ready { newest } => {
                if *newest > version {
                    tracing::warn!(
                        expected = version,
                        database = *newest,
                        "the database schema is newer than this backend was built for \
                         (a rolled-back release?); serving: migrations are expand/contract, so \
                         the older code still fits"
                    );
                }
                tracing::info!(
                    schema_version = version,
                    "database schema has migration {version} ({description}); ready"
                );
                gate.open();
                return;
            }
            _ if last.as_ref().is_some_and(|l| l.same_wait(&now)) => {}
            Check::Behind { newest } => tracing::info!(
                expected = version,
                database = ?newest,
                "waiting for the database schema: migration {version} ({description}) is not \
                 applied yet; /healthz and the API answer 503 until the migration Job \
                 (`tools db-migrate`) has applied it"
            ),
            Check::Failed(error) => tracing::warn!(
                expected = version,
                error = %error,
                "waiting for the database schema: cannot read {MIGRATIONS_TABLE}; retrying"
            ),
        }
        last = Some(now);
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_POLL_INTERVAL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_for_is_the_newest_embedded_migration() {
        let newest = built_for().expect("migrations are embedded");
        assert!(crate::MIGRATOR.iter().all(|m| m.version <= newest.version));
    }

    #[test]
    fn the_table_read_is_the_one_the_migrator_writes() {
        assert_eq!(crate::MIGRATOR.table_name, MIGRATIONS_TABLE);
    }

    #[test]
    fn waits_are_logged_once_per_kind() {
        let behind = Check::Behind { newest: None };
        assert!(behind.same_wait(&Check::Behind { newest: None }));
        assert!(!behind.same_wait(&Check::Behind { newest: Some(1) }));
        assert!(Check::Failed("a".into()).same_wait(&Check::Failed("b".into())));
        assert!(!behind.same_wait(&Check::Failed("a".into())));
    }
}
