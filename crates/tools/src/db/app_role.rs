//! `--app-user` / `--app-password` of `db-migrate` and `db-reset`: least privilege for the backend.
//!
//! Migrations run as the schema owner; the backend connects as an application role that can only
//! read and write rows, so a bug or an injection in the API cannot drop a table, truncate the
//! ledger, rewrite the migration history or remove the production mark. The role and its grants
//! belong to the schema: whoever changes the schema must also grant the new tables, and the
//! migration Job always runs before a backend rollout, so `db-migrate` re-applies them on every
//! run, after the migrations and the production mark, while still holding the migration lock
//! (the SQL is [`backend::app_role::apply`], shared with the backend's tests).
//!
//! Both settings or neither: without them nothing about roles changes (the owner-only set-up of
//! before). The password is a secret like the others: never printed, and a placeholder or a
//! published local default is refused unless `ALLOW_INSECURE_DEFAULTS` is true — checked before
//! anything connects, so a refused run changes nothing.

use clap::{ArgAction, Args};
use secrecy::SecretString;
use sqlx::PgConnection;

use backend::known_secrets;

use crate::exit::{self, Failure};

/// The application role's login.
#[derive(Args, Debug, Clone)]
pub struct AppRoleArgs {
    /// The role the backend connects as (e.g. ledger_app): created if missing and granted
    /// SELECT/INSERT/UPDATE/DELETE on the tables, nothing else. Requires --app-password.
    #[arg(long, env = "APP_DATABASE_USER", requires = "app_password",
          value_parser = backend::app_role::parse_name)]
    pub app_user: Option<String>,
    /// The application role's password (secret; an existing role gets it: rotation). Requires
    /// --app-user.
    #[arg(long, env = "APP_DATABASE_PASSWORD", hide_env_values = true, requires = "app_user",
          value_parser = parse_password)]
    pub app_password: Option<SecretString>,
    /// Accept a placeholder or published local-only value for --app-password. Local development
    /// only: production never sets it.
    #[arg(long, env = "ALLOW_INSECURE_DEFAULTS", default_value_t = false, action = ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub allow_insecure_defaults: bool,
}

fn parse_password(s: &str) -> Result<SecretString, String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    Ok(SecretString::from(s))
}

/// A checked application role: what [`apply`] sets up.
pub struct AppRole {
    pub user: String,
    pub password: SecretString,
}

impl AppRoleArgs {
    /// The role to set up, if any; refuses (exit 2, one line) a known or placeholder password.
    pub fn role(&self) -> Result<Option<AppRole>, Failure> {
        let (Some(user), Some(password)) = (&self.app_user, &self.app_password) else {
            // clap's `requires` already refused one without the other.
            return Ok(None);
        };
        if !self.allow_insecure_defaults {
            known_secrets::check("--app-password (env APP_DATABASE_PASSWORD)", password)
                .map_err(|line| Failure::new(exit::USAGE, anyhow::anyhow!(line)))?;
        }
        Ok(Some(AppRole {
            user: user.clone(),
            password: password.clone(),
        }))
    }
}

/// Creates or updates the role and re-applies its grants, printing
/// `PREFIX: application role NAME: created|password updated; granted DML on N tables`.
pub async fn apply(prefix: &str, conn: &mut PgConnection, role: &AppRole) -> Result<(), Failure> {
    let applied = backend::app_role::apply(conn, &role.user, &role.password)
        .await
        .map_err(|e| {
            Failure::new(
                exit::FAILURE,
                anyhow::Error::new(e).context(format!(
                    "cannot set up the application role {}; nothing about it changed",
                    role.user
                )),
            )
        })?;
    let what = if applied.created {
        "created"
    } else {
        "password updated"
    };
    eprintln!(
        "{prefix}: application role {}: {what}; granted DML on {} tables",
        role.user, applied.dml_tables
    );
    Ok(())
}
