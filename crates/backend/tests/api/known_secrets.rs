//! The backend binary refuses placeholders and the published local-only secrets at start, one
//! line naming the setting, unless `ALLOW_INSECURE_DEFAULTS=true`; and the one list of those values
//! (`backend::known_secrets`) covers every default this repository ships.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use backend::known_secrets::{judge, Insecure, KNOWN_LOCAL_SECRETS};

const REAL_JWT: &str = "q3Jx9vT2mW8pL5nR7sY1bK4hF6dG0cZa";
const REAL_WEBHOOK: &str = "whsec_5f2b8e1c9a7d4f30b6e2a1c8d9f0e7b3";
const REAL_DB: &str = "postgres://ledger_app:Xk29fQ7mZp4R@127.0.0.1:1/ledger";

/// The backend with every secret real-looking, then `overrides` on top.
fn backend(overrides: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_backend"));
    cmd.env_clear()
        .env("DATABASE_URL", REAL_DB)
        .env("JWT_SECRET", REAL_JWT)
        .env("STRIPE_WEBHOOK_SECRET", REAL_WEBHOOK)
        .env("STRIPE_API_KEY", "sk_test_51HxYzAbCdEfGhIjKlMnOpQr")
        .env("STRIPE_PRICE_ID", "price_1NvXyZ")
        .env("APP_URL", "http://localhost:3000")
        .env("LOG_FORMAT", "json")
        // Two tests run the binary at once: the default metrics port would collide.
        .env("METRICS_PORT", "0");
    for (k, v) in overrides {
        cmd.env(k, v);
    }
    cmd
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn each_placeholder_or_published_default_stops_the_start_with_one_line_naming_it() {
    let cases: &[(&str, &str, &str)] = &[
        // k8s/base/secrets, never replaced: the reproduced free-webhook case.
        (
            "STRIPE_WEBHOOK_SECRET",
            "__WEBHOOK_SECRET_VALUE__",
            "__WEBHOOK_SECRET_VALUE__",
        ),
        ("STRIPE_WEBHOOK_SECRET", "whsec_changeme", "whsec_changeme"),
        (
            "DATABASE_URL",
            "postgres://ledger:__DATABASE_PASSWORD__@database:5432/ledger",
            "__DATABASE_PASSWORD__",
        ),
        // A long placeholder gets past the 32-byte rule and is refused as a placeholder.
        (
            "JWT_SECRET",
            "__JWT_SECRET_VALUE_PLEASE_REPLACE_0123__",
            "__JWT_SECRET_VALUE",
        ),
        ("STRIPE_API_KEY", "sk_test_changeme", "sk_test_changeme"),
        // The compose files' local-only defaults.
        (
            "JWT_SECRET",
            "local-only-jwt-secret-do-not-deploy-0123456789abcdef",
            "local-only-jwt",
        ),
        (
            "JWT_SECRET",
            "local-dev-only-jwt-secret-0123456789abcdef",
            "local-dev-only",
        ),
        (
            "STRIPE_WEBHOOK_SECRET",
            "whsec_local_only_do_not_deploy_0123456789abcdef",
            "whsec_local",
        ),
        (
            "DATABASE_URL",
            "postgres://ledger:ledger-local-only@database:5432/ledger",
            "ledger-local-only",
        ),
        (
            "DATABASE_URL",
            "postgres://ledger:ledger@database:5432/ledger",
            "ledger@",
        ),
        (
            "DATABASE_URL",
            "postgres://ledger@database:5432/ledger?password=postgres",
            "password=postgres",
        ),
    ];
    for (var, value, shown) in cases {
        let out = backend(&[(var, value)]).output().expect("run backend");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{var}={value}: {err}");
        assert!(
            err.contains(&format!("(env {var})")),
            "{var}={value}: {err}"
        );
        assert!(
            err.contains("ALLOW_INSECURE_DEFAULTS"),
            "{var}={value}: {err}"
        );
        assert!(
            !err.contains(shown),
            "{var}={value}: the value leaked: {err}"
        );
    }
}

#[test]
fn the_k8s_jwt_placeholder_is_refused_too() {
    // Shorter than 32 bytes, so the length rule is what stops it; either way, no start.
    let out = backend(&[("JWT_SECRET", "__JWT_SECRET__")])
        .output()
        .expect("run backend");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("JWT_SECRET"), "{}", stderr(&out));
}

#[tokio::test]
async fn with_the_local_development_switch_the_published_defaults_start() {
    let port = test_support::free_port();
    let mut child = backend(&[
        ("ALLOW_INSECURE_DEFAULTS", "true"),
        ("PORT", &port.to_string()),
        ("HOST", "127.0.0.1"),
        (
            "JWT_SECRET",
            "local-only-jwt-secret-do-not-deploy-0123456789abcdef",
        ),
        ("STRIPE_WEBHOOK_SECRET", "__WEBHOOK_SECRET_VALUE__"),
        (
            "DATABASE_URL",
            "postgres://ledger:ledger-local-only@127.0.0.1:1/ledger",
        ),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn backend");
    // /livez: the server answers (/healthz waits for a schema; there is no database here).
    let url = format!("http://127.0.0.1:{port}/livez");
    // reqwest is built without a default crypto provider (see tools::stripe::client).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut healthy = false;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("backend exited with {status} despite ALLOW_INSECURE_DEFAULTS");
        }
        if let Ok(res) = reqwest::get(&url).await {
            healthy = res.status().is_success();
            if healthy {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("backend output");
    let logs = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(healthy, "no live backend: {logs}");
    assert!(logs.contains("ALLOW_INSECURE_DEFAULTS is set"), "{logs}");
    assert!(
        !logs.contains("ledger-local-only"),
        "the password leaked: {logs}"
    );
}

/// The secret defaults written in a file: `${NAME:-value}` substitutions, `NAME: value` and
/// `NAME=value` lines, and the password of every `postgres://user:password@` URL.
fn defaults_in(text: &str) -> Vec<String> {
    const NAMES: [&str; 6] = [
        "JWT_SECRET",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_API_KEY",
        "POSTGRES_PASSWORD",
        "APP_DATABASE_PASSWORD",
        "DATABASE_PASSWORD",
    ];
    let mut found = Vec::new();
    for name in NAMES {
        for marker in [
            format!("${{{name}:-"),
            format!("{name}: "),
            format!("{name}="),
        ] {
            for (i, _) in text.match_indices(&marker) {
                let before = text[..i].chars().last();
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                    continue; // APP_DATABASE_PASSWORD= is not DATABASE_PASSWORD=
                }
                let rest = &text[i + marker.len()..];
                let value: String = rest
                    .chars()
                    .take_while(|c| !matches!(c, '}' | '\n' | '"' | ' ' | '`'))
                    .collect();
                if !value.is_empty() && !value.starts_with('$') {
                    found.push(value);
                }
            }
        }
    }
    for (i, _) in text.match_indices("postgres://") {
        let rest = &text[i + "postgres://".len()..];
        let Some(at) = rest.find('@') else { continue };
        let userinfo = &rest[..at];
        if let Some((_, password)) = userinfo.split_once(':') {
            if !password.contains(['/', ' ', '\n', '$']) {
                found.push(password.to_string());
            }
        }
        for var in ["${POSTGRES_PASSWORD:-", "${APP_DATABASE_PASSWORD:-"] {
            if let Some(v) = userinfo
                .strip_prefix("ledger:")
                .and_then(|u| u.strip_prefix(var))
            {
                found.push(v.trim_end_matches('}').to_string());
            }
        }
    }
    found
}

#[test]
fn every_secret_default_the_repository_ships_is_refused() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut published = Vec::new();
    let mut placeholders = Vec::new();
    for file in [
        "compose/docker-compose.yml",
        "compose/docker-compose.production.yml",
        "README.md",
    ] {
        let text = std::fs::read_to_string(root.join(file)).expect(file);
        published.extend(defaults_in(&text).into_iter().map(|v| (file, v)));
    }
    for dir in [
        "k8s/base/secrets",
        "k8s/overlays/development",
        "k8s/overlays/production",
    ] {
        for entry in std::fs::read_dir(root.join(dir)).expect(dir) {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("read");
            let name = path.display().to_string();
            placeholders.extend(defaults_in(&text).into_iter().map(|v| (name.clone(), v)));
        }
    }
    assert!(
        published.len() >= 6,
        "found too few defaults: {published:?}"
    );
    assert!(
        placeholders.len() >= 3,
        "found too few placeholders: {placeholders:?}"
    );
    for (file, value) in &published {
        assert!(
            KNOWN_LOCAL_SECRETS.contains(&value.as_str()),
            "{file} ships {value:?}: add it to backend::known_secrets::KNOWN_LOCAL_SECRETS"
        );
    }
    for (file, value) in &placeholders {
        assert!(
            matches!(
                judge(value),
                Some(Insecure::Placeholder | Insecure::KnownDefault)
            ),
            "{file}: {value:?} is not recognised as a placeholder"
        );
    }
}
