//! `DATABASE_URL`, parsed once for the backend and `tools` alike, that never shows its password.
//!
//! sqlx's `PgConnectOptions` derives `Debug` with the password in clear, so a `{:?}` of any
//! settings struct holding one would print it. [`DatabaseUrl`] wraps the options and prints the
//! URL with the password replaced by `***` (in the userinfo and in a `?password=` query
//! parameter) for `Display` and `Debug`; the password itself is kept as a [`SecretString`] for the
//! checks that need it (known local defaults, [`crate::known_secrets`]).

use std::fmt;
use std::str::FromStr;

use secrecy::SecretString;
use sqlx::postgres::PgConnectOptions;

/// A parsed `DATABASE_URL`. `Display` and `Debug` show it with the password masked.
#[derive(Clone)]
pub struct DatabaseUrl {
    options: PgConnectOptions,
    password: Option<SecretString>,
    masked: String,
}

impl DatabaseUrl {
    /// Accepts `postgres://` / `postgresql://` URLs. The error never echoes the URL (it holds a secret).
    pub fn parse(input: &str) -> Result<DatabaseUrl, String> {
        let input = input.trim();
        let url = url::Url::parse(input).map_err(|e| {
            format!("not a valid URL ({e}); expected postgres://user:password@host:5432/db")
        })?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(format!(
                "unsupported scheme '{}'; expected postgres://user:password@host:5432/db",
                url.scheme()
            ));
        }
        let options = PgConnectOptions::from_str(input)
            .map_err(|_| "not a valid PostgreSQL URL".to_string())?;
        Ok(DatabaseUrl {
            options,
            password: password_of(&url).map(SecretString::from),
            masked: mask(url),
        })
    }

    pub fn options(&self) -> &PgConnectOptions {
        &self.options
    }

    /// The password, from the userinfo or a `password` query parameter (the latter wins, as in
    /// sqlx), percent-decoded.
    pub fn password(&self) -> Option<&SecretString> {
        self.password.as_ref()
    }

    /// The user name the URL connects as.
    pub fn username(&self) -> &str {
        self.options.get_username()
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
        self.map(
            |o| o.database(database),
            |url| url.set_path(&format!("/{database}")),
        )
    }

    /// The same server and database, other credentials (the application role, for tests and for
    /// `tools` checking what that role may do). An empty password means none.
    pub fn with_credentials(&self, username: &str, password: &SecretString) -> DatabaseUrl {
        use secrecy::ExposeSecret as _;
        let mut copy = self.map(
            |o| o.username(username).password(password.expose_secret()),
            |url| {
                let _ = url.set_username(username);
                let shown = (!password.expose_secret().is_empty()).then_some("***");
                let _ = url.set_password(shown);
            },
        );
        copy.password = Some(password.clone());
        copy
    }

    /// The connection as libpq environment variables, for `pg_dump` and `pg_restore`: the
    /// password travels in the child's environment, never on its command line (which `ps` shows).
    pub fn libpq_env(&self) -> Vec<(&'static str, String)> {
        use secrecy::ExposeSecret as _;
        use sqlx::postgres::PgSslMode;
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

    /// Changes the options and the shown URL alike (the shown one keeps its mask).
    fn map(
        &self,
        options: impl FnOnce(PgConnectOptions) -> PgConnectOptions,
        shown: impl FnOnce(&mut url::Url),
    ) -> DatabaseUrl {
        let masked = match url::Url::parse(&self.masked) {
            Ok(mut url) => {
                shown(&mut url);
                url.to_string()
            }
            Err(_) => self.masked.clone(),
        };
        DatabaseUrl {
            options: options(self.options.clone()),
            password: self.password.clone(),
            masked,
        }
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<DatabaseUrl, String> {
        DatabaseUrl::parse(s)
    }
}

fn password_of(url: &url::Url) -> Option<String> {
    let query = url
        .query_pairs()
        .find(|(k, _)| k.eq_ignore_ascii_case("password"))
        .map(|(_, v)| v.into_owned());
    query.or_else(|| {
        url.password().map(|p| {
            percent_encoding::percent_decode_str(p)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

fn mask(mut url: url::Url) -> String {
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

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret as _;

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
        assert!(!format!("{q:?}").contains("s3cret"));
        assert_eq!(url.database(), "app");
        let admin = url.with_database("postgres");
        assert!(
            admin.to_string().ends_with("/postgres?sslmode=disable"),
            "{admin}"
        );
        assert!(!admin.to_string().contains("s3cret"));
    }

    #[test]
    fn the_password_is_kept_decoded_for_checks() {
        let url = DatabaseUrl::parse("postgres://app:p%40ss@db/app").expect("url");
        assert_eq!(url.password().map(|p| p.expose_secret()), Some("p@ss"));
        let q = DatabaseUrl::parse("postgres://app:x@db/app?password=other").expect("url");
        assert_eq!(q.password().map(|p| p.expose_secret()), Some("other"));
        assert!(DatabaseUrl::parse("postgres://db/app")
            .expect("url")
            .password()
            .is_none());
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
    fn other_credentials_keep_the_mask() {
        let url = DatabaseUrl::parse("postgres://owner:s3cret@db/app").expect("url");
        let app = url.with_credentials("ledger_app", &SecretString::from("other-pw"));
        assert_eq!(app.username(), "ledger_app");
        assert!(
            app.to_string()
                .starts_with("postgres://ledger_app:***@db/app"),
            "{app}"
        );
        assert!(!format!("{app:?}").contains("other-pw"));
    }

    #[test]
    fn bad_urls_do_not_echo_the_input() {
        let err = DatabaseUrl::parse("mysql://u:s3cret@h/db").expect_err("scheme");
        assert!(!err.contains("s3cret"), "{err}");
        assert!(DatabaseUrl::parse("not a url").is_err());
    }
}
