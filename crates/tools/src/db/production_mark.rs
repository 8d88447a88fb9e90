//! The database's own record that it is production, so destructive commands stop there whatever
//! the environment they run in claims.
//!
//! `db-migrate` run with `NAMESPACE` equal to `PRODUCTION_NAMESPACE` writes one row into
//! [`TABLE`]; `db-reset` (and `db-restore`) refuse a database that has it, even when run with
//! `NAMESPACE=dev` against a port-forwarded production `DATABASE_URL` — the mistake a comparison
//! of two environment variables cannot catch.
//!
//! Why a table and not `COMMENT ON DATABASE`: `pg_dump` writes database comments only with
//! `--create`, so a plain dump/restore would lose the mark, whereas an ordinary table travels with
//! every dump. A restored copy of production therefore still says production; resetting it takes
//! the same explicit flag as production itself (a copy of customers' data deserves that). The
//! table lives in `public` (dumps limited to that schema keep it too), is owned by the migrating
//! role, and the application role gets no privilege on it, so the backend can neither read nor
//! remove the mark. Nothing ever removes it automatically: dropping the database (the explicit
//! reset) is the only way it goes.

use sqlx::{Connection, PgConnection};

/// The table holding the mark (schema-qualified: the check must not depend on `search_path`).
pub const TABLE: &str = "public.tools_production_mark";

/// What the mark says: which namespace migrated the database as production, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductionMark {
    pub namespace: String,
    /// `marked_at` as PostgreSQL prints a `timestamptz` (for messages only).
    pub marked_at: String,
}

/// SQLSTATE 42P01 (undefined_table) and 3F000 (invalid_schema_name): no mark table, no mark.
const NO_TABLE: [&str; 2] = ["42P01", "3F000"];

/// The database's mark, if it has one. A database without the table is not marked.
///
/// One statement, so it works on a pool or a single connection alike; inside a transaction a
/// missing table aborts that transaction, so call it outside one.
pub async fn read<'c, E>(executor: E) -> Result<Option<ProductionMark>, sqlx::Error>
where
    E: sqlx::PgExecutor<'c>,
{
    let row: Result<Option<(String, String)>, sqlx::Error> = sqlx::query_as(sqlx::AssertSqlSafe(
        format!("SELECT namespace, marked_at::text FROM {TABLE} LIMIT 1"),
    ))
    .fetch_optional(executor)
    .await;
    match row {
        Ok(row) => Ok(row.map(|(namespace, marked_at)| ProductionMark {
            namespace,
            marked_at,
        })),
        Err(sqlx::Error::Database(e))
            if e.code().is_some_and(|c| NO_TABLE.contains(&c.as_ref())) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Whether the database says it is production: what `db-reset` and `db-restore` check before
/// touching it. Works on a pool (`is_marked(&pool)`) or one connection (`is_marked(&mut *conn)`).
pub async fn is_marked<'c, E>(executor: E) -> Result<bool, sqlx::Error>
where
    E: sqlx::PgExecutor<'c>,
{
    Ok(read(executor).await?.is_some())
}

/// Records that the database is production (idempotent; the first mark's namespace and time stay).
///
/// Safe when several migrators run at once: `CREATE TABLE IF NOT EXISTS` alone is not (two
/// creators can collide on the catalog), so the whole step runs in one transaction holding an
/// advisory lock of its own.
pub async fn mark(conn: &mut PgConnection, namespace: &str) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(TABLE)
        .execute(&mut *tx)
        .await?;
    // A single-row table: the boolean key can only be true.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE IF NOT EXISTS {TABLE} (\
            only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), \
            namespace text NOT NULL, \
            marked_at timestamptz NOT NULL DEFAULT now())"
    )))
    .execute(&mut *tx)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "COMMENT ON TABLE {TABLE} IS 'Written by tools db-migrate in the production namespace: \
         db-reset and db-restore refuse this database. Do not delete.'"
    )))
    .execute(&mut *tx)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {TABLE} (namespace) VALUES ($1) ON CONFLICT (only_row) DO NOTHING"
    )))
    .bind(namespace)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}
