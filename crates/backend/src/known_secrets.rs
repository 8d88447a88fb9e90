//! Secrets everybody knows: the placeholders in `k8s/base/secrets` and the local-only defaults of
//! the compose files. A backend started with one of them would accept forged webhooks (anyone can
//! sign with `__WEBHOOK_SECRET_VALUE__`) or forged sessions, so it refuses to start unless the
//! explicit local-development switch (`ALLOW_INSECURE_DEFAULTS=true`) says this is a laptop.
//!
//! [`KNOWN_LOCAL_SECRETS`] is the one list of those values: every default in `compose/`, the k8s
//! development overlay and the docs must be in it (a test reads those files and checks). Besides
//! the list, [`judge`] recognises placeholder shapes nobody deploys on purpose: `__NAME__` tokens
//! (the k8s base secrets' convention) and `changeme`-like words.

use secrecy::{ExposeSecret, SecretString};

/// The flag and env var that lets known values through, for local development only.
pub const SWITCH: &str = "--allow-insecure-defaults (env ALLOW_INSECURE_DEFAULTS)";

/// Every local-only default value shipped in this repository (compose files, docs), for any of
/// the secrets: the JWT key, the Stripe webhook secret, the Stripe API key and the database
/// password. Add a value here when a file starts shipping it.
pub const KNOWN_LOCAL_SECRETS: &[&str] = &[
    // compose/docker-compose.yml (dev stack)
    "local-dev-only-jwt-secret-0123456789abcdef",
    "whsec_local_dev_only_0123456789abcdef",
    "sk_test_local_dev_only_0123456789",
    "ledger",
    // compose/docker-compose.production.yml (prod images on a laptop / CI)
    "local-only-jwt-secret-do-not-deploy-0123456789abcdef",
    "whsec_local_only_do_not_deploy_0123456789abcdef",
    "sk_test_local_only_do_not_deploy_0123456789",
    "ledger-local-only",
    "ledger-app-local-only",
    // PostgreSQL images' and tutorials' defaults
    "postgres",
];

/// Words (compared without case or punctuation) that mark a value as a stand-in for a secret.
const PLACEHOLDER_WORDS: &[&str] = &[
    "changeme",
    "changeit",
    "replaceme",
    "placeholder",
    "donotdeploy",
    "notforproduction",
    "fillmein",
    "yoursecret",
    "secrethere",
    "localonly",
    "devonly",
];

/// Whole values (after Stripe's key prefixes) that are stand-ins as well.
const PLACEHOLDER_VALUES: &[&str] = &[
    "secret", "password", "test", "example", "default", "dummy", "todo", "fixme", "insecure",
];

/// Prefixes Stripe puts before the random part of a secret.
const STRIPE_PREFIXES: &[&str] = &["whsec", "sktest", "sklive", "rktest", "rklive"];

/// Why a value cannot be a production secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insecure {
    /// A stand-in that was never replaced (`__WEBHOOK_SECRET_VALUE__`, `changeme`).
    Placeholder,
    /// A local-only default published in this repository ([`KNOWN_LOCAL_SECRETS`]).
    KnownDefault,
}

impl Insecure {
    fn describe(self) -> &'static str {
        match self {
            Insecure::Placeholder => "is a placeholder that was never replaced",
            Insecure::KnownDefault => {
                "is a well-known local-only default (published in this repository)"
            }
        }
    }
}

/// Whether `value` is a placeholder or a published default.
pub fn judge(value: &str) -> Option<Insecure> {
    let trimmed = value.trim();
    if KNOWN_LOCAL_SECRETS.contains(&trimmed) {
        return Some(Insecure::KnownDefault);
    }
    if has_name_token(trimmed) {
        return Some(Insecure::Placeholder);
    }
    let normal: String = trimmed
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if PLACEHOLDER_WORDS.iter().any(|w| normal.contains(w)) {
        return Some(Insecure::Placeholder);
    }
    let body = STRIPE_PREFIXES
        .iter()
        .find_map(|p| normal.strip_prefix(p))
        .unwrap_or(&normal);
    let one_char_repeated = body.chars().all(|c| body.starts_with(c));
    if PLACEHOLDER_VALUES.contains(&body) || one_char_repeated {
        return Some(Insecure::Placeholder);
    }
    None
}

/// A `__NAME__` token anywhere: the k8s base secrets' placeholders (`__JWT_SECRET__`,
/// `__WEBHOOK_SECRET_VALUE__`, `__DATABASE_PASSWORD__`), which `tools inject-stripe-secret` or
/// the deployment are meant to replace.
fn has_name_token(value: &str) -> bool {
    let mut rest = value;
    while let Some(start) = rest.find("__") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("__") else {
            return false;
        };
        let name = &after[..end];
        let is_name = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.ends_with(|c: char| c.is_ascii_alphanumeric());
        if is_name {
            return true;
        }
        rest = &rest[start + 1..];
    }
    false
}

/// `Err(one line naming the setting)` when `secret` is a known value; `setting` is how the line
/// names it, e.g. `--jwt-secret (env JWT_SECRET)`.
pub fn check(setting: &str, secret: &SecretString) -> Result<(), String> {
    match judge(secret.expose_secret()) {
        None => Ok(()),
        Some(why) => Err(format!(
            "{setting} {}; set a real secret (or {SWITCH}=true, for local development only)",
            why.describe()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_published_defaults_are_recognised() {
        for value in [
            "__WEBHOOK_SECRET_VALUE__",
            "__JWT_SECRET__",
            "whsec___WEBHOOK_SECRET_VALUE__",
            "prefix-__DATABASE_PASSWORD__",
            "changeme",
            "CHANGE_ME",
            "change-me-please-0123456789abcdef0123",
            "whsec_changeme",
            "replace-me",
            "secret",
            "sk_test_xxxxxxxxxxxx",
            "whsec_0000000000",
            "",
        ] {
            assert_eq!(judge(value), Some(Insecure::Placeholder), "{value:?}");
        }
        for value in KNOWN_LOCAL_SECRETS {
            assert_eq!(judge(value), Some(Insecure::KnownDefault), "{value:?}");
        }
    }

    #[test]
    fn real_looking_secrets_pass() {
        for value in [
            "whsec_5f2b8e1c9a7d4f30b6e2a1c8d9f0e7b3",
            "sk_live_51HxYzAbCdEfGhIjKlMnOpQr",
            "q3Jx9vT2mW8pL5nR7sY1bK4hF6dG0cZa",
            "test-jwt-secret-that-is-long-enough-0123",
            "a_b__c",
        ] {
            assert_eq!(judge(value), None, "{value:?}");
        }
    }

    #[test]
    fn the_refusal_names_the_setting_and_the_switch_but_not_the_value() {
        let line = check(
            "--jwt-secret (env JWT_SECRET)",
            &SecretString::from("__JWT_SECRET__"),
        )
        .expect_err("placeholder");
        assert!(
            line.starts_with("--jwt-secret (env JWT_SECRET) is a placeholder"),
            "{line}"
        );
        assert!(line.contains("ALLOW_INSECURE_DEFAULTS"), "{line}");
        assert!(!line.contains("__JWT_SECRET__"), "{line}");
        assert!(!line.contains('\n'));
    }
}
