//! Shared request state: the pool, the token keys, billing settings, the login and sign-up
//! limiters and the bound on concurrent password hashing.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use sqlx::PgPool;

use crate::auth::jwt::JwtKeys;
use crate::auth::password::HashPool;
use crate::auth::rate_limit::RateLimiter;

/// What the routes need to know, independent of how it was configured (flags, tests).
#[derive(Debug, Clone)]
pub struct Settings {
    pub jwt_secret: SecretString,
    pub jwt_ttl: Duration,
    pub stripe_webhook_secret: Option<SecretString>,
    pub subscriptions_enabled: bool,
    pub login_attempts_per_minute: u32,
    pub signup_attempts_per_minute: u32,
    /// Concurrent password hashes; 0 sizes it from the memory limit ([`HashPool::auto_size`]).
    pub password_hash_concurrency: usize,
    pub password_hash_wait: Duration,
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
    pub signup_limiter: Arc<RateLimiter>,
    pub password_hashes: Arc<HashPool>,
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
                    n => n,
                },
                settings.password_hash_wait,
            )),
            trust_forwarded_for: settings.trust_forwarded_for,
            cors_allowed_origins: settings.cors_allowed_origins,
        })
    }
}
