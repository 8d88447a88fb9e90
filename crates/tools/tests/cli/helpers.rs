//! Running the real `tools` binary, a fresh database per test, and tiny local HTTP servers.

use std::net::SocketAddr;
use std::process::{Command, Output};

use test_support::TestDb;

/// What a `tools` run produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from_output(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Panics with the whole output unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}, got {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// The `error: ...` lines of stderr (a failure must be exactly one).
    pub fn errors(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect()
    }

    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// The built binary with a clean environment: only what each test passes counts.
pub fn tools(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tools"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args(args);
    cmd
}

/// Runs a command to completion without blocking the test's async runtime.
pub async fn run(mut cmd: Command) -> Run {
    tokio::task::spawn_blocking(move || Run::from_output(cmd.output().expect("run tools")))
        .await
        .expect("join")
}

/// A fresh database (starting the throwaway cluster, a blocking affair, off the runtime).
pub async fn fresh_db() -> TestDb {
    tokio::task::spawn_blocking(test_support::server_url)
        .await
        .expect("PostgreSQL for tests");
    TestDb::new().await
}

pub async fn count(db: &TestDb, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("count {table}: {e}"))
}

pub async fn table_exists(db: &TestDb, table: &str) -> bool {
    sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL")
        .bind(format!("public.{table}"))
        .fetch_one(&db.pool)
        .await
        .expect("to_regclass")
}

/// Serves `app` on 127.0.0.1:0 for the rest of the test.
pub async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// A loopback port with nothing listening.
pub fn closed_port() -> u16 {
    test_support::free_port()
}
