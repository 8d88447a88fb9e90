//! The application role: the PostgreSQL login the backend connects as, which may read and write
//! rows and nothing else (no DDL, no `TRUNCATE`, no writing the migration history, no reading the
//! production mark).
//!
//! The schema owner (the role `tools db-migrate` runs as) creates it and re-applies its grants on
//! every run ([`apply`]); the backend's tests set up their role with the same function, so the
//! whole API suite runs with exactly the privileges production has. It lives here rather than in
//! `tools` because both need it and `tools` already depends on the backend.
//!
//! Everything happens in one transaction. Roles are cluster-wide while the migrators' advisory
//! locks are per database, so two databases of one cluster migrating at once can meet here: a
//! `CREATE ROLE` that loses the race (duplicate_object / unique_violation) is rolled back to its
//! savepoint and counts as "exists", and `COMMENT ON ROLE`, which takes a lock on the role itself,
//! queues the rest (two `ALTER ROLE`s of one role at once would fail with "tuple concurrently
//! updated"). The password never appears in a statement's text (what server logs,
//! `pg_stat_activity` and sqlx's slow-statement log show): it is bound as a parameter into a
//! transaction-local setting and quoted by the server (`format('%L')`) inside a `DO` block.

use secrecy::{ExposeSecret, SecretString};
use sqlx::{Connection, PgConnection};

/// SQLSTATE 42710 (duplicate_object) and 23505 (unique_violation): `CREATE ROLE` lost a race to
/// a concurrent creator, or the role exists already.
const ROLE_EXISTS: [&str; 2] = ["42710", "23505"];

/// Attributes the application role must not have.
const FORBIDDEN_ATTRIBUTES: [&str; 5] = [
    "SUPERUSER",
    "CREATEDB",
    "CREATEROLE",
    "BYPASSRLS",
    "REPLICATION",
];

/// The table `tools` marks production databases with (no privilege for the application role).
const PRODUCTION_MARK: &str = "public.tools_production_mark";
/// sqlx's migration history: the schema gate reads it, nothing but the migrator writes it.
const MIGRATIONS: &str = "public._sqlx_migrations";

/// Why the role could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AppRoleError {
    #[error("application role name {0:?}: must match [a-z_][a-z0-9_]{{0,62}}")]
    InvalidName(String),
    #[error(
        "the application role must not be the role migrating ({0}): the backend would own the schema"
    )]
    IsMigratingRole(String),
    #[error(
        "role {role} exists with {attributes}: the application role may only read and write rows; \
         remove the attribute (or membership) by hand or choose another name"
    )]
    TooPowerful { role: String, attributes: String },
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// What [`apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Whether this run created the role (else it existed and got the new password).
    pub created: bool,
    /// Tables in `public` the role may now insert into (every one but the migration history and
    /// the production mark).
    pub dml_tables: i64,
}

/// Accepts a role name matching `[a-z_][a-z0-9_]{0,62}` (PostgreSQL's unquoted identifiers,
/// lower case, at most 63 bytes); a clap value parser.
pub fn parse_name(name: &str) -> Result<String, String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && name.len() <= 63 {
        Ok(name.to_string())
    } else {
        Err("must match [a-z_][a-z0-9_]{0,62} (a lower-case PostgreSQL role name)".into())
    }
}

/// Quotes an identifier (the names here are validated or come from the server).
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Creates the login role `name` with `password` (or sets the password of the existing one: the
/// new password works, the old one stops) and grants it DML on every table of `public` in the
/// current database, exactly: previous table and sequence grants are revoked first, the
/// migration history is read-only, the production mark out of reach, and `CREATE` on `public`
/// is revoked from `PUBLIC` (already so on PostgreSQL 15 and later). Idempotent; run it after
/// every migration so new tables are covered.
pub async fn apply(
    conn: &mut PgConnection,
    name: &str,
    password: &SecretString,
) -> Result<Applied, AppRoleError> {
    let name = parse_name(name).map_err(|_| AppRoleError::InvalidName(name.to_string()))?;
    let role = quote_ident(&name);
    let mut tx = conn.begin().await?;
    let (me, database): (String, String) =
        sqlx::query_as("SELECT current_user::text, current_database()::text")
            .fetch_one(&mut *tx)
            .await?;
    if me == name {
        return Err(AppRoleError::IsMigratingRole(me));
    }
    // Read by the DO blocks below; transaction-local, so gone at commit.
    sqlx::query(
        "SELECT set_config('ledger.app_role', $1, true), \
                set_config('ledger.app_role_password', $2, true)",
    )
    .bind(&name)
    .bind(password.expose_secret())
    .execute(&mut *tx)
    .await?;

    let mut savepoint = tx.begin().await?;
    let created = match sqlx::raw_sql(
        "DO $$ BEGIN EXECUTE format(\
           'CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION \
            PASSWORD %L', \
           current_setting('ledger.app_role'), current_setting('ledger.app_role_password')); \
         END $$",
    )
    .execute(&mut *savepoint)
    .await
    {
        Ok(_) => {
            savepoint.commit().await?;
            true
        }
        Err(sqlx::Error::Database(e))
            if e.code().is_some_and(|c| ROLE_EXISTS.contains(&c.as_ref())) =>
        {
            savepoint.rollback().await?;
            false
        }
        Err(e) => return Err(e.into()),
    };
    // Takes a lock on the role that is held until commit: concurrent runs queue here.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "COMMENT ON ROLE {role} IS 'Application role: reads and writes rows only. Created and \
         granted by tools db-migrate; do not grant it anything by hand.'"
    )))
    .execute(&mut *tx)
    .await?;
    if !created {
        sqlx::raw_sql(
            "DO $$ BEGIN EXECUTE format('ALTER ROLE %I LOGIN PASSWORD %L', \
               current_setting('ledger.app_role'), current_setting('ledger.app_role_password')); \
             END $$",
        )
        .execute(&mut *tx)
        .await?;
    }
    let (flags, member): (Vec<bool>, bool) = sqlx::query_as(
        "SELECT ARRAY[rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolreplication], \
                pg_has_role(rolname, current_user, 'MEMBER') \
         FROM pg_roles WHERE rolname = $1",
    )
    .bind(&name)
    .fetch_one(&mut *tx)
    .await?;
    let mut powers: Vec<String> = FORBIDDEN_ATTRIBUTES
        .iter()
        .zip(&flags)
        .filter(|(_, set)| **set)
        .map(|(attribute, _)| attribute.to_string())
        .collect();
    if member {
        powers.push(format!("membership in {me}"));
    }
    if !powers.is_empty() {
        return Err(AppRoleError::TooPowerful {
            role: name,
            attributes: powers.join(", "),
        });
    }

    let database = quote_ident(&database);
    let mut grants = vec![
        format!("GRANT CONNECT ON DATABASE {database} TO {role}"),
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC".to_string(),
        format!("GRANT USAGE ON SCHEMA public TO {role}"),
        format!("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"),
        format!("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}"),
        format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"),
    ];
    for (table, keep) in [(MIGRATIONS, Some("SELECT")), (PRODUCTION_MARK, None)] {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(table)
            .fetch_one(&mut *tx)
            .await?;
        if exists {
            grants.push(format!("REVOKE ALL ON {table} FROM {role}"));
            if let Some(privilege) = keep {
                grants.push(format!("GRANT {privilege} ON {table} TO {role}"));
            }
        }
    }
    // Every name above is quote_ident'ed or a constant.
    sqlx::raw_sql(sqlx::AssertSqlSafe(grants.join(";\n")))
        .execute(&mut *tx)
        .await?;
    let dml_tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') \
           AND has_table_privilege($1, c.oid, 'INSERT')",
    )
    .bind(&name)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Applied {
        created,
        dml_tables,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_plain_lower_case_identifiers() {
        for ok in ["ledger_app", "_x", "a", &"a".repeat(63), "app2"] {
            assert_eq!(parse_name(ok).as_deref(), Ok(ok), "{ok}");
        }
        for bad in [
            "",
            "Ledger",
            "2app",
            "app-role",
            "app\"; DROP TABLE users; --",
            "app role",
            &"a".repeat(64),
            "été",
        ] {
            assert!(parse_name(bad).is_err(), "{bad:?}");
        }
    }
}
