//! `inject-stripe-secret` and `stripe-webhook delete` against the local fake Stripe.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::fake_stripe::{FakeStripe, Mode, PROD_KEY, TEST_KEY};
use crate::helpers::{closed_port, run, tools, Run};

const PLACEHOLDER: &str = "__WEBHOOK_SECRET_VALUE__";
const BASE: &str = "backend.example.com/billing/webhook";
const EVENTS: [&str; 4] = [
    "checkout.session.completed",
    "invoice.paid",
    "invoice.payment_failed",
    "customer.subscription.deleted",
];

struct Files {
    _dir: tempfile::TempDir,
    store: PathBuf,
    target: PathBuf,
}

/// A temp dir with a target file (mode 0640, so a test sees it become 0600) holding the
/// placeholder, and no store yet.
fn files() -> Files {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("webhook-secrets.json");
    let target = dir.path().join("backend.env");
    std::fs::write(
        &target,
        format!("JWT_SECRET=abc\nSTRIPE_WEBHOOK_SECRET={PLACEHOLDER}\n"),
    )
    .expect("write target");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    Files {
        _dir: dir,
        store,
        target,
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

fn stored_secret(store: &Path, ns: &str) -> String {
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store).expect("read store")).expect("store json");
    json[ns]["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("no secret for {ns} in {json}"))
        .to_string()
}

fn inject_cmd(stripe: &FakeStripe, f: &Files, ns: &str) -> std::process::Command {
    inject_into(stripe, &f.store, &f.target, ns)
}

fn inject_into(
    stripe: &FakeStripe,
    store: &Path,
    target: &Path,
    ns: &str,
) -> std::process::Command {
    let mut cmd = tools(&[
        "inject-stripe-secret",
        "--namespace",
        ns,
        "--store",
        store.to_str().expect("utf-8 path"),
        "--target",
        target.to_str().expect("utf-8 path"),
    ]);
    cmd.env("STRIPE_API_KEY_TEST", TEST_KEY)
        .env("STRIPE_API_KEY_PROD", PROD_KEY)
        .env("STRIPE_WEBHOOK_URL_BASE", BASE)
        .env("STRIPE_API_BASE", stripe.base());
    cmd
}

async fn inject(stripe: &FakeStripe, f: &Files, ns: &str) -> Run {
    run(inject_cmd(stripe, f, ns)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_creates_and_injects_second_run_reuses() {
    let stripe = FakeStripe::start().await;
    let f = files();

    let first = inject(&stripe, &f, "feature-x").await;
    first.expect_code(0);
    let calls = stripe.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].method, "POST");
    assert_eq!(calls[0].key.as_deref(), Some(TEST_KEY));
    assert_eq!(
        calls[0].url.as_deref(),
        Some("https://feature-x.backend.example.com/billing/webhook")
    );
    assert_eq!(calls[0].events, EVENTS);
    let idempotency_key = calls[0]
        .idempotency_key
        .clone()
        .expect("Idempotency-Key sent");
    assert!(
        idempotency_key.starts_with("tools-webhook-endpoint-"),
        "{idempotency_key}"
    );

    let secret = stored_secret(&f.store, "feature-x");
    assert!(secret.starts_with("whsec_"), "{secret}");
    let target = std::fs::read_to_string(&f.target).expect("target");
    assert_eq!(
        target,
        format!("JWT_SECRET=abc\nSTRIPE_WEBHOOK_SECRET={secret}\n")
    );
    assert_eq!(mode(&f.store), 0o600, "store mode");
    assert_eq!(
        mode(&f.target),
        0o600,
        "the target holds the secret: owner only"
    );
    assert!(
        !first.output().contains(&secret),
        "secret printed:\n{}",
        first.output()
    );
    assert!(!first.output().contains(TEST_KEY), "key printed");
    assert!(
        first.stderr.contains("created webhook endpoint we_0001"),
        "{}",
        first.stderr
    );

    // A fresh copy of the template: the stored endpoint is reused, Stripe is not called again.
    std::fs::write(&f.target, format!("S={PLACEHOLDER}\nAGAIN={PLACEHOLDER}\n")).expect("write");
    let second = inject(&stripe, &f, "feature-x").await;
    second.expect_code(0);
    assert_eq!(stripe.calls().len(), 1, "no second POST");
    assert!(
        second.stderr.contains("reusing webhook endpoint we_0001"),
        "{}",
        second.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&f.target).expect("target"),
        format!("S={secret}\nAGAIN={secret}\n")
    );
    assert!(!second.output().contains(&secret));
    assert_eq!(stored_secret(&f.store, "feature-x"), secret);
}

/// A run whose answer was lost (the store never written: a crash, a timeout after Stripe acted)
/// is retried: the same Idempotency-Key makes Stripe hand back the same endpoint, so there is
/// still one endpoint and the secret in the files is the one Stripe will sign with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_run_reuses_the_idempotency_key_and_gets_the_same_endpoint() {
    let stripe = FakeStripe::start().await;
    let f = files();
    inject(&stripe, &f, "feature-y").await.expect_code(0);
    let first_secret = stored_secret(&f.store, "feature-y");
    std::fs::remove_file(&f.store).expect("lose the store");
    std::fs::write(&f.target, format!("STRIPE_WEBHOOK_SECRET={PLACEHOLDER}\n")).expect("write");

    let retry = inject(&stripe, &f, "feature-y").await;
    retry.expect_code(0);
    let calls = stripe.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].idempotency_key, calls[1].idempotency_key);
    assert!(
        retry.stderr.contains("created webhook endpoint we_0001"),
        "Stripe replayed the first endpoint: {}",
        retry.stderr
    );
    assert_eq!(stored_secret(&f.store, "feature-y"), first_secret);
    assert!(stripe.has_endpoint("we_0001") && !stripe.has_endpoint("we_0002"));

    // Another namespace is another endpoint, under another key.
    let g = files();
    inject(&stripe, &g, "feature-z").await.expect_code(0);
    let calls = stripe.calls();
    assert_ne!(calls[2].idempotency_key, calls[0].idempotency_key);
    assert!(stripe.has_endpoint("we_0002"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_uses_the_live_key_and_the_bare_url() {
    let stripe = FakeStripe::start().await;
    let f = files();
    inject(&stripe, &f, "production").await.expect_code(0);
    let calls = stripe.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].key.as_deref(), Some(PROD_KEY));
    assert_eq!(
        calls[0].url.as_deref(),
        Some("https://backend.example.com/billing/webhook")
    );
    let secret = stored_secret(&f.store, "production");
    assert!(std::fs::read_to_string(&f.target)
        .expect("target")
        .contains(&secret));

    // A renamed production namespace follows PRODUCTION_NAMESPACE.
    let g = files();
    let mut cmd = inject_cmd(&stripe, &g, "prod-eu");
    cmd.env("PRODUCTION_NAMESPACE", "prod-eu");
    run(cmd).await.expect_code(0);
    let calls = stripe.calls();
    assert_eq!(calls[1].key.as_deref(), Some(PROD_KEY));
    assert_eq!(
        calls[1].url.as_deref(),
        Some("https://backend.example.com/billing/webhook")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_key_leaves_every_file_as_it_was() {
    let stripe = FakeStripe::start().await;

    // Existing store (another namespace) and target: byte-identical afterwards.
    let f = files();
    let store_before = br#"{"other": {"endpoint_id": "we_9", "secret": "whsec_other", "url": "https://other.example.com"}}"#;
    std::fs::write(&f.store, store_before).expect("store");
    let target_before = std::fs::read(&f.target).expect("target");
    let mut cmd = inject_cmd(&stripe, &f, "feature-y");
    cmd.env("STRIPE_API_KEY_TEST", "sk_test_wrong_key_9999");
    let out = run(cmd).await;
    out.expect_code(1);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("STRIPE_API_KEY_TEST"), "{}", out.stderr);
    assert!(out.stderr.contains("401"), "{}", out.stderr);
    assert!(
        out.stderr.contains("Invalid API Key provided"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("no file was changed"), "{}", out.stderr);
    assert!(!out.output().contains("sk_test_wrong_key_9999"));
    assert_eq!(std::fs::read(&f.store).expect("store"), store_before);
    assert_eq!(std::fs::read(&f.target).expect("target"), target_before);

    // No store yet: still none afterwards.
    let g = files();
    let mut cmd = inject_cmd(&stripe, &g, "feature-y");
    cmd.env("STRIPE_API_KEY_TEST", "sk_test_wrong_key_9999");
    run(cmd).await.expect_code(1);
    assert!(!g.store.exists(), "store created despite the error");
    assert_eq!(std::fs::read(&g.target).expect("target"), target_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_placeholder_is_an_error_before_stripe_is_called() {
    let stripe = FakeStripe::start().await;
    let f = files();
    std::fs::write(&f.target, "STRIPE_WEBHOOK_SECRET=whsec_already_there\n").expect("write");
    let out = inject(&stripe, &f, "feature-x").await;
    out.expect_code(1);
    assert!(
        out.stderr.contains("does not contain the placeholder"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(PLACEHOLDER), "{}", out.stderr);
    assert!(stripe.calls().is_empty(), "Stripe was called");
    assert!(!f.store.exists());
    assert_eq!(
        std::fs::read_to_string(&f.target).expect("target"),
        "STRIPE_WEBHOOK_SECRET=whsec_already_there\n"
    );

    // A custom placeholder works.
    std::fs::write(&f.target, "S=@@SECRET@@\n").expect("write");
    let mut cmd = inject_cmd(&stripe, &f, "feature-x");
    cmd.args(["--placeholder", "@@SECRET@@"]);
    run(cmd).await.expect_code(0);
    let secret = stored_secret(&f.store, "feature-x");
    assert_eq!(
        std::fs::read_to_string(&f.target).expect("target"),
        format!("S={secret}\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_failures_are_one_line_and_change_nothing() {
    let stripe = FakeStripe::start().await;
    let cases: [(Mode, &[&str], &[&str]); 3] = [
        (
            Mode::Fail(400, "Invalid URL: URL must be publicly accessible."),
            &[],
            &["400", "Invalid URL: URL must be publicly accessible."],
        ),
        (Mode::Fail(503, "overloaded"), &[], &["unavailable", "503"]),
        (
            Mode::Slow(Duration::from_secs(5)),
            &["--timeout", "300ms"],
            &["did not answer within 300ms"],
        ),
    ];
    for (mode, args, expected) in cases {
        stripe.set_mode(mode.clone());
        let f = files();
        let before = std::fs::read(&f.target).expect("target");
        let mut cmd = inject_cmd(&stripe, &f, "feature-z");
        cmd.args(args);
        let out = run(cmd).await;
        out.expect_code(1);
        assert_eq!(
            out.stderr.trim().lines().count(),
            1,
            "{mode:?}: {}",
            out.stderr
        );
        for text in expected {
            assert!(out.stderr.contains(text), "{mode:?}: {}", out.stderr);
        }
        assert!(!f.store.exists(), "{mode:?}: store written");
        assert_eq!(std::fs::read(&f.target).expect("target"), before);
    }

    // Nothing listening at STRIPE_API_BASE.
    let f = files();
    let mut cmd = inject_cmd(&stripe, &f, "feature-z");
    cmd.env(
        "STRIPE_API_BASE",
        format!("http://127.0.0.1:{}", closed_port()),
    );
    let out = run(cmd).await;
    out.expect_code(1);
    assert!(out.stderr.contains("cannot reach Stripe"), "{}", out.stderr);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    assert!(!f.store.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_settings_are_named() {
    let stripe = FakeStripe::start().await;
    let f = files();
    let mut cmd = inject_cmd(&stripe, &f, "feature-x");
    cmd.env_remove("STRIPE_API_KEY_TEST");
    let out = run(cmd).await;
    out.expect_code(2);
    assert!(out.stderr.contains("STRIPE_API_KEY_TEST"), "{}", out.stderr);

    let mut cmd = inject_cmd(&stripe, &f, "feature-x");
    cmd.env("STRIPE_WEBHOOK_URL_BASE", "https://backend.example.com");
    let out = run(cmd).await;
    out.expect_code(2);
    assert!(
        out.stderr.contains("STRIPE_WEBHOOK_URL_BASE"),
        "{}",
        out.stderr
    );
    assert!(stripe.calls().is_empty());
    assert!(!f.store.exists());
}

fn delete_cmd(stripe: &FakeStripe, store: &Path, ns: &str) -> std::process::Command {
    let mut cmd = tools(&[
        "stripe-webhook",
        "delete",
        "--namespace",
        ns,
        "--store",
        store.to_str().expect("utf-8 path"),
    ]);
    cmd.env("STRIPE_API_KEY_TEST", TEST_KEY)
        .env("STRIPE_API_KEY_PROD", PROD_KEY)
        .env("STRIPE_API_BASE", stripe.base());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_the_endpoint_and_the_store_entry() {
    let stripe = FakeStripe::start().await;
    let f = files();
    inject(&stripe, &f, "feature-x").await.expect_code(0);
    // Two namespaces in the same store.
    let other_target = f.target.with_file_name("other.env");
    std::fs::write(&other_target, PLACEHOLDER).expect("write");
    run(inject_into(&stripe, &f.store, &other_target, "feature-y"))
        .await
        .expect_code(0);
    assert!(stripe.has_endpoint("we_0001") && stripe.has_endpoint("we_0002"));

    let out = run(delete_cmd(&stripe, &f.store, "feature-x")).await;
    out.expect_code(0);
    assert!(
        out.stderr.contains("deleted webhook endpoint we_0001"),
        "{}",
        out.stderr
    );
    let last = stripe.calls().pop().expect("a call");
    assert_eq!(
        (
            last.method.as_str(),
            last.path.as_str(),
            last.key.as_deref()
        ),
        ("DELETE", "/v1/webhook_endpoints/we_0001", Some(TEST_KEY))
    );
    assert!(!stripe.has_endpoint("we_0001"));
    let store: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&f.store).expect("store")).expect("json");
    assert!(store.get("feature-x").is_none(), "{store}");
    assert!(store.get("feature-y").is_some(), "{store}");
    assert_eq!(mode(&f.store), 0o600);

    // Nothing recorded: nothing to do.
    let calls = stripe.calls().len();
    let out = run(delete_cmd(&stripe, &f.store, "feature-x")).await;
    out.expect_code(0);
    assert!(out.stderr.contains("nothing to delete"), "{}", out.stderr);
    assert_eq!(stripe.calls().len(), calls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_treats_an_endpoint_stripe_no_longer_knows_as_gone() {
    let stripe = FakeStripe::start().await;
    let f = files();
    std::fs::write(
        &f.store,
        r#"{"old-branch": {"endpoint_id": "we_gone", "secret": "whsec_x", "url": "https://old-branch.example.com"}}"#,
    )
    .expect("store");
    let out = run(delete_cmd(&stripe, &f.store, "old-branch")).await;
    out.expect_code(0);
    assert!(out.stderr.contains("already gone"), "{}", out.stderr);
    let store: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&f.store).expect("store")).expect("json");
    assert_eq!(store, serde_json::json!({}));

    // A failing delete keeps the entry for a later retry.
    stripe.add_endpoint("we_kept", "https://kept.example.com");
    std::fs::write(
        &f.store,
        r#"{"kept": {"endpoint_id": "we_kept", "secret": "whsec_y", "url": "https://kept.example.com"}}"#,
    )
    .expect("store");
    let before = std::fs::read(&f.store).expect("store");
    let mut cmd = delete_cmd(&stripe, &f.store, "kept");
    cmd.env("STRIPE_API_KEY_TEST", "sk_test_wrong");
    let out = run(cmd).await;
    out.expect_code(1);
    assert!(out.stderr.contains("401"), "{}", out.stderr);
    assert_eq!(std::fs::read(&f.store).expect("store"), before);
    assert!(stripe.has_endpoint("we_kept"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_store_stops_before_stripe_creates_anything() {
    let stripe = FakeStripe::start().await;
    let f = files();
    let store = f.store.with_file_name("missing-dir").join("store.json");
    let before = std::fs::read(&f.target).expect("target");
    let out = run(inject_into(&stripe, &store, &f.target, "feature-x")).await;
    out.expect_code(1);
    assert!(
        out.stderr.contains("Stripe was not called"),
        "{}",
        out.stderr
    );
    assert!(stripe.calls().is_empty(), "an endpoint was created");
    assert_eq!(std::fs::read(&f.target).expect("target"), before);
}
