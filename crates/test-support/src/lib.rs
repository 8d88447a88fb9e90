//! Test-only helpers: a real PostgreSQL for integration tests, never a mock.
//!
//! With `DATABASE_URL` set (CI with a service database, a developer's own server), tests use that
//! server. Without it, the first test in a test binary starts a throwaway cluster from the
//! PostgreSQL server binaries on this machine (`initdb` + `postgres` from
//! `/usr/lib/postgresql/*/bin`, or `$PG_BIN`) on a free loopback port, and removes it when the
//! test binary exits. Each test gets its own freshly created database ([`TestDb`]) and drops it.
//!
//! The same cluster serves the scripts that need a throwaway PostgreSQL (`make sqlx-prepare`,
//! `make bench`): the `with-postgres` binary runs a command against one, so there is one way to
//! start it.
//!
//! The throwaway cluster trusts the superuser `postgres` over loopback and asks every other role
//! for its password (SCRAM), so tests of the application role ([`APP_ROLE`]) see real
//! authentication: a wrong or rotated-away password is refused.
//!
//! [`stripe`] is a local stand-in for the Stripe API (and its hosted pages), for the tests and,
//! as the `stripe-stand-in` binary, for the end-to-end stack.
#![allow(unsafe_code)] // libc::atexit / getuid / chown for the throwaway cluster.

pub mod stripe;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

/// The application role the backend's tests connect as (cluster-wide, like every role): created
/// and granted by `backend::app_role::apply`, the code `tools db-migrate` runs, so the API suite
/// runs with exactly the privileges the backend has in production.
pub const APP_ROLE: &str = "ledger_app_test";
/// [`APP_ROLE`]'s fixed password (URL-safe as it is).
pub const APP_ROLE_PASSWORD: &str = "app-role-test-pw-5d1f0c2a9b7e";

/// A database of its own for one test; dropped (with `WITH (FORCE)`) by [`TestDb::drop_db`].
pub struct TestDb {
    pub name: String,
    /// Connection URL for this database (what `DATABASE_URL` would be).
    pub url: String,
    /// Connection URL of the server's maintenance database (`postgres`).
    pub admin_url: String,
    pub pool: PgPool,
}

impl TestDb {
    /// Creates a fresh, empty database. Migrations are the caller's business.
    pub async fn new() -> TestDb {
        let server = server_url();
        let admin_url = with_database(&server, "postgres");
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to test PostgreSQL at {admin_url}: {e}"));
        // The name is ours (a UUID), so formatting it into the statement is safe.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let _ = admin.close().await;
        let url = with_database(&server, &name);
        let pool = PgPoolOptions::new()
            .max_connections(5)
            .connect(&url)
            .await
            .expect("connect to test database");
        TestDb {
            name,
            url,
            admin_url,
            pool,
        }
    }

    /// Closes the pool and drops the database, even if something else still holds connections.
    pub async fn drop_db(self) {
        self.pool.close().await;
        if let Ok(mut admin) = PgConnection::connect(&self.admin_url).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            )))
            .execute(&mut admin)
            .await;
            let _ = admin.close().await;
        }
    }
}

/// Replaces the user and password of a postgres URL (both URL-safe as given).
pub fn with_credentials(url: &str, user: &str, password: &str) -> String {
    let scheme_end = url.find("://").map(|i| i + 3).unwrap_or(0);
    let rest = &url[scheme_end..];
    let host_start = match (rest.find('@'), rest.find('/')) {
        (Some(at), Some(slash)) if at < slash => at + 1,
        (Some(at), None) => at + 1,
        _ => 0,
    };
    format!(
        "{}{user}:{password}@{}",
        &url[..scheme_end],
        &rest[host_start..]
    )
}

/// Replaces the database name (path) of a postgres URL.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{base}/{db}{query}")
}

/// The server to create test databases on: `DATABASE_URL`, or a throwaway cluster.
pub fn server_url() -> String {
    // The cluster lives as long as the test binary (the atexit hook stops it), so it is kept in
    // a static rather than dropped (and stopped) right after start.
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => CLUSTER.get_or_init(Cluster::start).url(),
    }
}

/// A throwaway PostgreSQL cluster, owned by this process.
pub struct Cluster {
    pub port: u16,
    pub data_dir: PathBuf,
    bin: PathBuf,
    uid: Option<u32>,
    durable: bool,
    child: Option<Child>,
}

static CLUSTERS: Mutex<Vec<(u32, PathBuf)>> = Mutex::new(Vec::new());

extern "C" fn cleanup_clusters() {
    if let Ok(list) = CLUSTERS.lock() {
        for (pid, dir) in list.iter() {
            // SIGQUIT: immediate shutdown, the data is throwaway.
            unsafe { libc::kill(*pid as i32, libc::SIGQUIT) };
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && unsafe { libc::kill(*pid as i32, 0) } == 0 {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = std::fs::remove_dir_all(dir.parent().unwrap_or(dir));
        }
    }
}

impl Cluster {
    /// initdb + start on a free port; waits until it accepts connections. Panics with the reason.
    /// Tuned for tests: no fsync, no synchronous commit (the data is thrown away).
    pub fn start() -> Cluster {
        Self::start_with(false)
    }

    /// Like [`Cluster::start`], but with PostgreSQL's own durability settings (fsync on), for
    /// measurements that should see what a real server does.
    pub fn start_durable() -> Cluster {
        Self::start_with(true)
    }

    fn start_with(durable: bool) -> Cluster {
        let bin = pg_bin().expect(
            "no PostgreSQL server binaries: install postgresql (Debian) or set PG_BIN or DATABASE_URL",
        );
        let root = std::env::temp_dir().join(format!("pg-test-{}", uuid::Uuid::new_v4().simple()));
        let data_dir = root.join("data");
        std::fs::create_dir_all(&root).expect("create cluster dir");
        // PostgreSQL refuses to run as root: run it as nobody (or postgres) when we are root.
        let uid = if unsafe { libc::getuid() } == 0 {
            Some(postgres_uid())
        } else {
            None
        };
        if let Some(uid) = uid {
            chown(&root, uid);
        }
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
                "-D",
            ])
            .arg(&data_dir);
        as_user(&mut initdb, uid);
        let out = initdb.output().expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Trust only the superuser (what the tests administer with); every other role logs in
        // with its password, as in production.
        std::fs::write(
            data_dir.join("pg_hba.conf"),
            "local all all trust\n\
             host all postgres 127.0.0.1/32 trust\n\
             host all all 127.0.0.1/32 scram-sha-256\n",
        )
        .expect("write pg_hba.conf");
        let mut cluster = Cluster {
            port: 0,
            data_dir,
            bin,
            uid,
            durable,
            child: None,
        };
        cluster.run();
        unsafe { libc::atexit(cleanup_clusters) };
        cluster
    }

    fn run(&mut self) {
        self.run_on(free_port());
    }

    fn run_on(&mut self, port: u16) {
        let mut cmd = Command::new(self.bin.join("postgres"));
        cmd.arg("-D")
            .arg(&self.data_dir)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.data_dir.display()
            ))
            .args(["-c", "max_connections=300"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if !self.durable {
            cmd.args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]);
        }
        as_user(&mut cmd, self.uid);
        let child = cmd.spawn().expect("start postgres");
        CLUSTERS
            .lock()
            .expect("cluster registry")
            .push((child.id(), self.data_dir.clone()));
        self.port = port;
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = self.url();
        // Probed from a thread of its own so this works from sync and async callers alike.
        let accepts = move || {
            let url = url.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                let opts: PgConnectOptions = url.parse().ok()?;
                rt.block_on(async { opts.connect().await.ok()?.close().await.ok() })
            })
            .join()
            .ok()
            .flatten()
            .is_some()
        };
        loop {
            if accepts() {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("postgres exited during start-up: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not become ready within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server (fast shutdown); the data directory stays so [`Cluster::restart`] works.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
            let _ = child.wait();
            // Stopped: the exit hook must not signal that pid again (it may be reused by then).
            if let Ok(mut list) = CLUSTERS.lock() {
                list.retain(|(pid, _)| *pid != child.id());
            }
        }
    }

    /// Starts the server again on the same port (for outage-and-recovery tests).
    pub fn restart(&mut self) {
        self.run_on(self.port);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(self.data_dir.parent().unwrap_or(&self.data_dir));
    }
}

fn as_user(cmd: &mut Command, uid: Option<u32>) {
    use std::os::unix::process::CommandExt;
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid_gid(uid));
    }
}

fn postgres_uid() -> u32 {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find(|l| l.starts_with("postgres:"))
        .and_then(|l| l.split(':').nth(2))
        .and_then(|u| u.parse().ok())
        .unwrap_or(65534)
}

fn uid_gid(uid: u32) -> u32 {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[2].parse() == Ok(uid))
        .and_then(|f| f[3].parse().ok())
        .unwrap_or(65534)
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(uid_gid(uid))).expect("chown cluster dir");
}

/// A PostgreSQL client program (`pg_dump`, `pg_restore`) from the same installation as the server
/// the tests start, so client and server versions match.
pub fn pg_client(name: &str) -> PathBuf {
    pg_bin()
        .map(|bin| bin.join(name))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// The directory of the newest PostgreSQL server binaries here (`$PG_BIN` first): also where
/// `pg_dump` and `pg_restore` are.
pub fn pg_bin() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The value of one sample in Prometheus text: `series` is the metric name and its labels
/// exactly as exported (`http_requests_total{method="GET",route="page",status="200"}`); 0 when
/// the series is absent (a counter that never moved).
pub fn metric_sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().expect("a number"))
        .unwrap_or(0.0)
}
