//! Exit codes shared by every subcommand, and the error type that carries one.
//!
//! Jobs and init containers are judged by their exit code alone, and an operator reading
//! `kubectl get pods` sees only the number: each failure class that calls for a different action
//! (wait for the database, fix a migration, deploy a newer image, stop and think) has its own.

use std::fmt;
use std::process::ExitCode;

/// Everything went as asked.
pub const SUCCESS: u8 = 0;
/// Any other failure: Stripe, files, seeding, a target not reachable by the deadline, unhealthy.
pub const FAILURE: u8 = 1;
/// Invalid command line or environment (clap; the line names the flag and its env var).
pub const USAGE: u8 = 2;
/// The database could not be reached (or refused the connection) after all attempts.
pub const DB_UNREACHABLE: u8 = 3;
/// A migration failed; its changes were rolled back.
pub const MIGRATION_FAILED: u8 = 4;
/// The database has applied migrations this binary does not know, or one it knows differently:
/// an older `tools` image is running against a newer schema.
pub const UNKNOWN_MIGRATIONS: u8 = 5;
/// `db-reset` refused to touch the production namespace.
pub const REFUSED_PRODUCTION: u8 = 6;

/// A failed command: the exit code to return and the error to print (with its causes) on one line.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl Failure {
    pub fn new(code: u8, error: impl Into<anyhow::Error>) -> Failure {
        Failure {
            code,
            error: error.into(),
        }
    }

    /// Prints `error: outer: cause: root cause` to stderr and returns the exit code.
    pub fn report(&self) -> ExitCode {
        eprintln!("error: {}", chain(&self.error));
        ExitCode::from(self.code)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", chain(&self.error))
    }
}

/// `outer: cause: root cause` on one line, skipping a cause its parent already quotes
/// (sqlx's "error communicating with database: Connection refused" wraps that io error).
pub fn chain(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if parts.last().is_some_and(|prev| prev.ends_with(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Failure {
        Failure {
            code: FAILURE,
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn chain_skips_causes_already_quoted() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let err = anyhow::Error::new(sqlx::Error::Io(io)).context("database not reachable");
        assert_eq!(
            super::chain(&err),
            "database not reachable: error communicating with database: Connection refused"
        );
    }
}
