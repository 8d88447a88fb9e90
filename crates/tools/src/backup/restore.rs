//! `db-restore`: fetch a backup (an object, or the newest complete one under a prefix), check it
//! against its manifest, decrypt it, and `pg_restore` it into `DATABASE_URL`.
//!
//! Order matters, so that a bad backup or a wrong target never half-restores:
//! 1. the identity file and the target are checked first (a production-marked target needs the
//!    long flag; a target with tables needs `--clean`), before anything is downloaded;
//! 2. the object is downloaded into a temporary file (`TMPDIR`) while its size and SHA-256 are
//!    computed, and compared with the manifest: a truncated or altered object stops here;
//! 3. the age header is opened with the identities: a wrong key stops here;
//! 4. only then does `pg_restore --single-transaction --exit-on-error` run, fed the plaintext
//!    as it is decrypted: any failure rolls the whole restore back.

use std::io::{self, Seek as _, Write as _};
use std::path::PathBuf;
use std::process::Stdio;

use anyhow::Context as _;
use clap::Args;
use futures_util::StreamExt as _;
use object_store::ObjectStoreExt as _;
use sha2::{Digest as _, Sha256};
use sqlx::{Connection as _, PgConnection};

use crate::backup::crypto::Identities;
use crate::backup::human_bytes;
use crate::backup::location::{BackupName, BackupUrl, Store};
use crate::backup::manifest::Manifest;
use crate::backup::pg::{self, Running};
use crate::db::{connect, production_mark, DatabaseArgs, RetryArgs};
use crate::exit::{self, Failure, BACKUP_INVALID, TARGET_NOT_EMPTY};

#[derive(Args, Debug)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub retry: RetryArgs,
    /// The backup: an object URL (.../app-20261201T020000Z.dump.age), or a prefix ending in / for
    /// its newest complete backup.
    #[arg(long, env = "BACKUP_FROM", value_parser = BackupUrl::parse_arg)]
    pub from: BackupUrl,
    /// The age identity file (AGE-SECRET-KEY-1..., as age-keygen writes it) that decrypts it.
    #[arg(long, env = "BACKUP_IDENTITY_FILE")]
    pub identity: PathBuf,
    /// Restore into a database that already has tables: the backup's objects are dropped and
    /// recreated (pg_restore --clean --if-exists); tables the backup lacks stay.
    #[arg(long)]
    pub clean: bool,
    /// Restore even into a database marked as production (db-migrate ran there in the production
    /// namespace). Replaces customers' data with the backup's.
    #[arg(long = "i-understand-this-destroys-production-data")]
    pub destroy_production: bool,
}

/// A user table and its row count after the restore.
struct TableRows {
    name: String,
    rows: i64,
}

/// `db-restore`.
pub async fn run(args: &RestoreArgs) -> Result<(), Failure> {
    let identities = Identities::load(&args.identity).map_err(anyhow::Error::new)?;
    let url = &args.db.database_url;
    let database = url.database();

    let store = args.from.open(false)?;
    let (_, object) = args.from.split();
    let object = match object {
        Some(name) => name,
        None => newest_complete(&store).await?,
    };
    let manifest_name = format!("{object}{}", crate::backup::location::MANIFEST_SUFFIX);
    let manifest = Manifest::fetch(&store, &object, &manifest_name)
        .await
        .map_err(|e| Failure::new(BACKUP_INVALID, e))?;

    let mut conn = connect("db-restore", url, &args.retry).await?;
    check_target(&mut conn, args, &database).await?;
    let _ = conn.close().await;

    eprintln!(
        "db-restore: fetching {} ({}, database {}, created {}, server {})",
        store.url_of(&object),
        human_bytes(manifest.size),
        manifest.database,
        manifest.created.format("%Y-%m-%d %H:%M:%S UTC"),
        manifest.server_version
    );
    let file = download_verified(&store, &object, &manifest).await?;
    eprintln!("db-restore: size and sha256 match the manifest; decrypting");

    let program = pg::program("PG_RESTORE", "pg_restore");
    let identity_path = args.identity.display().to_string();
    let restore_into = database.clone();
    let clean = args.clean;
    let url_owned = url.clone();
    let shown_object = store.url_of(&object);
    let recipients = manifest.recipients.clone();
    tokio::task::spawn_blocking(move || -> Result<(), Failure> {
        let reader = io::BufReader::new(file);
        let decryptor = age::Decryptor::new_buffered(reader).map_err(|e| {
            Failure::new(
                BACKUP_INVALID,
                anyhow::anyhow!("{shown_object} is not an age-encrypted backup: {e}"),
            )
        })?;
        let mut plaintext = decryptor.decrypt(identities.iter()).map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => Failure::new(
                BACKUP_INVALID,
                anyhow::anyhow!(
                    "wrong key: no identity in {identity_path} ({}) can decrypt {shown_object}, \
                     which is encrypted to {}; nothing was restored",
                    identities.public.join(", "),
                    recipients.join(", ")
                ),
            ),
            other => Failure::new(
                BACKUP_INVALID,
                anyhow::anyhow!("cannot decrypt {shown_object}: {other}; nothing was restored"),
            ),
        })?;
        let mut cmd = pg::command(&program, &url_owned);
        cmd.args([
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--dbname",
            &restore_into,
        ]);
        if clean {
            cmd.args(["--clean", "--if-exists"]);
        }
        cmd.stdin(Stdio::piped()).stdout(Stdio::null());
        let mut running = Running::spawn(cmd, &program).map_err(anyhow::Error::new)?;
        let copied = match running.child.stdin.take() {
            Some(mut stdin) => io::copy(&mut plaintext, &mut stdin).and_then(|_| stdin.flush()),
            None => Err(io::Error::other("pg_restore's stdin was not captured")),
        };
        match copied {
            Ok(()) => running.wait().map_err(|e| {
                Failure::from(
                    anyhow::Error::new(e)
                        .context("pg_restore failed; its transaction was rolled back"),
                )
            }),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                // pg_restore stopped reading: its own error says why.
                running.wait().map_err(|e| {
                    Failure::from(
                        anyhow::Error::new(e)
                            .context("pg_restore failed; its transaction was rolled back"),
                    )
                })
            }
            Err(e) => {
                running.kill();
                Err(Failure::new(
                    BACKUP_INVALID,
                    anyhow::Error::new(e).context(format!(
                        "cannot decrypt {shown_object}; pg_restore was stopped and its \
                         transaction rolled back"
                    )),
                ))
            }
        }
    })
    .await
    .map_err(|e| anyhow::anyhow!("the restore thread failed: {e}"))??;

    let mut conn = connect("db-restore", url, &args.retry).await?;
    let tables = table_rows(&mut conn).await?;
    let _ = conn.close().await;
    let rows: i64 = tables.iter().map(|t| t.rows).sum();
    eprintln!(
        "db-restore: restored {} into database {database}: {} table(s), {rows} row(s)",
        store.url_of(&object),
        tables.len()
    );
    for t in &tables {
        eprintln!("db-restore:   {:<40} {:>12} rows", t.name, t.rows);
    }
    Ok(())
}

/// The newest backup under the prefix that has a manifest.
async fn newest_complete(store: &Store) -> Result<String, Failure> {
    let listing = store
        .store
        .list_with_delimiter(Some(store.base()))
        .await
        .with_context(|| format!("cannot list {store}"))?;
    listing
        .objects
        .iter()
        .filter_map(|m| BackupName::parse_manifest(m.location.filename()?))
        .max_by_key(|n| n.created)
        .map(|n| n.object())
        .ok_or_else(|| {
            Failure::new(
                BACKUP_INVALID,
                anyhow::anyhow!(
                    "no complete backup under {store} (no <database>-<time>.dump.age with its \
                     .manifest.json); nothing was restored"
                ),
            )
        })
}

/// Refuses a production-marked target without the flag, and a target with tables without --clean.
async fn check_target(
    conn: &mut PgConnection,
    args: &RestoreArgs,
    database: &str,
) -> Result<(), Failure> {
    // A mark that cannot be read counts as a refusal: nothing is overwritten on a guess.
    let mark = production_mark::read(&mut *conn).await.map_err(|e| {
        Failure::new(
            exit::REFUSED_PRODUCTION,
            anyhow::Error::new(e).context(format!(
                "refusing to restore into database {database}: cannot check whether it is marked \
                 as production; nothing was restored"
            )),
        )
    })?;
    if let Some(mark) = mark {
        if !args.destroy_production {
            return Err(Failure::new(
                exit::REFUSED_PRODUCTION,
                anyhow::anyhow!(
                    "refusing to restore into database {database}: it is marked as production \
                     (migrated in namespace '{}' at {}); nothing was restored. To replace \
                     production data anyway, pass --i-understand-this-destroys-production-data",
                    mark.namespace,
                    mark.marked_at
                ),
            ));
        }
        eprintln!(
            "db-restore: WARNING: restoring into database {database}, marked as production by \
             namespace '{}' (--i-understand-this-destroys-production-data given)",
            mark.namespace
        );
    }
    let tables = user_tables(conn).await?;
    if !tables.is_empty() && !args.clean {
        return Err(Failure::new(
            TARGET_NOT_EMPTY,
            anyhow::anyhow!(
                "refusing to restore into database {database}: it has {} table(s) ({}); restore \
                 into an empty database, or pass --clean to replace the backup's objects",
                tables.len(),
                preview(&tables)
            ),
        ));
    }
    Ok(())
}

fn preview(names: &[String]) -> String {
    let mut shown: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
    if names.len() > 5 {
        shown.push("...");
    }
    shown.join(", ")
}

/// The user tables (`schema.table`), outside PostgreSQL's own schemas.
async fn user_tables(conn: &mut PgConnection) -> Result<Vec<String>, Failure> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables \
         WHERE schemaname NOT IN ('pg_catalog', 'information_schema') \
         AND schemaname NOT LIKE 'pg_toast%' ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .context("cannot list the target database's tables")?;
    Ok(names)
}

/// Every user table with its exact row count (the restore report).
async fn table_rows(conn: &mut PgConnection) -> Result<Vec<TableRows>, Failure> {
    let mut out = Vec::new();
    for name in user_tables(conn).await? {
        // `name` is format('%I.%I') output: already quoted identifiers.
        let rows: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {name}")))
                .fetch_one(&mut *conn)
                .await
                .with_context(|| format!("cannot count the rows of {name}"))?;
        out.push(TableRows { name, rows });
    }
    Ok(out)
}

/// Downloads `object` into a temporary file, checking size and SHA-256 against the manifest.
async fn download_verified(
    store: &Store,
    object: &str,
    manifest: &Manifest,
) -> Result<std::fs::File, Failure> {
    let shown = store.url_of(object);
    let invalid = |msg: String| Failure::new(BACKUP_INVALID, anyhow::anyhow!(msg));
    let result = match store.store.get(&store.path(object)).await {
        Ok(r) => r,
        Err(object_store::Error::NotFound { .. }) => {
            return Err(invalid(format!(
                "{shown} not found (its manifest exists: the object was deleted?)"
            )))
        }
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context(format!("cannot download {shown}"))
                .into())
        }
    };
    let mut file = tempfile::tempfile().context("cannot create a temporary file (TMPDIR)")?;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut stream = result.into_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.with_context(|| format!("download of {shown} failed"))?;
        size += chunk.len() as u64;
        if size > manifest.size {
            return Err(invalid(format!(
                "corrupted backup: {shown} is larger than the {} bytes its manifest records; \
                 nothing was restored",
                manifest.size
            )));
        }
        hasher.update(&chunk);
        file.write_all(&chunk)
            .context("cannot write the temporary file (TMPDIR full?)")?;
    }
    if size != manifest.size {
        return Err(invalid(format!(
            "corrupted backup: {shown} is {size} bytes but its manifest records {} (truncated); \
             nothing was restored",
            manifest.size
        )));
    }
    let sha256 = hex::encode(hasher.finalize());
    if sha256 != manifest.sha256 {
        return Err(invalid(format!(
            "corrupted backup: the SHA-256 of {shown} is {sha256} but its manifest records {}; \
             nothing was restored",
            manifest.sha256
        )));
    }
    file.flush().context("cannot write the temporary file")?;
    file.rewind().context("cannot read the temporary file")?;
    Ok(file)
}
