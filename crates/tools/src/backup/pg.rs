//! Running PostgreSQL's own clients, `pg_dump` and `pg_restore`: where to find them (`PG_DUMP` /
//! `PG_RESTORE`, else `PATH`), the connection through libpq's environment variables (so the
//! password is never on a command line), and their stderr kept for the error line.

use std::ffi::OsString;
use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::db::DatabaseUrl;
use crate::exit::Failure;

/// At most this much of a client's stderr is kept (its last lines explain a failure).
const STDERR_KEEP: usize = 4096;

/// Which client binary: `PG_DUMP` / `PG_RESTORE` (a path) if set, else the name, found via `PATH`.
pub fn program(env_var: &str, name: &str) -> OsString {
    std::env::var_os(env_var)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| name.into())
}

/// A command for `program` connected to `url` through libpq's environment, with a clean stdin.
pub fn command(program: &OsString, url: &DatabaseUrl) -> Command {
    let mut cmd = Command::new(program);
    for (key, value) in url.libpq_env() {
        cmd.env(key, value);
    }
    // Never wait for a password prompt in a Job.
    cmd.arg("--no-password");
    cmd
}

/// `program --version`'s line, e.g. `pg_dump (PostgreSQL) 17.2`.
pub fn version(program: &OsString) -> Result<String, ClientError> {
    let out = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| ClientError::Start {
            program: program.to_string_lossy().into_owned(),
            source,
        })?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "cannot run {program} (install PostgreSQL's client tools or set PG_DUMP / PG_RESTORE)"
    )]
    Start {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{program} failed ({status}): {stderr}")]
    Failed {
        program: String,
        status: ExitStatus,
        stderr: String,
    },
}

/// A started client whose stderr is collected in the background.
pub struct Running {
    pub child: Child,
    program: String,
    stderr: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Running {
    /// Spawns `cmd` with stderr piped (stdin/stdout as the caller set them).
    pub fn spawn(mut cmd: Command, program: &OsString) -> Result<Running, ClientError> {
        let program = program.to_string_lossy().into_owned();
        let mut child =
            cmd.stderr(Stdio::piped())
                .spawn()
                .map_err(|source| ClientError::Start {
                    program: program.clone(),
                    source,
                })?;
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let reader = child.stderr.take().map(|mut pipe| {
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut kept) = sink.lock() {
                        kept.extend_from_slice(&buf[..n]);
                        let excess = kept.len().saturating_sub(STDERR_KEEP);
                        kept.drain(..excess);
                    }
                }
            })
        });
        Ok(Running {
            child,
            program,
            stderr,
            reader,
        })
    }

    /// Stops the client (a failed pipeline must not leave it running).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the client; a non-zero exit becomes an error carrying its stderr.
    pub fn wait(mut self) -> Result<(), ClientError> {
        let status = self.child.wait().map_err(|source| ClientError::Start {
            program: self.program.clone(),
            source,
        })?;
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        if status.success() {
            return Ok(());
        }
        let stderr = self
            .stderr
            .lock()
            .map(|s| String::from_utf8_lossy(&s).into_owned())
            .unwrap_or_default();
        let stderr = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
        Err(ClientError::Failed {
            program: self.program,
            status,
            stderr,
        })
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        Failure::from(anyhow::Error::new(e))
    }
}
