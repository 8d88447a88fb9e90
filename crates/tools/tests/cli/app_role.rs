//! `db-migrate --app-user --app-password`: the backend's application role, checked by logging in
//! as it (the test cluster asks every role but the superuser for its password).

use std::process::Stdio;
use std::time::Duration;

use sqlx::{Connection, PgConnection};
use test_support::TestDb;

use crate::helpers::{fresh_db, run, table_exists, tools, Run};

const PASSWORD: &str = "app-pw-7Rk2vQ9xLm4sT8wZ";
const ROTATED: &str = "app-pw-rotated-3Hd8nB1cYp6e";

/// A role name of this test's own: roles are cluster-wide and the tests run at once.
fn role_name() -> String {
    format!("app_{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

fn migrate_cmd(db: &TestDb, env: &[(&str, &str)]) -> std::process::Command {
    let mut cmd = tools(&["db-migrate", "--attempts", "2", "--retry-delay", "200ms"]);
    cmd.env("DATABASE_URL", &db.url).envs(env.iter().copied());
    cmd
}

async fn migrate_as(db: &TestDb, role: &str, password: &str) -> Run {
    run(migrate_cmd(
        db,
        &[
            ("APP_DATABASE_USER", role),
            ("APP_DATABASE_PASSWORD", password),
            ("NAMESPACE", "production"),
        ],
    ))
    .await
}

async fn login(db: &TestDb, role: &str, password: &str) -> Result<PgConnection, sqlx::Error> {
    PgConnection::connect(&test_support::with_credentials(&db.url, role, password)).await
}

async fn role_exists(db: &TestDb, role: &str) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
        .bind(role)
        .fetch_one(&db.pool)
        .await
        .expect("pg_roles")
}

/// Drops the databases, then the role (its grants went with them).
async fn finish(dbs: Vec<TestDb>, role: &str) {
    let admin = dbs[0].admin_url.clone();
    for db in dbs {
        db.drop_db().await;
    }
    let mut conn = PgConnection::connect(&admin).await.expect("admin");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP ROLE IF EXISTS {role}")))
        .execute(&mut conn)
        .await
        .expect("drop role");
}

async fn sqlstate(conn: &mut PgConnection, sql: &str) -> Option<String> {
    match sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut *conn)
        .await
    {
        Ok(_) => None,
        Err(e) => Some(
            e.as_database_error()
                .and_then(|d| d.code())
                .map(|c| c.into_owned())
                .unwrap_or_else(|| format!("not a database error: {e}")),
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_application_role_reads_and_writes_rows_and_nothing_else() {
    let db = fresh_db().await;
    let role = role_name();
    let out = migrate_as(&db, &role, PASSWORD).await;
    out.expect_code(0);
    // Five tables of the backend's; not the migration history, not the production mark.
    let line = format!("db-migrate: application role {role}: created; granted DML on 5 tables");
    assert!(out.stderr.contains(&line), "{}", out.stderr);
    assert!(!out.output().contains(PASSWORD), "{}", out.output());

    let mut app = login(&db, &role, PASSWORD)
        .await
        .expect("log in as the role");
    let rows = "\
        INSERT INTO users (id, email, password_hash) \
          VALUES ('00000000-0000-0000-0000-000000000001', 'ann@example.com', 'x'); \
        INSERT INTO accounts (id, user_id, name, type) VALUES \
          ('00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-000000000001', 'Cash', 'asset'), \
          ('00000000-0000-0000-0000-00000000000b', '00000000-0000-0000-0000-000000000001', 'Pay', 'income'); \
        INSERT INTO transactions (user_id, date, amount_cents, debit_account_id, credit_account_id) \
          VALUES ('00000000-0000-0000-0000-000000000001', '2026-01-01', 100, \
                  '00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-00000000000b'); \
        SELECT count(*) FROM users JOIN accounts ON accounts.user_id = users.id \
          JOIN transactions ON transactions.user_id = users.id; \
        UPDATE accounts SET name = 'Wallet' WHERE type = 'asset'; \
        UPDATE transactions SET amount_cents = 200; \
        SELECT max(version) FROM _sqlx_migrations; \
        DELETE FROM transactions; \
        DELETE FROM accounts; \
        DELETE FROM users;";
    assert_eq!(sqlstate(&mut app, rows).await, None, "DML as the role");
    for sql in [
        "CREATE TABLE extra (id int)",
        "DROP TABLE transactions",
        "TRUNCATE transactions",
        "ALTER TABLE users ADD COLUMN extra int",
        "CREATE INDEX users_extra ON users (created_at)",
        "DELETE FROM _sqlx_migrations",
        "UPDATE _sqlx_migrations SET success = false",
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (1, 'x', true, '\\x00', 1)",
        "SELECT * FROM tools_production_mark",
        "DELETE FROM tools_production_mark",
    ] {
        assert_eq!(
            sqlstate(&mut app, sql).await.as_deref(),
            Some("42501"),
            "{sql} should be refused (insufficient_privilege)"
        );
    }
    let _ = app.close().await;
    assert!(
        table_exists(&db, "tools_production_mark").await,
        "still marked"
    );
    finish(vec![db], &role).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_rotates_the_password_and_keeps_the_grants() {
    let db = fresh_db().await;
    let role = role_name();
    migrate_as(&db, &role, PASSWORD).await.expect_code(0);
    let out = migrate_as(&db, &role, ROTATED).await;
    out.expect_code(0);
    let line =
        format!("db-migrate: application role {role}: password updated; granted DML on 5 tables");
    assert!(out.stderr.contains(&line), "{}", out.stderr);
    assert!(!out.output().contains(ROTATED), "{}", out.output());

    let old = login(&db, &role, PASSWORD)
        .await
        .expect_err("the old password must stop working");
    assert_eq!(
        old.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("28P01"),
        "{old}"
    );
    let mut app = login(&db, &role, ROTATED).await.expect("the new password");
    assert_eq!(
        sqlstate(
            &mut app,
            "INSERT INTO stripe_events (id, type) VALUES ('evt_1', 'x')"
        )
        .await,
        None
    );
    assert_eq!(
        sqlstate(&mut app, "TRUNCATE stripe_events")
            .await
            .as_deref(),
        Some("42501")
    );
    let _ = app.close().await;

    // And again with the same password: the same outcome (idempotent).
    let out = migrate_as(&db, &role, ROTATED).await;
    out.expect_code(0);
    assert!(out.stderr.contains(&line), "{}", out.stderr);
    login(&db, &role, ROTATED).await.expect("still works");
    finish(vec![db], &role).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_setting_without_the_other_is_refused_and_changes_nothing() {
    let db = fresh_db().await;
    let role = role_name();
    for (given, missing) in [
        (
            ("APP_DATABASE_USER", role.as_str()),
            "APP_DATABASE_PASSWORD",
        ),
        (("APP_DATABASE_PASSWORD", PASSWORD), "APP_DATABASE_USER"),
    ] {
        let out = run(migrate_cmd(&db, &[given])).await;
        assert_ne!(out.code, 0, "{out:?}");
        let errors = out.errors();
        assert_eq!(errors.len(), 1, "{}", out.stderr);
        assert!(errors[0].contains(missing), "{}", errors[0]);
        assert!(!out.output().contains(PASSWORD), "{}", out.output());
    }
    assert!(!role_exists(&db, &role).await);
    assert!(!table_exists(&db, "users").await, "nothing migrated");
    finish(vec![db], &role).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_placeholder_password_is_refused_unless_insecure_defaults_are_allowed() {
    let db = fresh_db().await;
    let role = role_name();
    let placeholder = "__APP_DATABASE_PASSWORD__";
    for env in [vec![], vec![("ALLOW_INSECURE_DEFAULTS", "false")]] {
        let mut all = vec![
            ("APP_DATABASE_USER", role.as_str()),
            ("APP_DATABASE_PASSWORD", placeholder),
        ];
        all.extend(env);
        let out = run(migrate_cmd(&db, &all)).await;
        out.expect_code(2);
        assert_eq!(
            out.errors(),
            ["error: --app-password (env APP_DATABASE_PASSWORD) is a placeholder that was never \
              replaced; set a real secret (or --allow-insecure-defaults (env \
              ALLOW_INSECURE_DEFAULTS)=true, for local development only)"],
            "{}",
            out.stderr
        );
        assert!(!role_exists(&db, &role).await);
        assert!(!table_exists(&db, "users").await, "nothing migrated");
    }
    // The published compose default is refused the same way.
    let out = run(migrate_cmd(
        &db,
        &[
            ("APP_DATABASE_USER", role.as_str()),
            ("APP_DATABASE_PASSWORD", "ledger-app-local-only"),
        ],
    ))
    .await;
    out.expect_code(2);
    assert!(
        out.stderr.contains("well-known local-only default"),
        "{}",
        out.stderr
    );

    let out = run(migrate_cmd(
        &db,
        &[
            ("APP_DATABASE_USER", role.as_str()),
            ("APP_DATABASE_PASSWORD", placeholder),
            ("ALLOW_INSECURE_DEFAULTS", "true"),
        ],
    ))
    .await;
    out.expect_code(0);
    assert!(role_exists(&db, &role).await);
    finish(vec![db], &role).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_migrating_role_cannot_be_the_application_role() {
    let db = fresh_db().await;
    let out = migrate_as(&db, "postgres", PASSWORD).await;
    out.expect_code(1);
    assert!(
        out.stderr
            .contains("must not be the role migrating (postgres)"),
        "{}",
        out.stderr
    );
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_reset_sets_up_the_application_role_too() {
    let db = fresh_db().await;
    let role = role_name();
    let mut cmd = tools(&["db-reset", "--attempts", "2", "--retry-delay", "200ms"]);
    cmd.env("DATABASE_URL", &db.url)
        .env("NAMESPACE", "dev")
        .env("APP_DATABASE_USER", &role)
        .env("APP_DATABASE_PASSWORD", PASSWORD);
    // db-reset drops the database under the test's pool; check through a new connection.
    let out = run(cmd).await;
    out.expect_code(0);
    let line = format!("db-reset: application role {role}: created; granted DML on 5 tables");
    assert!(out.stderr.contains(&line), "{}", out.stderr);
    let mut app = login(&db, &role, PASSWORD).await.expect("log in");
    assert_eq!(sqlstate(&mut app, "SELECT count(*) FROM users").await, None);
    let _ = app.close().await;
    finish(vec![db], &role).await;
}

/// Two databases of one cluster migrating at once, the same role for both: both `CREATE ROLE`s
/// are made to run into a third, uncommitted creation of it, so they certainly race.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_runs_on_two_databases_share_the_role() {
    let (a, b) = (fresh_db().await, fresh_db().await);
    let role = role_name();
    let mut holder = PgConnection::connect(&a.admin_url).await.expect("admin");
    let mut tx = holder.begin().await.expect("begin");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE ROLE {role}")))
        .execute(&mut *tx)
        .await
        .expect("create the role, uncommitted");
    let xid: String = sqlx::query_scalar("SELECT pg_current_xact_id()::text")
        .fetch_one(&mut *tx)
        .await
        .expect("xid");
    let spawn = |db: &TestDb| {
        let mut cmd = migrate_cmd(
            db,
            &[
                ("APP_DATABASE_USER", role.as_str()),
                ("APP_DATABASE_PASSWORD", PASSWORD),
            ],
        );
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.spawn().expect("spawn tools")
    };
    let (run_a, run_b) = (spawn(&a), spawn(&b));
    let mut waiting = 0;
    for _ in 0..600 {
        waiting = sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_locks \
             WHERE locktype = 'transactionid' AND NOT granted AND transactionid::text = $1",
        )
        .bind(&xid)
        .fetch_one(&mut *tx)
        .await
        .expect("pg_locks");
        if waiting == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(waiting, 2, "both runs should be waiting to create the role");
    tx.rollback().await.expect("let them race");
    let outs = tokio::task::spawn_blocking(move || {
        [run_a, run_b].map(|c| Run::from_output(c.wait_with_output().expect("wait")))
    })
    .await
    .expect("join");
    for out in &outs {
        out.expect_code(0);
    }
    let said = |what: &str| {
        let line = format!("application role {role}: {what}; granted DML on 5 tables");
        outs.iter().filter(|o| o.stderr.contains(&line)).count()
    };
    assert_eq!(
        (said("created"), said("password updated")),
        (1, 1),
        "{outs:#?}"
    );
    for db in [&a, &b] {
        let mut app = login(db, &role, PASSWORD).await.expect("log in");
        assert_eq!(
            sqlstate(&mut app, "SELECT count(*) FROM accounts").await,
            None
        );
        let _ = app.close().await;
    }
    let _ = holder.close().await;
    finish(vec![a, b], &role).await;
}
