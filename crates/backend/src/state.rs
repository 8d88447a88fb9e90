//! Shared request state: the pool, the token keys, billing settings and the login limiter.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use sqlx::PgPool;

use crate::auth::jwt::JwtKeys;
use crate::auth::rate_limit::RateLimiter;

/// What the routes need to know, independent of how it was configured (flags, tests).
#[derive(Debug, Clone)]
pub struct Settings {
    pub jwt_secret: SecretString,
    pub jwt_ttl: Duration,
    pub stripe_webhook_secret: Option<SecretString>,
    pub subscriptions_enabled: bool,
    pub login_attempts_per_minute: u32,
    pub trust_forwarded_for: bool,
    pub cors_allowed_origins: Vec<String>,
}

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub jwt: Arc<JwtKeys>,
    pub stripe_webhook_secret: Option<SecretString>,
    pub subscriptions_enabled: bool,
    pub login_limiter: Arc<RateLimiter>,
    pub trust_forwarded_for: bool,
    pub cors_allowed_origins: Vec<String>,
}

impl AppState {
    /// Fails only when the JWT secret cannot be used as a key (empty).
    pub fn new(pool: PgPool, settings: Settings) -> Result<Self, jsonwebtoken::errors::Error> {
        Ok(AppState {
            pool,
            jwt: Arc::new(JwtKeys::new(&settings.jwt_secret, settings.jwt_ttl)?),
            stripe_webhook_secret: settings.stripe_webhook_secret,
            subscriptions_enabled: settings.subscriptions_enabled,
            login_limiter: Arc::new(RateLimiter::new(
                settings.login_attempts_per_minute,
                Duration::from_secs(60),
            )),
            trust_forwarded_for: settings.trust_forwarded_for,
            cors_allowed_origins: settings.cors_allowed_origins,
        })
    }
}
