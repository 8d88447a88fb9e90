//! A burst of sign-ups and logins against the real backend binary with a small password-hashing
//! budget. Each argon2id hash holds 19 MiB while it runs; unbounded, a burst like this one ran
//! hundreds at once and a 256 MiB container was OOM-killed. With `PASSWORD_HASH_CONCURRENCY=2`
//! the process must survive, answer every request deliberately (201/200, or 429 / 503 with
//! `Retry-After` and the JSON error shape) and keep its peak RSS within what the budget allows.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{client, migrated_cluster, Service};

/// Hashes the backend may run at once in this test.
const CONCURRENCY: u64 = 2;
const MIB: u64 = 1024 * 1024;
/// argon2id's working memory per hash (the backend's parameters: m = 19 MiB).
const PER_HASH: u64 = 19 * MIB;
/// Allowance on top of the hashing budget for everything else a burst costs: 120 connections
/// and their buffers, the requests' JSON, the allocator keeping freed hash memory of the blocking
/// threads around for reuse (glibc gives each thread an arena).
const ALLOWANCE: u64 = 16 * MIB;
const SIGNUPS: usize = 80;
const LOGINS: usize = 40;
const PASSWORD: &str = "correct horse battery staple";

/// Peak and current resident set of a process, from /proc (bytes).
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{key} in /proc/{pid}/status"))
            * 1024
    };
    (kib("VmHWM:"), kib("VmRSS:"))
}

/// What one request of the burst got: its kind and status, or why it got none.
async fn send(url: String, path: &'static str, email: String) -> Result<String, String> {
    let r = client()
        .post(url)
        .json(&serde_json::json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .map_err(|e| format!("{path}: no answer: {e}"))?;
    let status = r.status();
    let retry_after = r.headers().contains_key("retry-after");
    let body: serde_json::Value = r
        .json()
        .await
        .map_err(|e| format!("{path} {status}: body is not JSON: {e}"))?;
    let expected = match (path, status) {
        ("/auth/signup", StatusCode::CREATED) | ("/auth/login", StatusCode::OK) => {
            return match body["token"].as_str() {
                Some(_) => Ok(format!("{path} {}", status.as_u16())),
                None => Err(format!("{path} {status} without a token: {body}")),
            }
        }
        (_, StatusCode::TOO_MANY_REQUESTS) => &["rate_limited"][..],
        // Hashing slots all busy, or (on a starved machine) no database connection in time.
        (_, StatusCode::SERVICE_UNAVAILABLE) => &["overloaded", "database_unavailable"][..],
        _ => return Err(format!("{path}: unexpected {status}: {body}")),
    };
    let error = &body["error"];
    let code = error["code"].as_str().unwrap_or_default();
    if !expected.contains(&code) || !error["message"].is_string() || !retry_after {
        return Err(format!(
            "{path} {status}: wanted a code in {expected:?}, a message and Retry-After; got {body} \
             (Retry-After present: {retry_after})"
        ));
    }
    Ok(format!("{path} {} {code}", status.as_u16()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signup_and_login_burst_is_answered_within_the_memory_budget() {
    let cluster = migrated_cluster().await;
    let mut backend = Service::spawn(
        "backend",
        &[
            ("DATABASE_URL", cluster.url()),
            ("JWT_SECRET", crate::db_outage::JWT_SECRET.into()),
            ("SUBSCRIPTIONS_ENABLED", "false".into()),
            ("WORKERS", "2".into()),
            ("PASSWORD_HASH_CONCURRENCY", CONCURRENCY.to_string()),
            ("PASSWORD_HASH_WAIT", "1s".into()),
            // All of the burst comes from 127.0.0.1: both limits are hit, deliberately.
            ("SIGNUP_ATTEMPTS_PER_MINUTE", "60".into()),
            ("LOGIN_ATTEMPTS_PER_MINUTE", "30".into()),
            ("DATABASE_MAX_CONNECTIONS", "10".into()),
        ],
    );
    backend.wait_healthy().await;
    // Warm up: one sign-up and one login, so the baseline includes what any hash leaves behind.
    crate::db_outage::signup(&backend, "burst-user@example.com").await;
    let login_url = backend.url("/auth/login");
    let login = || {
        send(
            login_url.clone(),
            "/auth/login",
            "burst-user@example.com".into(),
        )
    };
    assert_eq!(login().await, Ok("/auth/login 200".to_string()));
    let (_, baseline) = memory(backend.pid());

    let mut burst = Vec::new();
    for i in 0..SIGNUPS {
        burst.push(("/auth/signup", format!("burst-{i}@example.com")));
    }
    for _ in 0..LOGINS {
        burst.push(("/auth/login", "burst-user@example.com".to_string()));
    }
    let mut requests = tokio::task::JoinSet::new();
    for (path, email) in burst {
        requests.spawn(send(backend.url(path), path, email));
    }
    let answers = tokio::time::timeout(Duration::from_secs(60), requests.join_all())
        .await
        .expect("the burst finished within 60 s");

    let mut tally = BTreeMap::<String, usize>::new();
    let mut failures = Vec::new();
    for answer in answers {
        match answer {
            Ok(outcome) => *tally.entry(outcome).or_default() += 1,
            Err(failure) => failures.push(failure),
        }
    }
    let (peak, _) = memory(backend.pid());
    let bound = baseline + CONCURRENCY * PER_HASH + ALLOWANCE;
    eprintln!(
        "burst of {} answered: {tally:?}; RSS baseline {} MiB, peak (VmHWM) {} MiB, bound {} MiB",
        SIGNUPS + LOGINS,
        baseline / MIB,
        peak / MIB,
        bound / MIB
    );
    assert!(
        failures.is_empty(),
        "{} failed: {failures:#?}",
        failures.len()
    );
    assert!(backend.running(), "the backend died during the burst");
    assert!(
        peak <= bound,
        "peak RSS {} MiB exceeds baseline {} MiB + {CONCURRENCY} hashes x 19 MiB + {} MiB",
        peak / MIB,
        baseline / MIB,
        ALLOWANCE / MIB
    );
    // Some of it got through: the bound sheds excess, it does not refuse everything.
    assert!(
        tally.get("/auth/signup 201").copied().unwrap_or(0) > 0,
        "{tally:?}"
    );
    assert!(
        tally.get("/auth/login 200").copied().unwrap_or(0) > 0,
        "{tally:?}"
    );
    // And it still serves afterwards (a 429 while this minute's login budget is spent).
    let after = login().await;
    assert!(
        matches!(
            after.as_deref(),
            Ok("/auth/login 200" | "/auth/login 429 rate_limited")
        ),
        "{after:?}"
    );
    let healthz = client()
        .get(backend.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(healthz.status(), StatusCode::OK);
}
