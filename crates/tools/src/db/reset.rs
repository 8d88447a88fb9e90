//! `db-reset`: drop and recreate the database, then migrate (and optionally seed) it — what the
//! old reset script did with psql, without a shell.
//!
//! Two production guards, both before anything is dropped: `NAMESPACE` equal to
//! `PRODUCTION_NAMESPACE` is refused before anything connects, and a database that says it is
//! production ([`production_mark`], written by `db-migrate` in the production namespace) is
//! refused whatever `NAMESPACE` claims — a port-forwarded production `DATABASE_URL` used from a
//! dev shell stops here. `--i-understand-this-destroys-production-data` is the only way past
//! either. The drop runs from the server's maintenance database (`postgres`), after closing the target to new
//! connections and terminating the sessions already on it (running backends would otherwise make
//! `DROP DATABASE` fail with "being accessed by other users").

use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use sqlx::{ConnectOptions, Connection, PgConnection};

use crate::db::app_role::AppRoleArgs;
use crate::db::{
    connect, migrate, production_mark, quote_ident, DatabaseArgs, DatabaseUrl, RetryArgs,
};
use crate::exit::{self, Failure};
use crate::namespace::NamespaceArgs;

#[derive(Args, Debug)]
pub struct ResetArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub retry: RetryArgs,
    #[command(flatten)]
    pub ns: NamespaceArgs,
    #[command(flatten)]
    pub app: AppRoleArgs,
    /// Add the demo data after migrating.
    #[arg(long)]
    pub seed: bool,
    /// Reset even though NAMESPACE is the production namespace or the database is marked as
    /// production. Deletes every customer's data.
    #[arg(long = "i-understand-this-destroys-production-data")]
    pub destroy_production: bool,
}

/// Databases a reset must never drop: the one it works from, and the templates.
const SYSTEM_DATABASES: [&str; 3] = ["postgres", "template0", "template1"];

/// SQLSTATE 55006: "database is being accessed by other users".
const OBJECT_IN_USE: &str = "55006";

/// `db-reset`.
pub async fn run(args: &ResetArgs) -> Result<(), Failure> {
    let url = &args.db.database_url;
    let db = url.database();
    let role = args.app.role()?;
    if args.ns.is_production() && !args.destroy_production {
        return Err(Failure::new(
            exit::REFUSED_PRODUCTION,
            anyhow::anyhow!(
                "refusing to reset database {db}: NAMESPACE '{}' is the production namespace \
                 (PRODUCTION_NAMESPACE); nothing was dropped. To destroy production data anyway, \
                 pass --i-understand-this-destroys-production-data",
                args.ns.namespace
            ),
        ));
    }
    if SYSTEM_DATABASES.contains(&db.as_str()) {
        return Err(anyhow::anyhow!(
            "refusing to reset the system database '{db}': point DATABASE_URL at the application database"
        )
        .into());
    }
    if args.ns.is_production() {
        eprintln!(
            "db-reset: WARNING: resetting database {db} in the production namespace '{}' \
             (--i-understand-this-destroys-production-data given)",
            args.ns.namespace
        );
    }

    let admin_url = url.with_database("postgres");
    eprintln!("db-reset: resetting database {db} via {admin_url}");
    let mut admin = connect("db-reset", &admin_url, &args.retry).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&db)
            .fetch_one(&mut admin)
            .await
            .context("cannot look up the database")?;
    if exists {
        refuse_if_marked(url, &args.retry, args.destroy_production).await?;
    }
    recreate(&mut admin, &db, exists).await?;
    let _ = admin.close().await;

    let production = args
        .ns
        .is_production()
        .then_some(args.ns.namespace.as_str());
    migrate::migrate_and_seed(
        "db-reset",
        url,
        &args.retry,
        production,
        role.as_ref(),
        args.seed,
    )
    .await
}

/// Refuses (exit 6) a database marked as production unless the explicit flag was given. A mark
/// that cannot be read counts as a refusal too: nothing is dropped on a guess.
async fn refuse_if_marked(
    url: &DatabaseUrl,
    retry: &RetryArgs,
    destroy_production: bool,
) -> Result<(), Failure> {
    let db = url.database();
    // The server just answered on the maintenance database, so one attempt is enough here.
    let mark = async {
        let mut conn = tokio::time::timeout(retry.attempt_timeout, url.options().connect())
            .await
            .map_err(|_| {
                anyhow::anyhow!("connecting timed out after {:?}", retry.attempt_timeout)
            })??;
        let mark = production_mark::read(&mut conn).await?;
        let _ = conn.close().await;
        anyhow::Ok(mark)
    }
    .await
    .map_err(|e| {
        Failure::new(
            exit::REFUSED_PRODUCTION,
            e.context(format!(
                "refusing to reset database {db}: cannot check whether it is marked as production; \
                 nothing was dropped"
            )),
        )
    })?;
    let Some(mark) = mark else { return Ok(()) };
    if !destroy_production {
        return Err(Failure::new(
            exit::REFUSED_PRODUCTION,
            anyhow::anyhow!(
                "refusing to reset database {db}: it is marked as production (migrated in \
                 namespace '{}' at {}), whatever NAMESPACE says; nothing was dropped. To destroy \
                 production data anyway, pass --i-understand-this-destroys-production-data",
                mark.namespace,
                mark.marked_at
            ),
        ));
    }
    eprintln!(
        "db-reset: WARNING: resetting database {db}, marked as production by namespace '{}' \
         (--i-understand-this-destroys-production-data given)",
        mark.namespace
    );
    Ok(())
}

async fn recreate(admin: &mut PgConnection, db: &str, exists: bool) -> Result<(), Failure> {
    // Identifiers cannot be bound as parameters: every statement below formats `quoted`, which
    // quote_ident made a safe identifier (hence sqlx::AssertSqlSafe).
    let quoted = quote_ident(db);
    if exists {
        // Terminated clients (a backend's pool) reconnect at once; close the door first.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE {quoted} WITH ALLOW_CONNECTIONS false"
        )))
        .execute(&mut *admin)
        .await
        .with_context(|| format!("cannot close database {db} to new connections"))?;
        if let Err(err) = terminate_and_drop(admin, db, &quoted).await {
            // Leave the database usable if it could not be dropped.
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "ALTER DATABASE {quoted} WITH ALLOW_CONNECTIONS true"
            )))
            .execute(&mut *admin)
            .await;
            return Err(err.into());
        }
        eprintln!("db-reset: dropped database {db}");
    } else {
        eprintln!("db-reset: database {db} does not exist yet; nothing to drop");
    }
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {quoted}")))
        .execute(&mut *admin)
        .await
        .with_context(|| format!("cannot create database {db}"))?;
    eprintln!("db-reset: created database {db}");
    Ok(())
}

async fn terminate_and_drop(
    admin: &mut PgConnection,
    db: &str,
    quoted: &str,
) -> anyhow::Result<()> {
    // DROP waits up to 5 s for terminated sessions to exit; a few rounds cover a slow one.
    let rounds = 3;
    for round in 1..=rounds {
        let terminated: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()) AS t WHERE ok",
        )
        .bind(db)
        .fetch_one(&mut *admin)
        .await
        .with_context(|| format!("cannot terminate the sessions on database {db}"))?;
        eprintln!("db-reset: terminated {terminated} other session(s) on database {db}");
        match sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {quoted}"
        )))
        .execute(&mut *admin)
        .await
        {
            Ok(_) => return Ok(()),
            Err(sqlx::Error::Database(e))
                if e.code().as_deref() == Some(OBJECT_IN_USE) && round < rounds =>
            {
                eprintln!("db-reset: database {db} still in use; trying again");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!("cannot drop database {db}")))
            }
        }
    }
    Ok(())
}
