//! Database commands: `db-migrate` ([`migrate`]), `db-reset` ([`reset`]), the demo data
//! ([`seed`]) and the database's own "this is production" record ([`production_mark`]), plus what they share: the `DATABASE_URL` newtype that never shows its password,
//! the database and retry flags, and connecting with bounded retries while the server is still
//! starting (what counts as "not reachable yet" is `backend::db::is_unavailable`, the same
//! judgement the backend answers 503 on).

pub mod migrate;
pub mod production_mark;
pub mod reset;
pub mod seed;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use backend::db::is_unavailable;
use clap::Args;
use percent_encoding::percent_decode_str;
use secrecy::{ExposeSecret as _, SecretString};
use service_runtime::config::{format_duration, parse_duration};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, PgConnection};

use crate::exit::{self, Failure};

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

/// A parsed `DATABASE_URL`. `Display` and `Debug` show it with the password masked.
#[derive(Clone)]
pub struct DatabaseUrl {
    options: PgConnectOptions,
    masked: String,
    /// Kept apart for the libpq clients (`pg_dump`, `pg_restore`), which take it from the
    /// environment; sqlx has it inside `options`.
    password: Option<SecretString>,
}

impl DatabaseUrl {
    /// Accepts `postgres://` / `postgresql://` URLs. The error never echoes the URL (it holds a secret).
    pub fn parse(input: &str) -> Result<DatabaseUrl, String> {
        let url = reqwest::Url::parse(input.trim()).map_err(|e| {
            format!("not a valid URL ({e}); expected postgres://user:password@host:5432/db")
        })?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(format!(
                "unsupported scheme '{}'; expected postgres://user:password@host:5432/db",
                url.scheme()
            ));
        }
        let options = PgConnectOptions::from_str(input.trim())
            .map_err(|_| "not a valid PostgreSQL URL".to_string())?;
        let password = url
            .password()
            .map(|p| percent_decode_str(p).decode_utf8_lossy().into_owned())
            .or_else(|| {
                url.query_pairs()
                    .find(|(k, _)| k.eq_ignore_ascii_case("password"))
                    .map(|(_, v)| v.into_owned())
            })
            .map(SecretString::from);
        Ok(DatabaseUrl {
            options,
            masked: mask(url),
            password,
        })
    }

    pub fn options(&self) -> &PgConnectOptions {
        &self.options
    }

    /// The database name (`postgres` when the URL names none, as libpq does for user postgres).
    pub fn database(&self) -> String {
        self.options
            .get_database()
            .map(str::to_string)
            .unwrap_or_else(|| self.options.get_username().to_string())
    }

    /// The same server and credentials, another database (the maintenance database for resets).
    pub fn with_database(&self, database: &str) -> DatabaseUrl {
        let masked = match reqwest::Url::parse(&self.masked) {
            Ok(mut url) => {
                url.set_path(&format!("/{database}"));
                url.to_string()
            }
            Err(_) => self.masked.clone(),
        };
        DatabaseUrl {
            options: self.options.clone().database(database),
            masked,
            password: self.password.clone(),
        }
    }

    /// The connection as libpq environment variables, for `pg_dump` and `pg_restore`: the
    /// password travels in the child's environment, never on its command line (which `ps` shows).
    pub fn libpq_env(&self) -> Vec<(&'static str, String)> {
        let o = &self.options;
        let host = match o.get_socket() {
            Some(dir) => dir.display().to_string(),
            None => o.get_host().to_string(),
        };
        let sslmode = match o.get_ssl_mode() {
            PgSslMode::Disable => "disable",
            PgSslMode::Allow => "allow",
            PgSslMode::Prefer => "prefer",
            PgSslMode::Require => "require",
            PgSslMode::VerifyCa => "verify-ca",
            PgSslMode::VerifyFull => "verify-full",
        };
        let mut env = vec![
            ("PGHOST", host),
            ("PGPORT", o.get_port().to_string()),
            ("PGUSER", o.get_username().to_string()),
            ("PGDATABASE", self.database()),
            ("PGSSLMODE", sslmode.to_string()),
        ];
        if let Some(password) = &self.password {
            env.push(("PGPASSWORD", password.expose_secret().to_string()));
        }
        env
    }
}

fn mask(mut url: reqwest::Url) -> String {
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k.eq_ignore_ascii_case("password") {
                "***".to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    if !pairs.is_empty() {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.masked)
    }
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
    fn password_is_masked() {
        let url =
            DatabaseUrl::parse("postgres://app:s3cret@db:5432/app?sslmode=disable").expect("url");
        let shown = url.to_string();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("app:***@db:5432/app"), "{shown}");
        assert!(!format!("{url:?}").contains("s3cret"));
        let q = DatabaseUrl::parse("postgres://db/app?password=s3cret").expect("url");
        assert!(!q.to_string().contains("s3cret"), "{q}");
        assert_eq!(url.database(), "app");
        let admin = url.with_database("postgres");
        assert!(
            admin.to_string().ends_with("/postgres?sslmode=disable"),
            "{admin}"
        );
        assert!(!admin.to_string().contains("s3cret"));
    }

    #[test]
    fn libpq_env_carries_the_decoded_password() {
        let url = DatabaseUrl::parse("postgres://app:p%40ss@db:6543/ledger?sslmode=require")
            .expect("url");
        let env = url.libpq_env();
        let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("PGHOST"), Some("db"));
        assert_eq!(get("PGPORT"), Some("6543"));
        assert_eq!(get("PGUSER"), Some("app"));
        assert_eq!(get("PGDATABASE"), Some("ledger"));
        assert_eq!(get("PGSSLMODE"), Some("require"));
        assert_eq!(get("PGPASSWORD"), Some("p@ss"));
    }

    #[test]
    fn bad_urls_do_not_echo_the_input() {
        let err = DatabaseUrl::parse("mysql://u:s3cret@h/db").expect_err("scheme");
        assert!(!err.contains("s3cret"), "{err}");
        assert!(DatabaseUrl::parse("not a url").is_err());
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("app"), "\"app\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
