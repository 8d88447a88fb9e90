//! `with-postgres [--durable] [--migrate DIR] -- CMD [ARGS...]`: runs CMD with `DATABASE_URL`
//! pointing at a throwaway PostgreSQL cluster (the tests' [`test_support::Cluster`]), then removes
//! the cluster and exits with CMD's exit status.
//!
//! `make sqlx-prepare` / `make sqlx-check` run the backend's compile-time query checks under it,
//! and `make bench` runs whole, so tests, scripts and benchmarks start PostgreSQL the same way.
//! While CMD runs, SIGINT (a Ctrl-C reaches CMD too) is waited out and SIGTERM/SIGHUP are passed
//! on to CMD, so the cluster is removed however CMD ends.
#![allow(unsafe_code)] // signal handlers and kill(2) for the child.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicI32, Ordering};

use clap::Parser;
use test_support::Cluster;

/// Run a command against a throwaway PostgreSQL (DATABASE_URL is set for it).
#[derive(Parser, Debug)]
#[command(name = "with-postgres")]
struct Args {
    /// Keep PostgreSQL's durability settings (fsync on) instead of the tests' fast ones.
    #[arg(long)]
    durable: bool,
    /// Apply the sqlx migrations in this directory to the `postgres` database first.
    #[arg(long, value_name = "DIR")]
    migrate: Option<PathBuf>,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<OsString>,
}

/// The running command's pid, for the signal handler (0: none yet).
static CHILD: AtomicI32 = AtomicI32::new(0);
/// A stop signal that arrived before the command ran (0: none).
static EARLY: AtomicI32 = AtomicI32::new(0);

extern "C" fn pass_on(signal: libc::c_int) {
    match CHILD.load(Ordering::Relaxed) {
        0 => EARLY.store(signal, Ordering::Relaxed),
        pid if signal != libc::SIGINT => unsafe {
            libc::kill(pid, signal);
        },
        _ => {}
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    // Installed before the cluster starts, so a stop during start-up still removes it. Handlers
    // (unlike ignored signals) are reset in the child by exec, so CMD sees the default.
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        unsafe { libc::signal(signal, pass_on as *const () as libc::sighandler_t) };
    }
    let cluster = if args.durable {
        Cluster::start_durable()
    } else {
        Cluster::start()
    };
    let url = cluster.url();
    if let Some(dir) = &args.migrate {
        if let Err(e) = migrate(&url, dir) {
            eprintln!(
                "with-postgres: migrating from {} failed: {e}",
                dir.display()
            );
            return ExitCode::FAILURE;
        }
    }
    if let early @ 1.. = EARLY.load(Ordering::Relaxed) {
        return ExitCode::from(128 + early as u8);
    }
    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let status = Command::new(program)
        .args(rest)
        .env("DATABASE_URL", &url)
        .spawn()
        .and_then(|mut child| {
            CHILD.store(child.id() as i32, Ordering::Relaxed);
            child.wait()
        });
    drop(cluster);
    match status {
        Ok(status) => {
            use std::os::unix::process::ExitStatusExt;
            let code = status
                .code()
                .or_else(|| status.signal().map(|s| 128 + s))
                .unwrap_or(1);
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        Err(e) => {
            eprintln!(
                "with-postgres: cannot run {}: {e}",
                program.to_string_lossy()
            );
            ExitCode::from(127)
        }
    }
}

fn migrate(url: &str, dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::migrate::Migrator::new(dir.to_path_buf())
            .await?
            .run(&mut conn)
            .await?;
        conn.close().await?;
        Ok(())
    })
}
