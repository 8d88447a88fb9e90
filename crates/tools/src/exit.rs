//! Exit codes shared by every subcommand, the `--help` text listing them, and the error type
//! that carries one.
//!
//! Jobs and init containers are judged by their exit code alone, and an operator reading
//! `kubectl get pods` sees only the number: each failure class that calls for a different action
//! (wait for the database, fix a migration, deploy a newer image, stop and think) has its own.

use std::fmt;
use std::process::ExitCode;

use service_runtime::config::chain;

/// Any other failure: Stripe, files, seeding, a target not reachable by the deadline, unhealthy,
/// a failed backup (pg_dump, upload) or restore (pg_restore).
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
/// `db-reset` / `db-restore` refused to touch production: the production namespace (db-reset), or
/// a database marked as production.
pub const REFUSED_PRODUCTION: u8 = 6;
/// `db-restore` refused the backup: no manifest, size or SHA-256 not as recorded (truncated,
/// corrupted), or not decryptable with the given identity (wrong key). Nothing was restored.
pub const BACKUP_INVALID: u8 = 7;
/// `db-restore` refused a target database that already has tables (without `--clean`).
pub const TARGET_NOT_EMPTY: u8 = 8;

/// Every exit code with its line in `tools --help`.
pub const TABLE: [(u8, &str); 9] = [
    (0, "success"),
    (
        FAILURE,
        "other failure (Stripe, files, seeding, wait-for deadline, unhealthy)",
    ),
    (USAGE, "invalid command line or environment"),
    (
        DB_UNREACHABLE,
        "database unreachable (or connection refused) after all attempts",
    ),
    (
        MIGRATION_FAILED,
        "a migration failed (its changes were rolled back)",
    ),
    (
        UNKNOWN_MIGRATIONS,
        "the database has migrations this binary does not know: run a newer tools image",
    ),
    (
        REFUSED_PRODUCTION,
        "db-reset/db-restore refused: production namespace, or a database marked as production",
    ),
    (
        BACKUP_INVALID,
        "db-restore refused the backup: missing manifest, truncated/corrupted, or wrong key",
    ),
    (
        TARGET_NOT_EMPTY,
        "db-restore refused: the target database has tables (pass --clean)",
    ),
];

/// The "Exit codes:" section of `--help`, from [`TABLE`].
pub fn help() -> String {
    let mut text = String::from("Exit codes:");
    for (code, meaning) in TABLE {
        text.push_str(&format!("\n  {code}  {meaning}"));
    }
    text
}

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
        eprintln!("error: {self}");
        ExitCode::from(self.code)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", chain(&self.error))
    }
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
    use super::*;

    #[test]
    fn help_lists_every_code_once_in_order() {
        let help = help();
        assert!(
            help.starts_with("Exit codes:\n  0  success\n  1  other failure"),
            "{help}"
        );
        let codes: Vec<&str> = help
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(codes, ["0", "1", "2", "3", "4", "5", "6", "7", "8"]);
    }
}
