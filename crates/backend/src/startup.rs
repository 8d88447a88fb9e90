//! The one place the backend is assembled, used by `main` and by the tests alike:
//! [`Application::build`] turns [`Settings`] into a bound listener and a [`Server`] serving
//! [`app`] (the routes, CORS, JSON fallbacks) with `/healthz`, the access log, the metrics
//! listener and the drain contract from `service_runtime`, and the schema gate
//! ([`crate::schema`]): serving starts at once, readiness once the database has the schema this
//! build expects.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use service_runtime::{Readiness, Server};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::Settings;
use crate::db::lazy_pool;
use crate::error::ApiError;
use crate::routes;
use crate::schema;
use crate::state::AppState;

/// The backend, bound and ready to serve.
pub struct Application {
    listener: TcpListener,
    metrics_addr: Option<SocketAddr>,
    server: Server,
    pool: PgPool,
    schema: Readiness,
}

impl Application {
    /// Connects the (lazy) pool, builds the state and the routes, and binds `host:port` from
    /// `settings` (port 0: any free port; see [`Application::local_addr`]).
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let Some(database) = settings.database_url.clone() else {
            anyhow::bail!("--database-url (env DATABASE_URL) is required");
        };
        let pool = lazy_pool(
            crate::db::with_session_limits(
                database.options().clone(),
                settings.database_statement_timeout,
                settings.database_lock_timeout,
            ),
            settings.database_max_connections,
            settings.database_acquire_timeout,
        );
        let state = AppState::new(pool.clone(), &settings)?;
        let password_hash_concurrency = state.password_hashes.size();
        let schema = Readiness::closed();
        let routes = app(state, &settings, schema.clone());
        let listener = settings.serve.bind(settings.port).await?;
        let metrics_listener = settings.serve.bind_metrics().await?;
        let metrics_addr = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());
        let mut registry = service_runtime::metrics::registry();
        crate::metrics::register(&mut registry, pool.clone());
        let closing = pool.clone();
        let server = Server::new(routes, &settings.serve)
            .peer_addr() // the login rate limit keys on it
            .metrics(metrics_listener, registry)
            .ready_when(schema.clone())
            .cleanup(async move { closing.close().await });
        tracing::info!(
            addr = %listener.local_addr()?,
            subscriptions_enabled = settings.subscriptions_enabled,
            password_hash_concurrency,
            memory_limit = service_runtime::limits::memory_limit(),
            "backend listening"
        );
        if settings.allow_insecure_defaults {
            tracing::warn!(
                "ALLOW_INSECURE_DEFAULTS is set: placeholder and published local-only secrets are \
                 accepted; never set it in production"
            );
        }
        Ok(Application {
            listener,
            metrics_addr,
            server,
            pool,
            schema,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where `/metrics` is served (`None` with `METRICS_PORT=0`).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The application's pool (tests read and write rows through it).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Open once the database has the schema this build expects (tests wait on `/healthz`).
    pub fn schema_ready(&self) -> bool {
        self.schema.is_open()
    }

    /// Serves until `stop` resolves, then drains (see `service_runtime::shutdown`). Meanwhile
    /// the schema gate polls the database until it is migrated ([`schema::wait_until_migrated`]).
    pub async fn run_until_stopped<S>(self, stop: S) -> std::io::Result<()>
    where
        S: std::future::Future + Send,
        S::Output: std::fmt::Debug,
    {
        let waiting = tokio::spawn(schema::wait_until_migrated(self.pool, self.schema));
        let served = self.server.serve(self.listener, stop).await;
        waiting.abort();
        served
    }
}

/// What `main` does once the settings are valid: build the application on a single-threaded
/// coordinator runtime and serve until SIGTERM/SIGINT/SIGQUIT.
pub fn run(settings: Settings) -> anyhow::Result<()> {
    let runtime = service_runtime::server::runtime().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let app = Application::build(settings).await?;
        app.run_until_stopped(service_runtime::shutdown::signal())
            .await?;
        Ok(())
    })
}

/// Every API route with CORS and the JSON fallbacks (`/healthz` and the access log are added
/// by the server). Billing routes, and the trial/subscription guard on writes to accounts and
/// transactions, only while subscriptions are enabled. Until `schema` opens, every route
/// answers 503 `schema_not_ready` (Stripe retries webhooks on 5xx, so none is lost).
pub fn app(state: AppState, settings: &Settings, schema: Readiness) -> Router {
    let mut data = Router::new()
        .merge(routes::accounts::router())
        .merge(routes::transactions::router());
    let mut router = Router::new().merge(routes::auth::router());
    if settings.subscriptions_enabled {
        // After the trial, writes need a subscription; reads never do.
        data = data.route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            routes::billing::require_write_access,
        ));
        router = router.merge(routes::billing::router());
    }
    let router = router.merge(data);
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(settings.cors_allowed_origins.clone()))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        // The next page of `GET /accounts`.
        .expose_headers([header::LINK]);
    let timeout = settings.request_timeout;
    router
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .with_state(state)
        .layer(middleware::from_fn_with_state(schema, require_schema))
        // Inside CORS, so a browser can read the 503 as well.
        .layer(middleware::from_fn(move |req, next| {
            with_timeout(timeout, req, next)
        }))
        .layer(cors)
}

/// One atomic load per request once the schema is there.
async fn require_schema(State(schema): State<Readiness>, request: Request, next: Next) -> Response {
    if schema.is_open() {
        next.run(request).await
    } else {
        ApiError::SchemaNotReady.into_response()
    }
}

/// Answers `503 request_timeout` for a request that takes longer than `timeout` (the handler's
/// future is dropped: a database query in flight is cancelled with it).
async fn with_timeout(timeout: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout {
            seconds: timeout.as_secs(),
        }
        .into_response(),
    }
}
