//! The backend's settings, typed once: every one a clap flag that also reads an env var.
//! `main` parses them, tests fill them in with test values, and [`crate::startup::build`] is
//! the one place they become a running app.
//!
//! Secrets (`DATABASE_URL`, `JWT_SECRET`, `STRIPE_WEBHOOK_SECRET`, `STRIPE_API_KEY`) are declared with
//! `hide_env_values`, so `--help` and start-up errors never print them, and are held as
//! [`SecretString`] / [`DatabaseUrl`] so a stray `{:?}` cannot leak them either. Placeholders and
//! the published local defaults ([`crate::known_secrets`]) are refused at start unless
//! `ALLOW_INSECURE_DEFAULTS=true` says this is local development.

use std::time::Duration;

use axum::http::HeaderValue;
use clap::{ArgAction, Parser};
use secrecy::SecretString;
use service_runtime::telemetry::LogArgs;
use service_runtime::ServeArgs;

use crate::database_url::DatabaseUrl;
use crate::known_secrets;

/// HS256 keys shorter than the hash output make brute-forcing the key easier than the hash.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// The backend API: auth, accounts, transactions and Stripe billing on PostgreSQL.
#[derive(Parser, Debug)]
#[command(name = "backend", version, subcommand_negates_reqs = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub settings: Settings,
}

/// Everything the backend is configured with.
#[derive(clap::Args, Debug, Clone)]
pub struct Settings {
    /// Port to listen on.
    #[arg(long, env = "PORT", default_value_t = 5000)]
    pub port: u16,

    /// PostgreSQL connection URL (postgres://user:password@host:port/db).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, required = true,
          value_parser = DatabaseUrl::parse)]
    pub database_url: Option<DatabaseUrl>,

    /// Most connections the pool opens to PostgreSQL.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_max_connections: u32,

    /// How long a request waits for a database connection before answering 503.
    #[arg(long, env = "DATABASE_ACQUIRE_TIMEOUT", default_value = "3s",
          value_parser = service_runtime::config::parse_duration)]
    pub database_acquire_timeout: Duration,

    /// Longest one SQL statement may run before PostgreSQL cancels it (the request answers 503).
    #[arg(long, env = "DATABASE_STATEMENT_TIMEOUT", default_value = "10s",
          value_parser = service_runtime::config::parse_duration)]
    pub database_statement_timeout: Duration,

    /// Longest a statement waits for a row or table lock (e.g. behind a migration) before
    /// PostgreSQL gives up (the request answers 503).
    #[arg(long, env = "DATABASE_LOCK_TIMEOUT", default_value = "3s",
          value_parser = service_runtime::config::parse_duration)]
    pub database_lock_timeout: Duration,

    /// Key for signing session tokens (HS256), at least 32 bytes.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, required = true,
          value_parser = parse_jwt_secret)]
    pub jwt_secret: Option<SecretString>,

    /// How long a session token stays valid.
    #[arg(long, env = "JWT_TTL", default_value = "24h",
          value_parser = service_runtime::config::parse_duration)]
    pub jwt_ttl: Duration,

    /// Stripe webhook signing secret (`whsec_...`); required while subscriptions are enabled.
    #[arg(long, env = "STRIPE_WEBHOOK_SECRET", hide_env_values = true,
          value_parser = parse_secret)]
    pub stripe_webhook_secret: Option<SecretString>,

    /// Stripe secret API key (`sk_...`) for Checkout and the customer portal; required while
    /// subscriptions are enabled.
    #[arg(long, env = "STRIPE_API_KEY", hide_env_values = true,
          value_parser = parse_secret)]
    pub stripe_api_key: Option<SecretString>,

    /// The Stripe Price (`price_...`) a subscription is for; required while subscriptions are
    /// enabled.
    #[arg(long, env = "STRIPE_PRICE_ID", value_parser = parse_price_id)]
    pub stripe_price_id: Option<String>,

    /// Base URL of the Stripe API (a local stand-in in tests).
    #[arg(long, env = "STRIPE_API_BASE", default_value = "https://api.stripe.com",
          value_parser = parse_http_url)]
    pub stripe_api_base: reqwest::Url,

    /// How long a Stripe API call may take before the request answers 502.
    #[arg(long, env = "STRIPE_API_TIMEOUT", default_value = "10s",
          value_parser = service_runtime::config::parse_duration)]
    pub stripe_api_timeout: Duration,

    /// Where the app (the SPA) is served, e.g. `https://app.example.com`: Stripe sends the
    /// browser back under it. Required while subscriptions are enabled.
    #[arg(long, env = "APP_URL", value_parser = parse_http_url)]
    pub app_url: Option<reqwest::Url>,

    /// Days after sign-up during which a user may write without a subscription (0: none).
    #[arg(long, env = "TRIAL_DAYS", default_value_t = 14,
          value_parser = clap::value_parser!(u32).range(0..=3650))]
    pub trial_days: u32,

    /// Accept placeholder and published local-only secrets (JWT_SECRET, STRIPE_WEBHOOK_SECRET,
    /// STRIPE_API_KEY, the DATABASE_URL password). For local development only: production never
    /// sets it.
    #[arg(long, env = "ALLOW_INSECURE_DEFAULTS", default_value_t = false, action = ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub allow_insecure_defaults: bool,

    /// Turn billing on. When false, billing routes answer 404 and every user counts as subscribed.
    #[arg(long, env = "SUBSCRIPTIONS_ENABLED", default_value_t = true, action = ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub subscriptions_enabled: bool,

    /// Browser origins allowed to call the API (comma-separated), e.g. the SPA.
    #[arg(
        long,
        env = "CORS_ALLOWED_ORIGINS",
        value_delimiter = ',',
        default_value = "http://localhost:3000,http://127.0.0.1:3000",
        value_parser = parse_origin
    )]
    pub cors_allowed_origins: Vec<HeaderValue>,

    /// Login attempts allowed per client address per minute (then 429). IPv6 clients are
    /// counted by their /64.
    #[arg(long, env = "LOGIN_ATTEMPTS_PER_MINUTE", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub login_attempts_per_minute: u32,

    /// Login attempts allowed per account (email) per minute, from all addresses together
    /// (then 429): the limit on guessing one password from many addresses.
    #[arg(long, env = "LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub login_attempts_per_account_per_minute: u32,

    /// Sign-up attempts allowed per client address per minute (then 429).
    #[arg(long, env = "SIGNUP_ATTEMPTS_PER_MINUTE", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub signup_attempts_per_minute: u32,

    /// Password hashes (sign-up and login) computed at once; each holds 19 MiB while it runs.
    /// 0 sizes it from the container's memory limit: half of it, at least 1, at most 2 per CPU.
    #[arg(long, env = "PASSWORD_HASH_CONCURRENCY", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=1024))]
    pub password_hash_concurrency: u32,

    /// How long a sign-up or login waits for a free hashing slot before answering 503
    /// (at most 10s: past that the client is better off retrying).
    #[arg(long, env = "PASSWORD_HASH_WAIT", default_value = "2s",
          value_parser = parse_hash_wait)]
    pub password_hash_wait: Duration,

    /// Take the client address for the login limit from the last X-Forwarded-For entry (set this
    /// only behind a proxy that appends it, such as the gateway; otherwise clients can spoof it).
    #[arg(long, env = "TRUST_FORWARDED_FOR", default_value_t = false, action = ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub trust_forwarded_for: bool,

    /// Seconds a request may take from its head to its answer (body, database, hashing
    /// included); then it is answered `503 request_timeout` with Retry-After. Keep it below
    /// SHUTDOWN_TIMEOUT_SECONDS so a drain never cuts a request off unanswered.
    #[arg(long = "request-timeout-seconds", env = "REQUEST_TIMEOUT_SECONDS", default_value = "15",
          value_parser = service_runtime::config::parse_positive_seconds)]
    pub request_timeout: Duration,

    #[command(flatten)]
    pub serve: ServeArgs,

    #[command(flatten)]
    pub log: LogArgs,
}

pub use service_runtime::healthcheck::ServiceCommand as Command;

impl Settings {
    /// Checks the rules clap cannot express; the error is one line naming the setting.
    pub fn validate(&self) -> Result<(), String> {
        if !self.allow_insecure_defaults {
            self.refuse_known_secrets()?;
        }
        if !self.subscriptions_enabled {
            return Ok(());
        }
        let missing = [
            (
                "stripe-webhook-secret",
                "STRIPE_WEBHOOK_SECRET",
                self.stripe_webhook_secret.is_none(),
            ),
            (
                "stripe-api-key",
                "STRIPE_API_KEY",
                self.stripe_api_key.is_none(),
            ),
            (
                "stripe-price-id",
                "STRIPE_PRICE_ID",
                self.stripe_price_id.is_none(),
            ),
            ("app-url", "APP_URL", self.app_url.is_none()),
        ];
        match missing.iter().find(|(_, _, absent)| *absent) {
            Some((flag, env, _)) => Err(format!(
                "--{flag} (env {env}) is required while SUBSCRIPTIONS_ENABLED is true"
            )),
            None => Ok(()),
        }
    }

    /// Every secret setting, checked against [`known_secrets`]: the first known one is the error.
    fn refuse_known_secrets(&self) -> Result<(), String> {
        let secrets = [
            ("--jwt-secret (env JWT_SECRET)", self.jwt_secret.as_ref()),
            (
                "--stripe-webhook-secret (env STRIPE_WEBHOOK_SECRET)",
                self.stripe_webhook_secret.as_ref(),
            ),
            (
                "--stripe-api-key (env STRIPE_API_KEY)",
                self.stripe_api_key.as_ref(),
            ),
            (
                "the password in --database-url (env DATABASE_URL)",
                self.database_url.as_ref().and_then(DatabaseUrl::password),
            ),
        ];
        for (setting, secret) in secrets {
            if let Some(secret) = secret {
                known_secrets::check(setting, secret)?;
            }
        }
        Ok(())
    }
}

/// One allowed origin, as the `Access-Control-Allow-Origin` value it will be sent as.
fn parse_origin(s: &str) -> Result<HeaderValue, String> {
    s.trim()
        .parse::<HeaderValue>()
        .map_err(|_| "invalid origin".to_string())
}

fn parse_jwt_secret(s: &str) -> Result<SecretString, String> {
    if s.len() < MIN_JWT_SECRET_BYTES {
        return Err(format!(
            "must be at least {MIN_JWT_SECRET_BYTES} bytes (got {})",
            s.len()
        ));
    }
    Ok(SecretString::from(s))
}

/// Upper bound for `PASSWORD_HASH_WAIT`: a request parked longer holds its connection and body
/// for nothing a retry would not do better.
const MAX_HASH_WAIT: Duration = Duration::from_secs(10);

fn parse_hash_wait(s: &str) -> Result<Duration, String> {
    let wait = service_runtime::config::parse_duration(s)?;
    if wait > MAX_HASH_WAIT {
        return Err(format!("must be at most {}s", MAX_HASH_WAIT.as_secs()));
    }
    Ok(wait)
}

/// An absolute http(s) URL (`STRIPE_API_BASE`, `APP_URL`).
fn parse_http_url(s: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(s.trim()).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http:// or https:// URL with a host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment".into());
    }
    Ok(url)
}

fn parse_price_id(s: &str) -> Result<String, String> {
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err("must be a Stripe price id such as price_1Abc...".into());
    }
    Ok(s.to_string())
}

fn parse_secret(s: &str) -> Result<SecretString, String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    Ok(SecretString::from(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use service_runtime::config::{try_parse_from, ConfigError};

    fn invalid(args: &[&str]) -> String {
        match try_parse_from::<Cli, _, _>(args) {
            Err(ConfigError::Invalid(line)) => line,
            Err(ConfigError::Display(e)) => panic!("unexpected display: {e}"),
            Ok(_) => panic!("expected an invalid config"),
        }
    }

    const DB: &str = "postgres://u:pw@localhost/db";
    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn short_jwt_secret_is_rejected_without_echoing_it() {
        let line = invalid(&["backend", "--database-url", DB, "--jwt-secret", "shorty"]);
        assert!(line.contains("JWT_SECRET"), "{line}");
        assert!(!line.contains("shorty"), "{line}");
    }

    #[test]
    fn stripe_settings_required_only_with_subscriptions() {
        let base = ["backend", "--database-url", DB, "--jwt-secret", KEY];
        let full = [
            (
                "--stripe-webhook-secret",
                "whsec_5f2b8e1c9a7d4f30",
                "STRIPE_WEBHOOK_SECRET",
            ),
            ("--stripe-api-key", "sk_test_51HxYzAbCd", "STRIPE_API_KEY"),
            ("--stripe-price-id", "price_x", "STRIPE_PRICE_ID"),
            ("--app-url", "https://app.example.com", "APP_URL"),
        ];
        // Each one missing is named on its own.
        for skip in 0..full.len() {
            let mut args = base.to_vec();
            for (i, (flag, value, _)) in full.iter().enumerate() {
                if i != skip {
                    args.extend([*flag, *value]);
                }
            }
            let cli = try_parse_from::<Cli, _, _>(args)
                .map_err(|_| ())
                .expect("parses");
            let line = cli.settings.validate().expect_err("incomplete");
            assert!(line.contains(full[skip].2), "{line}");
            assert!(!line.contains('\n'), "{line}");
        }
        let mut args = base.to_vec();
        for (flag, value, _) in full {
            args.extend([flag, value]);
        }
        let cli = try_parse_from::<Cli, _, _>(args)
            .map_err(|_| ())
            .expect("parses");
        assert!(cli.settings.validate().is_ok());
        assert_eq!(
            cli.settings.stripe_api_base.as_str(),
            "https://api.stripe.com/"
        );
        assert_eq!(cli.settings.trial_days, 14);
        let mut off = base.to_vec();
        off.extend(["--subscriptions-enabled", "false"]);
        let cli = try_parse_from::<Cli, _, _>(off)
            .map_err(|_| ())
            .expect("parses");
        assert!(cli.settings.validate().is_ok());
        assert_eq!(cli.settings.port, 5000);
    }

    #[test]
    fn a_bad_cors_origin_names_the_setting() {
        let line = invalid(&[
            "backend",
            "--database-url",
            DB,
            "--jwt-secret",
            KEY,
            "--cors-allowed-origins",
            "http://ok.example,bad\u{7f}origin",
        ]);
        assert!(line.contains("CORS_ALLOWED_ORIGINS"), "{line}");
        assert!(line.contains("invalid origin"), "{line}");
    }

    #[test]
    fn password_hash_settings_default_to_auto_and_are_bounded() {
        let base = ["backend", "--database-url", DB, "--jwt-secret", KEY];
        let cli = try_parse_from::<Cli, _, _>(base)
            .map_err(|_| ())
            .expect("parses");
        assert_eq!(cli.settings.password_hash_concurrency, 0);
        assert_eq!(cli.settings.password_hash_wait, Duration::from_secs(2));
        assert_eq!(cli.settings.signup_attempts_per_minute, 10);
        let mut long = base.to_vec();
        long.extend(["--password-hash-wait", "1m"]);
        let line = invalid(&long);
        assert!(line.contains("PASSWORD_HASH_WAIT"), "{line}");
        let mut many = base.to_vec();
        many.extend(["--password-hash-concurrency", "5000"]);
        assert!(invalid(&many).contains("PASSWORD_HASH_CONCURRENCY"));
    }

    #[test]
    fn bad_billing_urls_and_ids_name_the_setting() {
        let base = ["backend", "--database-url", DB, "--jwt-secret", KEY];
        for (flag, value, env) in [
            ("--app-url", "app.example.com", "APP_URL"),
            ("--app-url", "ftp://app.example.com", "APP_URL"),
            ("--stripe-api-base", "not a url", "STRIPE_API_BASE"),
            ("--stripe-price-id", "price x", "STRIPE_PRICE_ID"),
            ("--trial-days", "5000", "TRIAL_DAYS"),
        ] {
            let mut args = base.to_vec();
            args.extend([flag, value]);
            let line = invalid(&args);
            assert!(line.contains(env), "{flag} {value}: {line}");
        }
    }

    #[test]
    fn an_empty_stripe_key_names_the_setting() {
        let line = invalid(&[
            "backend",
            "--database-url",
            DB,
            "--jwt-secret",
            KEY,
            "--stripe-api-key",
            "",
        ]);
        assert!(line.contains("STRIPE_API_KEY"), "{line}");
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let cli = try_parse_from::<Cli, _, _>([
            "backend",
            "--database-url",
            "postgres://app:db-pw-s3cret@db:5432/app?sslmode=disable",
            "--jwt-secret",
            "jwt-s3cret-0123456789abcdef0123456789",
            "--stripe-webhook-secret",
            "whsec_hook-s3cret",
        ])
        .map_err(|_| ())
        .expect("parses");
        let shown = format!("{cli:?} {:#?}", cli.settings);
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("postgres://app:***@db:5432/app"), "{shown}");
    }

    #[test]
    fn known_secrets_are_refused_unless_the_switch_is_set() {
        let base = [
            "backend",
            "--database-url",
            DB,
            "--jwt-secret",
            KEY,
            "--stripe-webhook-secret",
            "__WEBHOOK_SECRET_VALUE__",
            "--subscriptions-enabled",
            "false",
        ];
        let cli = try_parse_from::<Cli, _, _>(base)
            .map_err(|_| ())
            .expect("parses");
        let line = cli.settings.validate().expect_err("placeholder");
        assert!(line.contains("STRIPE_WEBHOOK_SECRET"), "{line}");
        let mut allowed = base.to_vec();
        allowed.extend(["--allow-insecure-defaults", "true"]);
        let cli = try_parse_from::<Cli, _, _>(allowed)
            .map_err(|_| ())
            .expect("parses");
        assert!(cli.settings.validate().is_ok());
    }

    #[test]
    fn healthcheck_needs_no_secrets() {
        let cli = try_parse_from::<Cli, _, _>(["backend", "healthcheck"]).map_err(|_| ());
        assert!(matches!(
            cli.expect("parses").command,
            Some(Command::Healthcheck(_))
        ));
    }
}
