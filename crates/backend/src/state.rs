//! What the handlers share, built once from the settings: the pool, the session keys, billing,
//! the login and sign-up limits and the bound on concurrent password hashing. Extractors take just the part they need through `FromRef` (the session
//! keys, for `AuthUser`), so no domain module depends on this one.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::FromRef;
use sqlx::PgPool;

use crate::auth::jwt::JwtKeys;
use crate::auth::password::HashPool;
use crate::auth::rate_limit::RateLimiter;
use crate::billing::checkout::Checkout;
use crate::billing::Billing;
use crate::config::Settings;
use crate::stripe::StripeApi;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub jwt: Arc<JwtKeys>,
    pub billing: Billing,
    /// Login attempts per client address.
    pub login_limiter: Arc<RateLimiter>,
    /// Login attempts per account, from any address.
    pub login_account_limiter: Arc<RateLimiter>,
    pub signup_limiter: Arc<RateLimiter>,
    pub password_hashes: Arc<HashPool>,
    /// Key the login limit on the last `X-Forwarded-For` entry (behind a trusted proxy only).
    pub trust_forwarded_for: bool,
}

impl AppState {
    /// The state for `settings`, on `pool`. Fails when the settings lack the JWT secret (clap
    /// requires it whenever the backend serves) or it cannot be used as a key.
    pub fn new(pool: PgPool, settings: &Settings) -> anyhow::Result<Self> {
        let Some(jwt_secret) = &settings.jwt_secret else {
            anyhow::bail!("--jwt-secret (env JWT_SECRET) is required");
        };
        Ok(AppState {
            pool,
            jwt: Arc::new(
                JwtKeys::new(jwt_secret, settings.jwt_ttl)
                    .context("JWT_SECRET cannot be used as a signing key")?,
            ),
            billing: billing(settings)?,
            login_limiter: Arc::new(RateLimiter::new(
                settings.login_attempts_per_minute,
                Duration::from_secs(60),
            )),
            login_account_limiter: Arc::new(RateLimiter::new(
                settings.login_attempts_per_account_per_minute,
                Duration::from_secs(60),
            )),
            signup_limiter: Arc::new(RateLimiter::new(
                settings.signup_attempts_per_minute,
                Duration::from_secs(60),
            )),
            password_hashes: Arc::new(HashPool::new(
                match settings.password_hash_concurrency {
                    0 => HashPool::auto_size(
                        service_runtime::limits::memory_limit(),
                        service_runtime::server::workers::default_count(),
                    ),
                    n => n as usize,
                },
                settings.password_hash_wait,
            )),
            trust_forwarded_for: settings.trust_forwarded_for,
        })
    }
}

/// Billing from the settings: Stripe Checkout only while subscriptions are enabled (the
/// settings' validation made sure the key, price and app URL are there then).
fn billing(settings: &Settings) -> anyhow::Result<Billing> {
    let checkout = match (
        settings.subscriptions_enabled,
        &settings.stripe_api_key,
        &settings.stripe_price_id,
        &settings.app_url,
    ) {
        (true, Some(key), Some(price_id), Some(app_url)) => Some(Arc::new(Checkout {
            api: StripeApi::new(
                &settings.stripe_api_base,
                key.clone(),
                concat!("ledgerly-backend/", env!("CARGO_PKG_VERSION")),
                settings.stripe_api_timeout,
            )
            .context("cannot set up the Stripe API client")?,
            price_id: price_id.clone(),
            app_url: app_url.as_str().trim_end_matches('/').to_string(),
        })),
        _ => None,
    };
    Ok(Billing {
        enabled: settings.subscriptions_enabled,
        webhook_secret: settings.stripe_webhook_secret.clone(),
        checkout,
        trial: chrono::TimeDelta::days(i64::from(settings.trial_days)),
    })
}

impl FromRef<AppState> for Arc<JwtKeys> {
    fn from_ref(state: &AppState) -> Self {
        state.jwt.clone()
    }
}
