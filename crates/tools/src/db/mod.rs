//! Database commands: `db-migrate` ([`migrate`]), `db-reset` ([`reset`]), the demo data
//! ([`seed`]), the database's own "this is production" record ([`production_mark`]) and the
//! backend's least-privilege login ([`app_role`]), plus what they share: the `DATABASE_URL` newtype that never shows its password,
//! the database and retry flags, and connecting with bounded retries while the server is still
//! starting (what counts as "not reachable yet" is `backend::db::is_unavailable`, the same
//! judgement the backend answers 503 on).

pub mod app_role;
pub mod migrate;
pub mod production_mark;
pub mod reset;
pub mod seed;

use std::time::Duration;

use backend::db::is_unavailable;
use clap::Args;
use service_runtime::config::{format_duration, parse_duration};
use sqlx::{ConnectOptions, PgConnection};

use crate::exit::{self, Failure};

/// The backend's `DATABASE_URL` type: one parser, one password mask for every binary.
pub use backend::database_url::DatabaseUrl;

/// Where the database is.
#[derive(Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// PostgreSQL URL, e.g. postgres://app:PASSWORD@database:5432/app (printed with the password masked).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_parser = DatabaseUrl::parse)]
    pub database_url: DatabaseUrl,
}

/// How long to keep trying while the database is not reachable yet.
#[derive(Args, Debug, Clone)]
pub struct RetryArgs {
    /// Connection attempts before giving up (exit 3).
    #[arg(long, env = "DB_CONNECT_ATTEMPTS", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub attempts: u32,
    /// Time limit for one connection attempt (e.g. 500ms, 5s).
    #[arg(long, env = "DB_ATTEMPT_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub attempt_timeout: Duration,
    /// Pause between attempts.
    #[arg(long, env = "DB_RETRY_DELAY", default_value = "2s", value_parser = parse_duration)]
    pub retry_delay: Duration,
}

/// Why no connection could be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("database not reachable at {url} after {attempts} attempt(s)")]
    Unreachable {
        url: String,
        attempts: u32,
        #[source]
        last: anyhow::Error,
    },
    #[error("database at {url} refused the connection")]
    Refused {
        url: String,
        #[source]
        source: sqlx::Error,
    },
}

impl From<ConnectError> for Failure {
    fn from(err: ConnectError) -> Failure {
        Failure::new(exit::DB_UNREACHABLE, err)
    }
}

/// One attempt's error, as printed in the progress line.
#[derive(Debug, thiserror::Error)]
pub enum AttemptError {
    #[error("connection attempt timed out after {0:?}")]
    Timeout(std::time::Duration),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
}

/// Runs `attempt` up to `retry.attempts` times, printing each failure as
/// `PREFIX: attempt 2/5: database not reachable yet: ...; retrying in 2s`.
///
/// `attempt` returns `Ok(Some(..))` when done, `Err(Retry)` to try again, `Err(Stop)` to stop.
pub async fn with_retries<T, F, Fut>(
    prefix: &str,
    url: &DatabaseUrl,
    retry: &RetryArgs,
    mut attempt: F,
) -> Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Attempt>>,
{
    let mut last = None;
    for n in 1..=retry.attempts {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(Attempt::Stop(failure)) => return Err(failure),
            Err(Attempt::Retry(err)) => {
                let next = if n < retry.attempts {
                    format!("retrying in {}", format_duration(retry.retry_delay))
                } else {
                    "giving up".to_string()
                };
                eprintln!(
                    "{prefix}: attempt {n}/{}: database not reachable yet: {}; {next}",
                    retry.attempts,
                    service_runtime::config::chain(&err)
                );
                last = Some(err);
                if n < retry.attempts {
                    tokio::time::sleep(retry.retry_delay).await;
                }
            }
        }
    }
    Err(ConnectError::Unreachable {
        url: url.to_string(),
        attempts: retry.attempts,
        last: last.unwrap_or_else(|| anyhow::anyhow!("no attempt made")),
    }
    .into())
}

/// The outcome of one failed attempt in [`with_retries`].
pub enum Attempt {
    Retry(anyhow::Error),
    Stop(Failure),
}

/// Connects once within `retry.attempt_timeout`, classifying the error for [`with_retries`].
pub async fn connect_once(url: &DatabaseUrl, retry: &RetryArgs) -> Result<PgConnection, Attempt> {
    let result = tokio::time::timeout(retry.attempt_timeout, url.options().connect()).await;
    match result {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(err)) if is_unavailable(&err) => Err(Attempt::Retry(AttemptError::Sqlx(err).into())),
        Ok(Err(err)) => Err(Attempt::Stop(
            ConnectError::Refused {
                url: url.to_string(),
                source: err,
            }
            .into(),
        )),
        Err(_) => Err(Attempt::Retry(
            AttemptError::Timeout(retry.attempt_timeout).into(),
        )),
    }
}

/// Connects with retries (for commands that need nothing else to be retried).
pub async fn connect(
    prefix: &str,
    url: &DatabaseUrl,
    retry: &RetryArgs,
) -> Result<PgConnection, Failure> {
    with_retries(prefix, url, retry, || connect_once(url, retry)).await
}

/// Quotes a PostgreSQL identifier (database names come from the environment).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("app"), "\"app\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
