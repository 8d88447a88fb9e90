//! `db-backup` / `db-restore` against a real PostgreSQL and real object stores: a local directory
//! (`file://`) and an S3-compatible HTTP server (moto's, started per test; see [`crate::s3`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret as _;
use sha2::{Digest as _, Sha256};
use test_support::TestDb;

use crate::helpers::{fresh_db, run, tools, Run};
use crate::s3::S3Server;

/// An age key pair in a temporary directory: the identity file and its public key.
struct Key {
    _dir: tempfile::TempDir,
    identity: PathBuf,
    public: String,
}

fn new_key() -> Key {
    let dir = tempfile::tempdir().expect("tempdir");
    let id = age::x25519::Identity::generate();
    let identity = dir.path().join("backup.key");
    std::fs::write(
        &identity,
        format!(
            "# public key: {}\n{}\n",
            id.to_public(),
            id.to_string().expose_secret()
        ),
    )
    .expect("write identity");
    Key {
        _dir: dir,
        identity,
        public: id.to_public().to_string(),
    }
}

/// `tools` with the PostgreSQL clients of the test server's installation.
fn pg_tools(args: &[&str], db_url: &str) -> std::process::Command {
    let mut cmd = tools(args);
    cmd.env("DATABASE_URL", db_url)
        .env("PG_DUMP", test_support::pg_client("pg_dump"))
        .env("PG_RESTORE", test_support::pg_client("pg_restore"))
        .env("DB_CONNECT_ATTEMPTS", "2")
        .env("DB_RETRY_DELAY", "200ms");
    cmd
}

async fn backup(db: &TestDb, to: &str, key: &Key, extra: &[&str]) -> Run {
    let mut args = vec!["db-backup", "--to", to, "--recipient", &key.public];
    args.extend_from_slice(extra);
    run(pg_tools(&args, &db.url)).await
}

async fn restore(db: &TestDb, from: &str, identity: &Path, extra: &[&str]) -> Run {
    let identity = identity.to_str().expect("utf-8 path");
    let mut args = vec!["db-restore", "--from", from, "--identity", identity];
    args.extend_from_slice(extra);
    run(pg_tools(&args, &db.url)).await
}

/// A migrated, seeded database plus a table of assorted types (text with quotes and newlines,
/// bytea, NULLs, timestamps) so checksums see more than the demo rows.
async fn seeded_db() -> TestDb {
    let db = fresh_db().await;
    let mut cmd = tools(&["db-migrate", "--seed"]);
    cmd.env("DATABASE_URL", &db.url);
    run(cmd).await.expect_code(0);
    sqlx::raw_sql(
        "CREATE TABLE extra (id bigserial PRIMARY KEY, note text, data bytea, at timestamptz); \
         INSERT INTO extra (note, data, at) SELECT \
           CASE WHEN i % 7 = 0 THEN NULL ELSE 'row ' || i || E' it''s\\n\"quoted\"' END, \
           decode(md5(i::text), 'hex'), timestamptz '2026-01-01' + i * interval '1 minute' \
         FROM generate_series(1, 2000) AS i;",
    )
    .execute(&db.pool)
    .await
    .expect("extra table");
    db
}

/// Per table: row count and an MD5 over every row's text form, in a fixed order.
async fn checksums(db: &TestDb) -> BTreeMap<String, (i64, String)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables \
         WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    )
    .fetch_all(&db.pool)
    .await
    .expect("tables");
    let mut sums = BTreeMap::new();
    for table in tables {
        let row: (i64, String) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') \
             FROM {table} t"
        )))
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("checksum {table}: {e}"));
        sums.insert(table, row);
    }
    sums
}

async fn user_tables(db: &TestDb) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count tables")
}

fn file_url(dir: &Path) -> String {
    format!("file://{}/", dir.display())
}

/// The names in a backup directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read backup dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The one backup object in `dir`.
fn only_object(dir: &Path) -> PathBuf {
    let objects: Vec<String> = listing(dir)
        .into_iter()
        .filter(|n| n.ends_with(".dump.age"))
        .collect();
    assert_eq!(objects.len(), 1, "{objects:?}");
    dir.join(&objects[0])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_restores_every_row_into_a_fresh_database() {
    let source = seeded_db().await;
    let key = new_key();
    let store = tempfile::tempdir().expect("tempdir");
    let out = backup(&source, &file_url(store.path()), &key, &[]).await;
    out.expect_code(0);

    // The object, its manifest (matching the object's bytes) and the monitoring marker.
    let object = only_object(store.path());
    let name = object
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with(&format!("{}-", source.name)),
        "object named after the database: {name}"
    );
    let bytes = std::fs::read(&object).expect("read object");
    assert!(
        bytes.starts_with(b"age-encryption.org/v1\n"),
        "the object is age-encrypted"
    );
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(store.path().join(format!("{name}.manifest.json"))).expect("manifest"),
    )
    .expect("manifest json");
    assert_eq!(manifest["object"], name.as_str());
    assert_eq!(manifest["size"], bytes.len() as u64);
    assert_eq!(manifest["sha256"], hex::encode(Sha256::digest(&bytes)));
    assert_eq!(manifest["database"], source.name.as_str());
    assert_eq!(manifest["recipients"][0], key.public.as_str());
    assert!(
        manifest["server_version"]
            .as_str()
            .is_some_and(|v| v.starts_with(char::is_numeric)),
        "{manifest}"
    );
    assert_eq!(manifest["tools_version"], env!("CARGO_PKG_VERSION"));
    let latest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(store.path().join("latest.json")).expect("latest.json"),
    )
    .expect("latest json");
    assert_eq!(latest, manifest);

    let target = fresh_db().await;
    let out = restore(&target, &file_url(store.path()), &key.identity, &[]).await;
    out.expect_code(0);
    let expected = checksums(&source).await;
    assert_eq!(checksums(&target).await, expected);
    let rows: i64 = expected.values().map(|(n, _)| n).sum();
    assert!(
        out.stderr
            .contains(&format!("{} table(s), {rows} row(s)", expected.len())),
        "the report says what was restored:\n{}",
        out.stderr
    );
    assert!(out.stderr.contains("public.extra"), "{}", out.stderr);

    // A second restore into the now populated database needs --clean, and then works.
    let again = restore(&target, &file_url(store.path()), &key.identity, &[]).await;
    again.expect_code(8);
    assert!(again.stderr.contains("--clean"), "{}", again.stderr);
    assert_eq!(
        checksums(&target).await,
        expected,
        "refusal changed nothing"
    );
    let object_url = format!("file://{}", object.display());
    restore(&target, &object_url, &key.identity, &["--clean"])
        .await
        .expect_code(0);
    assert_eq!(checksums(&target).await, expected);

    source.drop_db().await;
    target.drop_db().await;
}

/// A backup made once, shared by the refusal tests below via a fresh copy each.
async fn one_backup() -> (TestDb, Key, tempfile::TempDir) {
    let source = seeded_db().await;
    let key = new_key();
    let store = tempfile::tempdir().expect("tempdir");
    backup(&source, &file_url(store.path()), &key, &[])
        .await
        .expect_code(0);
    (source, key, store)
}

/// Asserts a refused restore: exit 7, one `error:` line containing `needle`, target untouched.
async fn assert_refused(target: &TestDb, out: &Run, needle: &str) {
    out.expect_code(7);
    let errors = out.errors();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(errors[0].contains(needle), "{}", out.stderr);
    assert!(
        !out.stderr.contains("AGE-SECRET-KEY"),
        "never prints a secret key"
    );
    assert_eq!(user_tables(target).await, 0, "nothing was restored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_identity_is_refused_before_anything_is_restored() {
    let (source, key, store) = one_backup().await;
    let other = new_key();
    let target = fresh_db().await;
    let out = restore(&target, &file_url(store.path()), &other.identity, &[]).await;
    assert_refused(&target, &out, "wrong key").await;
    assert!(
        out.stderr.contains(&key.public),
        "names the key it needs: {}",
        out.stderr
    );
    source.drop_db().await;
    target.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_and_bit_flipped_objects_are_refused() {
    let (source, key, store) = one_backup().await;
    let object = only_object(store.path());
    let original = std::fs::read(&object).expect("read");
    let target = fresh_db().await;

    std::fs::write(&object, &original[..original.len() - 100]).expect("truncate");
    let out = restore(&target, &file_url(store.path()), &key.identity, &[]).await;
    assert_refused(&target, &out, "truncated").await;

    let mut flipped = original.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    std::fs::write(&object, &flipped).expect("flip");
    let out = restore(&target, &file_url(store.path()), &key.identity, &[]).await;
    assert_refused(&target, &out, "SHA-256").await;

    source.drop_db().await;
    target.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_without_manifest_is_not_a_backup() {
    let (source, key, store) = one_backup().await;
    let object = only_object(store.path());
    std::fs::remove_file(format!("{}.manifest.json", object.display())).expect("rm manifest");
    let target = fresh_db().await;

    let out = restore(
        &target,
        &format!("file://{}", object.display()),
        &key.identity,
        &[],
    )
    .await;
    assert_refused(&target, &out, "missing manifest").await;
    let out = restore(&target, &file_url(store.path()), &key.identity, &[]).await;
    assert_refused(&target, &out, "no complete backup").await;

    source.drop_db().await;
    target.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_dump_leaves_nothing_that_looks_complete() {
    let source = fresh_db().await;
    let key = new_key();
    let store = tempfile::tempdir().expect("tempdir");
    // A "pg_dump" that writes a little and fails, as a dump that loses its connection does.
    let fake = store.path().join("fake-pg-dump");
    std::fs::write(
        &fake,
        "#!/bin/sh\nhead -c 100000 /dev/zero\necho 'connection lost' >&2\nexit 1\n",
    )
    .expect("fake");
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let dir = store.path().join("backups");
    let mut cmd = pg_tools(
        &[
            "db-backup",
            "--to",
            &file_url(&dir),
            "--recipient",
            &key.public,
        ],
        &source.url,
    );
    cmd.env("PG_DUMP", &fake);
    let out = run(cmd).await;
    out.expect_code(1);
    assert!(out.stderr.contains("connection lost"), "{}", out.stderr);
    assert!(
        out.stderr.contains("no backup was written"),
        "{}",
        out.stderr
    );
    assert_eq!(
        listing(&dir),
        Vec::<String>::new(),
        "no object, no manifest"
    );
    source.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_keeps_exactly_the_newest_and_the_young() {
    let (source, key, store) = one_backup().await;
    let object = only_object(store.path());
    let db = &source.name;
    let bytes = std::fs::read(&object).expect("read");
    let manifest =
        std::fs::read_to_string(format!("{}.manifest.json", object.display())).expect("manifest");
    // Older complete backups, 1..=6 days old (copies of the real one under older names), an
    // incomplete one, and another database's backup.
    let now = chrono::Utc::now();
    let stamp = |days: i64| {
        (now - chrono::Duration::days(days) - chrono::Duration::minutes(5))
            .format("%Y%m%dT%H%M%SZ")
            .to_string()
    };
    let old_name = object
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    for days in 1..=6 {
        let name = format!("{db}-{}.dump.age", stamp(days));
        std::fs::write(store.path().join(&name), &bytes).expect("copy");
        std::fs::write(
            store.path().join(format!("{name}.manifest.json")),
            manifest.replace(&old_name, &name),
        )
        .expect("manifest");
    }
    // A failed run's object without a manifest, older than the new backup.
    let orphan = format!("{db}-{}.dump.age", stamp(0));
    std::fs::write(store.path().join(&orphan), b"partial").expect("orphan");
    let foreign = format!("otherdb-{}.dump.age", stamp(30));
    std::fs::write(store.path().join(&foreign), &bytes).expect("foreign");
    std::fs::write(store.path().join(format!("{foreign}.manifest.json")), "{}").expect("foreign");

    // Make sure the new backup gets a later second than the first one.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let out = backup(
        &source,
        &file_url(store.path()),
        &key,
        &["--keep-days", "2", "--keep-last", "4"],
    )
    .await;
    out.expect_code(0);

    let remaining = listing(store.path());
    let objects: Vec<&String> = remaining
        .iter()
        .filter(|n| n.starts_with(&format!("{db}-")) && n.ends_with(".dump.age"))
        .collect();
    // Kept: the new one, the first one, 1 and 2 days old (keep-last 4); 2 days is past the
    // keep-days cutoff by 5 minutes, but the count keeps it. Deleted: 3..=6 days, the orphan.
    let expected_objects: Vec<String> = {
        let mut v = vec![
            old_name.clone(),
            format!("{db}-{}.dump.age", stamp(1)),
            format!("{db}-{}.dump.age", stamp(2)),
        ];
        let newest: Vec<&String> = objects.iter().copied().filter(|n| !v.contains(n)).collect();
        assert_eq!(
            newest.len(),
            1,
            "exactly one new backup besides the kept ones: {remaining:?}"
        );
        v.push(newest[0].clone());
        v.sort();
        v
    };
    assert_eq!(
        objects.into_iter().cloned().collect::<Vec<_>>(),
        expected_objects,
        "{}",
        out.stderr
    );
    for o in &expected_objects {
        assert!(
            remaining.contains(&format!("{o}.manifest.json")),
            "{o} keeps its manifest"
        );
    }
    assert!(
        !remaining.contains(&orphan),
        "the failed run's leftover is removed"
    );
    assert!(
        remaining.contains(&foreign),
        "another database's backups are not touched"
    );
    assert!(
        out.stderr.contains("kept 4 complete backup(s), deleted 4"),
        "{}",
        out.stderr
    );
    source.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_round_trip_through_a_local_s3_server() {
    let s3 = S3Server::start().await;
    s3.create_bucket("backups").await;
    let source = seeded_db().await;
    let key = new_key();
    let mut cmd = pg_tools(
        &["db-backup", "--recipient", &key.public, "--keep-last", "2"],
        &source.url,
    );
    cmd.env("BACKUP_TO", "s3://backups/nightly/");
    s3.configure(&mut cmd);
    run(cmd).await.expect_code(0);
    let keys = s3.list("backups", "nightly/").await;
    assert_eq!(keys.len(), 3, "object, manifest, latest.json: {keys:?}");
    assert!(
        keys.iter().any(|k| k.ends_with(".dump.age.manifest.json")),
        "{keys:?}"
    );
    assert!(
        s3.open_uploads("backups").await.is_empty(),
        "no multipart upload left open"
    );

    let target = fresh_db().await;
    let identity = key.identity.to_str().expect("utf-8").to_string();
    let mut cmd = pg_tools(&["db-restore", "--identity", &identity], &target.url);
    cmd.env("BACKUP_FROM", "s3://backups/nightly/");
    s3.configure(&mut cmd);
    run(cmd).await.expect_code(0);
    assert_eq!(checksums(&target).await, checksums(&source).await);

    // A failing dump against S3: the multipart upload is aborted, nothing new appears.
    let fake = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::write(
        fake.path(),
        "#!/bin/sh\nhead -c 9000000 /dev/urandom\nexit 1\n",
    )
    .expect("fake");
    std::fs::set_permissions(
        fake.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let fake_path = fake.into_temp_path();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let mut cmd = pg_tools(&["db-backup", "--recipient", &key.public], &source.url);
    cmd.env("BACKUP_TO", "s3://backups/nightly/")
        .env("PG_DUMP", &*fake_path);
    s3.configure(&mut cmd);
    run(cmd).await.expect_code(1);
    assert_eq!(
        s3.list("backups", "nightly/").await,
        keys,
        "nothing new in the bucket"
    );
    assert!(
        s3.open_uploads("backups").await.is_empty(),
        "the failed upload was aborted"
    );

    source.drop_db().await;
    target.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_production_marked_target_needs_the_long_flag() {
    let (source, key, store) = one_backup().await;
    // db-migrate in the production namespace marks the database; NAMESPACE plays no part below.
    let target = fresh_db().await;
    let mut cmd = tools(&["db-migrate"]);
    cmd.env("DATABASE_URL", &target.url)
        .env("NAMESPACE", "production");
    run(cmd).await.expect_code(0);
    let before = checksums(&target).await;

    let out = restore(
        &target,
        &file_url(store.path()),
        &key.identity,
        &["--clean"],
    )
    .await;
    out.expect_code(6);
    assert!(
        out.stderr.contains("marked as production"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("--i-understand-this-destroys-production-data"),
        "{}",
        out.stderr
    );
    assert_eq!(checksums(&target).await, before, "nothing was restored");

    let out = restore(
        &target,
        &file_url(store.path()),
        &key.identity,
        &["--clean", "--i-understand-this-destroys-production-data"],
    )
    .await;
    out.expect_code(0);
    let restored = checksums(&target).await;
    for (table, sums) in checksums(&source).await {
        assert_eq!(restored.get(&table), Some(&sums), "{table}");
    }
    assert!(
        restored.contains_key("public.tools_production_mark"),
        "the target still says production"
    );
    source.drop_db().await;
    target.drop_db().await;
}
