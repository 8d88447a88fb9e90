//! `db-migrate` and `db-reset` against a real PostgreSQL, one fresh database per test.

use std::time::Duration;

use sqlx::migrate::Migrate;
use sqlx::{Connection, PgConnection};

use crate::helpers::{closed_port, count, fresh_db, run, table_exists, tools, Run};

const TABLES: [&str; 5] = [
    "users",
    "accounts",
    "transactions",
    "subscriptions",
    "stripe_events",
];

async fn migrate(url: &str, extra: &[&str]) -> Run {
    let mut args = vec!["db-migrate", "--attempts", "2", "--retry-delay", "200ms"];
    args.extend_from_slice(extra);
    let mut cmd = tools(&args);
    cmd.env("DATABASE_URL", url);
    run(cmd).await
}

async fn reset(url: &str, namespace: &str, extra: &[&str]) -> Run {
    let mut args = vec!["db-reset", "--attempts", "2", "--retry-delay", "200ms"];
    args.extend_from_slice(extra);
    let mut cmd = tools(&args);
    cmd.env("DATABASE_URL", url).env("NAMESPACE", namespace);
    run(cmd).await
}

/// How many migrations the binary embeds (the backend's set), and the line a first run prints.
fn embedded_migrations() -> i64 {
    backend::MIGRATOR.iter().count() as i64
}

fn applied_all() -> String {
    format!("applied {} migration(s)", embedded_migrations())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_creates_the_schema_on_an_empty_database() {
    let db = fresh_db().await;
    assert!(!table_exists(&db, "users").await);

    let out = migrate(&db.url, &[]).await;
    out.expect_code(0);
    assert!(out.stderr.contains(&applied_all()), "{}", out.stderr);
    for table in TABLES {
        assert!(table_exists(&db, table).await, "{table} missing");
    }
    assert_eq!(count(&db, "users").await, 0, "no seed without --seed");
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrating_again_is_a_no_op() {
    let db = fresh_db().await;
    migrate(&db.url, &[]).await.expect_code(0);
    sqlx::query("INSERT INTO users (email, password_hash) VALUES ('kept@example.com', 'x')")
        .execute(&db.pool)
        .await
        .expect("insert");

    let out = migrate(&db.url, &[]).await;
    out.expect_code(0);
    assert!(out.stderr.contains("already up to date"), "{}", out.stderr);
    assert_eq!(count(&db, "_sqlx_migrations").await, embedded_migrations());
    assert_eq!(count(&db, "users").await, 1, "data survives a re-run");
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_migrations_both_succeed() {
    let db = fresh_db().await;
    // Hold the migrator's advisory lock so both runs are certainly in flight at once, queued on it.
    let mut holder = PgConnection::connect(&db.url).await.expect("connect");
    holder.lock().await.expect("take the migration lock");
    let spawn = || {
        let mut cmd = tools(&["db-migrate"]);
        // In production both also mark the database: that step must not collide either.
        cmd.env("DATABASE_URL", &db.url)
            .env("NAMESPACE", "production")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().expect("spawn tools")
    };
    let (a, b) = (spawn(), spawn());
    let mut waiting = 0;
    for _ in 0..200 {
        waiting = sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
             WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()",
        )
        .fetch_one(&mut holder)
        .await
        .expect("pg_locks");
        if waiting == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(waiting, 2, "both runs should be waiting for the lock");
    holder.unlock().await.expect("release the lock");
    let outs = tokio::task::spawn_blocking(move || {
        [a, b].map(|c| Run::from_output(c.wait_with_output().expect("wait")))
    })
    .await
    .expect("join");
    for out in &outs {
        out.expect_code(0);
    }
    // Exactly one of them applied the migration; the other found it done.
    let applied = outs
        .iter()
        .filter(|o| o.stderr.contains(&applied_all()))
        .count();
    let noop = outs
        .iter()
        .filter(|o| o.stderr.contains("already up to date"))
        .count();
    assert_eq!((applied, noop), (1, 1), "{outs:#?}");
    assert_eq!(count(&db, "_sqlx_migrations").await, embedded_migrations());
    assert!(table_exists(&db, "transactions").await);
    assert_eq!(count(&db, "tools_production_mark").await, 1);
    let _ = holder.close().await;
    db.drop_db().await;
}

/// The database is down at the first attempt and comes up while `db-migrate` retries.
#[test]
fn migrate_waits_for_a_database_that_starts_late() {
    let mut cluster = test_support::Cluster::start();
    let url = cluster.url();
    cluster.stop();
    let mut cmd = tools(&[
        "db-migrate",
        "--attempts",
        "30",
        "--attempt-timeout",
        "2s",
        "--retry-delay",
        "300ms",
    ]);
    cmd.env("DATABASE_URL", &url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().expect("spawn tools");
    let starter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        cluster.restart();
        cluster
    });
    let out = Run::from_output(child.wait_with_output().expect("wait"));
    let cluster = starter.join().expect("restart thread");
    out.expect_code(0);
    assert!(
        out.stderr
            .contains("attempt 1/30: database not reachable yet"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("retrying in 300ms"), "{}", out.stderr);
    assert!(out.stderr.contains(&applied_all()), "{}", out.stderr);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let exists: bool = rt.block_on(async {
        let mut conn = PgConnection::connect(&cluster.url())
            .await
            .expect("connect");
        sqlx::query_scalar("SELECT to_regclass('public.users') IS NOT NULL")
            .fetch_one(&mut conn)
            .await
            .expect("query")
    });
    assert!(exists, "users table after the late start");
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_database_exits_3_after_the_attempts_without_showing_the_password() {
    let url = format!(
        "postgres://app:s3cret-pw@127.0.0.1:{}/app?connect_timeout=1",
        closed_port()
    );
    let out = migrate(&url, &[]).await;
    out.expect_code(3);
    assert!(
        out.stderr
            .contains("attempt 1/2: database not reachable yet"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("retrying in 200ms"), "{}", out.stderr);
    assert!(out.stderr.contains("attempt 2/2"), "{}", out.stderr);
    assert!(out.stderr.contains("giving up"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("error: database not reachable at postgres://app:***@127.0.0.1"),
        "{}",
        out.stderr
    );
    assert!(!out.output().contains("s3cret-pw"), "{}", out.output());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_migration_exits_4_and_is_rolled_back() {
    let db = fresh_db().await;
    // A table in the way makes the initial migration fail half-way.
    sqlx::query("CREATE TABLE subscriptions (x int)")
        .execute(&db.pool)
        .await
        .expect("create");

    let out = migrate(&db.url, &[]).await;
    out.expect_code(4);
    assert!(
        out.stderr
            .contains("migration 20261124000001 (initial) failed"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("rolled back"), "{}", out.stderr);
    assert!(!table_exists(&db, "users").await, "partial migration kept");
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_with_unknown_migrations_exits_5() {
    let db = fresh_db().await;
    migrate(&db.url, &[]).await.expect_code(0);
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (29990101000000, 'from a newer release', true, '\\x00'::bytea, 1)",
    )
    .execute(&db.pool)
    .await
    .expect("fake migration");

    let out = migrate(&db.url, &[]).await;
    out.expect_code(5);
    assert!(
        out.stderr
            .contains("has migration 29990101000000 applied, which this binary does not know"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count(),
        1
    );
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_twice_adds_the_demo_data_once() {
    let db = fresh_db().await;
    let first = migrate(&db.url, &["--seed"]).await;
    first.expect_code(0);
    assert!(
        first.stderr.contains("seed: added 1 user(s)"),
        "{}",
        first.stderr
    );
    let counts = |db| async move {
        (
            count(db, "users").await,
            count(db, "accounts").await,
            count(db, "transactions").await,
        )
    };
    let after_first = counts(&db).await;
    assert_eq!(after_first.0, 1);
    assert!(after_first.1 >= 3 && after_first.2 >= 3, "{after_first:?}");
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'demo@example.com'")
            .fetch_one(&db.pool)
            .await
            .expect("demo user");
    assert!(backend::auth::password::verify("demo-password", &hash));

    let second = migrate(&db.url, &["--seed"]).await;
    second.expect_code(0);
    assert!(second.stderr.contains("nothing added"), "{}", second.stderr);
    assert_eq!(counts(&db).await, after_first);
    let hash_after: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'demo@example.com'")
            .fetch_one(&db.pool)
            .await
            .expect("demo user");
    assert_eq!(hash, hash_after, "the password is not re-hashed");
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_drops_everything_even_with_open_connections() {
    let db = fresh_db().await;
    migrate(&db.url, &["--seed"]).await.expect_code(0);
    sqlx::query("INSERT INTO users (email, password_hash) VALUES ('gone@example.com', 'x')")
        .execute(&db.pool)
        .await
        .expect("insert");
    // A client sitting on the database, as a running backend would.
    let mut held = PgConnection::connect(&db.url).await.expect("connect");
    sqlx::query("SELECT 1")
        .execute(&mut held)
        .await
        .expect("held works");

    let out = reset(&db.url, "development", &["--seed"]).await;
    out.expect_code(0);
    assert!(out.stderr.contains("terminated"), "{}", out.stderr);
    assert!(out.stderr.contains("dropped database"), "{}", out.stderr);
    assert!(out.stderr.contains("created database"), "{}", out.stderr);
    assert!(out.stderr.contains(&applied_all()), "{}", out.stderr);

    assert!(
        sqlx::query("SELECT 1").execute(&mut held).await.is_err(),
        "the held session was terminated"
    );
    let mut fresh = PgConnection::connect(&db.url).await.expect("reconnect");
    let emails: Vec<String> = sqlx::query_scalar("SELECT email FROM users ORDER BY email")
        .fetch_all(&mut fresh)
        .await
        .expect("users");
    assert_eq!(emails, vec!["demo@example.com".to_string()]);
    let _ = fresh.close().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_without_seed_leaves_an_empty_schema() {
    let db = fresh_db().await;
    migrate(&db.url, &["--seed"]).await.expect_code(0);
    db.pool.close().await;

    reset(&db.url, "dev-branch", &[]).await.expect_code(0);
    let mut conn = PgConnection::connect(&db.url).await.expect("connect");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&mut conn)
        .await
        .expect("users table exists");
    assert_eq!(users, 0);
    let _ = conn.close().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_is_refused_in_the_production_namespace() {
    let db = fresh_db().await;
    migrate(&db.url, &["--seed"]).await.expect_code(0);

    let out = reset(&db.url, "production", &["--seed"]).await;
    out.expect_code(6);
    assert!(
        out.stderr.contains("production namespace"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("nothing was dropped"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("--i-understand-this-destroys-production-data"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("terminated"), "{}", out.stderr);

    // A custom production namespace is honoured too.
    let mut cmd = tools(&["db-reset"]);
    cmd.env("DATABASE_URL", &db.url)
        .env("NAMESPACE", "prod-eu")
        .env("PRODUCTION_NAMESPACE", "prod-eu");
    run(cmd).await.expect_code(6);

    assert_eq!(count(&db, "users").await, 1, "production data untouched");
    assert_eq!(count(&db, "transactions").await, 6);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_explicit_flag_allows_a_production_reset() {
    let db = fresh_db().await;
    migrate(&db.url, &["--seed"]).await.expect_code(0);
    db.pool.close().await;

    let out = reset(
        &db.url,
        "production",
        &["--i-understand-this-destroys-production-data"],
    )
    .await;
    out.expect_code(0);
    assert!(out.stderr.contains("WARNING"), "{}", out.stderr);
    let mut conn = PgConnection::connect(&db.url).await.expect("connect");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&mut conn)
        .await
        .expect("users");
    assert_eq!(users, 0);
    let _ = conn.close().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_database_url_is_one_line_without_the_secret() {
    let mut cmd = tools(&["db-migrate"]);
    cmd.env("DATABASE_URL", "mysql://u:s3cret-pw@h/db");
    let out = run(cmd).await;
    out.expect_code(2);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("DATABASE_URL"), "{}", out.stderr);
    assert!(!out.stderr.contains("s3cret-pw"), "{}", out.stderr);
}

async fn migrate_in(url: &str, namespace: &str, extra: &[&str]) -> Run {
    let mut args = vec!["db-migrate", "--attempts", "2", "--retry-delay", "200ms"];
    args.extend_from_slice(extra);
    let mut cmd = tools(&args);
    cmd.env("DATABASE_URL", url).env("NAMESPACE", namespace);
    run(cmd).await
}

async fn is_marked(db: &test_support::TestDb) -> bool {
    tools::db::production_mark::is_marked(&db.pool)
        .await
        .expect("read the production mark")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrating_in_the_production_namespace_marks_the_database() {
    let db = fresh_db().await;
    migrate(&db.url, &[]).await.expect_code(0);
    assert!(!is_marked(&db).await, "no NAMESPACE: no mark");
    migrate_in(&db.url, "dev-branch", &[]).await.expect_code(0);
    assert!(!is_marked(&db).await, "a non-production namespace: no mark");

    let out = migrate_in(&db.url, "production", &[]).await;
    out.expect_code(0);
    assert!(
        out.stderr.contains("marked database") && out.stderr.contains("as production"),
        "{}",
        out.stderr
    );
    assert!(is_marked(&db).await);
    // Idempotent: a second production run keeps the one row.
    migrate_in(&db.url, "production", &[]).await.expect_code(0);
    assert_eq!(count(&db, "tools_production_mark").await, 1);
    // A later non-production migrate never removes it.
    migrate_in(&db.url, "dev-branch", &[]).await.expect_code(0);
    assert!(is_marked(&db).await);
    db.drop_db().await;
}

/// The reproduced incident: a production database (migrated with NAMESPACE=production) reached
/// from a dev shell through a port-forward, reset with NAMESPACE=dev.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_refuses_a_database_marked_as_production_whatever_the_namespace() {
    let db = fresh_db().await;
    migrate_in(&db.url, "production", &["--seed"])
        .await
        .expect_code(0);
    // A client on the database, as a production backend would be: it must survive.
    let mut held = PgConnection::connect(&db.url).await.expect("connect");

    for namespace in ["dev", "production-copy"] {
        let out = reset(&db.url, namespace, &["--seed"]).await;
        out.expect_code(6);
        let errors = out.errors();
        assert_eq!(errors.len(), 1, "{}", out.stderr);
        assert!(
            errors[0].contains("marked as production")
                && errors[0].contains("namespace 'production'")
                && errors[0].contains("nothing was dropped")
                && errors[0].contains("--i-understand-this-destroys-production-data"),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("terminated"), "{}", out.stderr);
    }

    sqlx::query("SELECT 1")
        .execute(&mut held)
        .await
        .expect("the production session was not terminated");
    assert_eq!(count(&db, "users").await, 1, "production rows still there");
    assert_eq!(count(&db, "transactions").await, 6);
    assert!(is_marked(&db).await);
    let _ = held.close().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_explicit_flag_resets_a_marked_database_and_only_production_marks_it_again() {
    let db = fresh_db().await;
    migrate_in(&db.url, "production", &["--seed"])
        .await
        .expect_code(0);
    db.pool.close().await;

    let out = reset(
        &db.url,
        "dev",
        &["--i-understand-this-destroys-production-data"],
    )
    .await;
    out.expect_code(0);
    assert!(
        out.stderr.contains("WARNING") && out.stderr.contains("marked as production"),
        "{}",
        out.stderr
    );
    let mut conn = PgConnection::connect(&db.url).await.expect("connect");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&mut conn)
        .await
        .expect("users");
    assert_eq!(users, 0);
    assert!(
        !tools::db::production_mark::is_marked(&mut conn)
            .await
            .expect("mark"),
        "a database recreated from a dev namespace is not production"
    );
    let _ = conn.close().await;

    // Reset (with the flag) in the production namespace: the new database is production again.
    reset(
        &db.url,
        "production",
        &["--i-understand-this-destroys-production-data"],
    )
    .await
    .expect_code(0);
    let mut conn = PgConnection::connect(&db.url).await.expect("connect");
    assert!(tools::db::production_mark::is_marked(&mut conn)
        .await
        .expect("mark"));
    let _ = conn.close().await;
    db.drop_db().await;
}

/// A plain `pg_dump` / `pg_restore` (no `--create`) carries the mark: a restored copy of
/// production still says production.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mark_survives_pg_dump_and_pg_restore() {
    let source = fresh_db().await;
    migrate_in(&source.url, "production", &["--seed"])
        .await
        .expect_code(0);
    let copy = fresh_db().await;
    let bin = test_support::pg_bin().expect("PostgreSQL binaries");
    let (from, to) = (source.url.clone(), copy.url.clone());
    let status = tokio::task::spawn_blocking(move || {
        let dump = std::process::Command::new(bin.join("pg_dump"))
            .args(["--format=custom", "--no-owner", "-d", &from])
            .output()
            .expect("run pg_dump");
        assert!(
            dump.status.success(),
            "{}",
            String::from_utf8_lossy(&dump.stderr)
        );
        let mut restore = std::process::Command::new(bin.join("pg_restore"))
            .args(["--no-owner", "-d", &to])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("run pg_restore");
        use std::io::Write as _;
        restore
            .stdin
            .take()
            .expect("stdin")
            .write_all(&dump.stdout)
            .expect("feed pg_restore");
        restore.wait().expect("wait pg_restore")
    })
    .await
    .expect("join");
    assert!(status.success(), "pg_restore failed");

    assert!(is_marked(&copy).await, "the restored copy says production");
    assert_eq!(count(&copy, "users").await, 1);
    copy.drop_db().await;
    source.drop_db().await;
}
