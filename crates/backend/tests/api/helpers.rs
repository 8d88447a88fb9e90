//! `spawn_app()`: a migrated database of its own plus the real application, built by the same
//! `Application::build` as `main`, with test settings (port 0, that database, two workers). The
//! app connects as the application role ([`app_role_url`]), as in production: the whole API
//! suite is the proof that the backend needs nothing beyond reading and writing rows.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use backend::config::Settings;
use backend::startup::Application;
use reqwest::{Response, StatusCode};
use secrecy::SecretString;
use serde_json::Value;
use service_runtime::telemetry::{LogArgs, LogFormat};
use service_runtime::ServeArgs;
use test_support::TestDb;
use tokio::task::JoinHandle;

pub const WEBHOOK_SECRET: &str = "whsec_test_0123456789abcdef";
pub const JWT_SECRET: &str = "test-jwt-secret-that-is-long-enough-0123";
/// The Stripe key and price the test apps are configured with (and the stand-in accepts).
pub const STRIPE_API_KEY: &str = "sk_test_backend_0123456789abcdefghij";
pub const PRICE_ID: &str = "price_test_monthly";
pub const APP_URL: &str = "http://localhost:3000";

/// Settings for a test app; `Default` is billing on, generous login and sign-up limits.
pub struct Options {
    pub subscriptions_enabled: bool,
    pub login_attempts_per_minute: u32,
    pub login_attempts_per_account_per_minute: u32,
    pub signup_attempts_per_minute: u32,
    pub password_hash_concurrency: u32,
    pub password_hash_wait: Duration,
    pub trust_forwarded_for: bool,
    pub acquire_timeout: Duration,
    pub lock_timeout: Duration,
    /// Serve `/metrics` on a free loopback port ([`TestApp::metrics`]); off by default.
    pub metrics: bool,
    pub request_timeout: Duration,
    pub body_read_timeout: Duration,
    /// `STRIPE_API_BASE`; by default a closed loopback port (tests that call Stripe start a
    /// stand-in and pass its base).
    pub stripe_api_base: String,
    pub stripe_api_timeout: Duration,
    pub trial_days: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            subscriptions_enabled: true,
            login_attempts_per_minute: 100,
            login_attempts_per_account_per_minute: 100,
            signup_attempts_per_minute: 100,
            password_hash_concurrency: 0,
            password_hash_wait: Duration::from_secs(2),
            trust_forwarded_for: false,
            acquire_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(3),
            metrics: false,
            request_timeout: Duration::from_secs(15),
            body_read_timeout: Duration::from_secs(30),
            stripe_api_base: format!("http://127.0.0.1:{}", test_support::free_port()),
            stripe_api_timeout: Duration::from_secs(5),
            trial_days: 14,
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// `None` when the test brought its own database (see [`serve`]).
    pub db: Option<TestDb>,
    pub pool: sqlx::PgPool,
    /// `http://127.0.0.1:PORT/metrics` when the app serves metrics.
    pub metrics_url: Option<String>,
    server: JoinHandle<()>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    // Starting the throwaway cluster blocks: do it off the async thread, once per test binary.
    tokio::task::spawn_blocking(test_support::server_url)
        .await
        .expect("test PostgreSQL");
    let db = TestDb::new().await;
    backend::MIGRATOR.run(&db.pool).await.expect("migrate");
    let mut app = serve(&app_role_url(&db.url).await, options).await;
    app.db = Some(db);
    app
}

/// Sets up the application role on the database at `owner_url` exactly as `tools db-migrate`
/// does after migrating (the same `backend::app_role::apply`), and returns the URL to connect as
/// it. Run it again after migrating, as the migration Job does.
pub async fn app_role_url(owner_url: &str) -> String {
    use sqlx::Connection as _;
    let mut owner = sqlx::PgConnection::connect(owner_url)
        .await
        .expect("connect as the schema owner");
    backend::app_role::apply(
        &mut owner,
        test_support::APP_ROLE,
        &SecretString::from(test_support::APP_ROLE_PASSWORD),
    )
    .await
    .expect("set up the application role");
    let _ = owner.close().await;
    test_support::with_credentials(
        owner_url,
        test_support::APP_ROLE,
        test_support::APP_ROLE_PASSWORD,
    )
}

/// The settings `main` would parse, with test values: any free port on loopback, the database
/// at `url`, two worker threads, the test secrets.
fn settings(url: &str, options: Options) -> Settings {
    Settings {
        port: 0,
        database_url: Some(url.parse().expect("database url")),
        database_max_connections: 5,
        database_acquire_timeout: options.acquire_timeout,
        database_statement_timeout: Duration::from_secs(10),
        database_lock_timeout: options.lock_timeout,
        jwt_secret: Some(SecretString::from(JWT_SECRET)),
        jwt_ttl: Duration::from_secs(3600),
        stripe_webhook_secret: Some(SecretString::from(WEBHOOK_SECRET)),
        stripe_api_key: Some(SecretString::from(STRIPE_API_KEY)),
        stripe_price_id: Some(PRICE_ID.into()),
        stripe_api_base: options.stripe_api_base.parse().expect("stripe base"),
        stripe_api_timeout: options.stripe_api_timeout,
        app_url: Some(APP_URL.parse().expect("app url")),
        trial_days: options.trial_days,
        allow_insecure_defaults: false,
        subscriptions_enabled: options.subscriptions_enabled,
        cors_allowed_origins: vec!["http://localhost:3000".parse().expect("origin")],
        login_attempts_per_minute: options.login_attempts_per_minute,
        login_attempts_per_account_per_minute: options.login_attempts_per_account_per_minute,
        signup_attempts_per_minute: options.signup_attempts_per_minute,
        password_hash_concurrency: options.password_hash_concurrency,
        password_hash_wait: options.password_hash_wait,
        trust_forwarded_for: options.trust_forwarded_for,
        request_timeout: options.request_timeout,
        serve: ServeArgs {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            workers: 2,
            metrics_port: if options.metrics {
                test_support::free_port()
            } else {
                0
            },
            body_read_timeout: options.body_read_timeout,
            ..ServeArgs::default()
        },
        log: LogArgs {
            log_format: LogFormat::Json,
            log_filter: "info".into(),
        },
    }
}

/// Serves the backend against an already migrated database at `url`, once ready (what a
/// readiness probe waits for: the schema gate has seen the migrations).
pub async fn serve(url: &str, options: Options) -> TestApp {
    let app = serve_unready(url, options).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let health = app.get("/healthz", None).await;
        if health.status() == StatusCode::OK {
            return app;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the backend did not become ready within 10 s (is the database migrated?)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Serves the backend at `url` without waiting for readiness.
pub async fn serve_unready(url: &str, options: Options) -> TestApp {
    let app = Application::build(settings(url, options))
        .await
        .expect("the application builds");
    let addr = app.local_addr().expect("addr");
    let metrics_url = app.metrics_addr().map(|a| format!("http://{a}/metrics"));
    let pool = app.pool().clone();
    // The production server: worker threads with runtimes of their own, sharing the pool
    // (created on the test's runtime) across runtimes exactly as `main` does.
    let server = tokio::spawn(async move {
        let _ = app.run_until_stopped(std::future::pending::<()>()).await;
    });
    // reqwest is built without a default crypto provider (see tools::stripe::client).
    let _ = rustls::crypto::ring::default_provider().install_default();
    TestApp {
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        db: None,
        pool,
        metrics_url,
        server,
    }
}

pub use test_support::metric_sample as sample;

impl TestApp {
    /// The metrics text (the app must have been started with `metrics: true`).
    pub async fn metrics(&self) -> String {
        let url = self
            .metrics_url
            .as_deref()
            .expect("started with metrics: true");
        let res = self.client.get(url).send().await.expect("scrape");
        assert_eq!(res.status(), StatusCode::OK);
        res.text().await.expect("metrics text")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Stops the server and drops the test database.
    pub async fn finish(self) {
        self.server.abort();
        self.pool.close().await;
        if let Some(db) = self.db {
            db.drop_db().await;
        }
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// Signs up `email` and returns (token, user id).
    pub async fn signup(&self, email: &str) -> (String, String) {
        let res = self
            .post(
                "/auth/signup",
                None,
                &serde_json::json!({"email": email, "password": "correct horse battery"}),
            )
            .await;
        let body = expect(res, StatusCode::CREATED).await;
        (
            body["token"].as_str().expect("token").to_string(),
            body["user"]["id"].as_str().expect("id").to_string(),
        )
    }

    pub async fn create_account(&self, token: &str, name: &str, kind: &str) -> String {
        let res = self
            .post(
                "/accounts",
                Some(token),
                &serde_json::json!({"name": name, "type": kind}),
            )
            .await;
        let body = expect(res, StatusCode::CREATED).await;
        body["id"].as_str().expect("id").to_string()
    }
}

/// Asserts the status and returns the JSON body (Null for an empty body).
pub async fn expect(res: Response, status: StatusCode) -> Value {
    let got = res.status();
    let text = res.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }
}

/// Asserts an error answer in the API's shape and returns its `error` object.
pub async fn expect_error(res: Response, status: StatusCode, code: &str) -> Value {
    let body = expect(res, status).await;
    let error = body["error"].clone();
    assert_eq!(error["code"], code, "error body: {body}");
    assert!(error["message"].is_string(), "error body: {body}");
    error
}
