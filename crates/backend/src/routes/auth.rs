//! `POST /auth/signup`, `POST /auth/login`, `GET /users/me`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Extension;
use axum::Router;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::email::Email;
use crate::auth::jwt::AuthUser;
use crate::auth::rate_limit::{Key, RateLimiter};
use crate::db::acquire;
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

/// Argon2 cost grows with input; anything longer than this is not a password someone types.
const MAX_PASSWORD_BYTES: usize = 1024;
const MIN_PASSWORD_CHARS: usize = 8;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/signup", post(signup))
        .route("/auth/login", post(login))
        .route("/users/me", get(me))
}

#[derive(Deserialize)]
struct Credentials {
    email: String,
    password: String,
}

#[derive(Serialize)]
struct UserBody {
    id: Uuid,
    email: String,
    created_at: DateTime<Utc>,
    subscribed: bool,
}

#[derive(Serialize)]
struct TokenBody {
    token: String,
    user: UserBody,
}

/// The caller's address from the connection (and X-Forwarded-For when trusted).
type Peer = Option<Extension<ConnectInfo<SocketAddr>>>;

async fn signup(
    State(state): State<AppState>,
    connect_info: Peer,
    headers: HeaderMap,
    Json(body): Json<Credentials>,
) -> Result<(StatusCode, Json<TokenBody>), ApiError> {
    // Every sign-up costs a password hash: count attempts before doing any work.
    count_attempt(
        &state,
        &state.signup_limiter,
        "signup",
        connect_info,
        &headers,
    )?;
    let email = Email::parse(&body.email).map_err(|m| ApiError::validation("email", m))?;
    if body.password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::validation(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if body.password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::validation("password", "is too long"));
    }
    let hash = state.password_hashes.hash(body.password).await?;
    let row = sqlx::query!(
        "INSERT INTO users (email, password_hash) VALUES ($1, $2) RETURNING id, created_at",
        email.as_str(),
        hash
    )
    .fetch_one(&mut *acquire(&state.pool).await?)
    .await
    .map_err(|e| match ApiError::from(e) {
        ApiError::Conflict { .. } => ApiError::Conflict {
            code: "email_taken",
            message: "an account with this email already exists".into(),
        },
        other => other,
    })?;
    let subscribed = state.billing.is_subscribed(&state.pool, row.id).await?;
    let token = state.jwt.issue(row.id)?;
    let user = UserBody {
        id: row.id,
        email: email.as_str().to_string(),
        created_at: row.created_at,
        subscribed,
    };
    Ok((StatusCode::CREATED, Json(TokenBody { token, user })))
}

/// The address the login limit counts against. Behind a trusted proxy every peer is the proxy,
/// so the proxy's own (last) X-Forwarded-For entry names the client; earlier entries are
/// whatever the client sent and cannot be trusted.
fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trust_forwarded_for: bool) -> IpAddr {
    let forwarded = trust_forwarded_for
        .then(|| {
            headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .and_then(|last| last.trim().parse::<IpAddr>().ok())
        })
        .flatten();
    forwarded
        .or(peer)
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// Counts one attempt at `action` by the caller against `limiter`: 429 with Retry-After when
/// over it (and counted in `auth_throttled_attempts_total`).
fn count_attempt(
    state: &AppState,
    limiter: &RateLimiter,
    action: &'static str,
    connect_info: Peer,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let peer = connect_info.map(|Extension(ConnectInfo(addr))| addr.ip());
    let client = client_ip(peer, headers, state.trust_forwarded_for);
    count(limiter, Key::addr(client)).inspect_err(|_| crate::metrics::throttled(action))
}

fn count(limiter: &RateLimiter, key: Key) -> Result<(), ApiError> {
    limiter
        .check(key)
        .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })
}

async fn login(
    State(state): State<AppState>,
    connect_info: Peer,
    headers: HeaderMap,
    Json(body): Json<Credentials>,
) -> Result<Json<TokenBody>, ApiError> {
    count_attempt(
        &state,
        &state.login_limiter,
        "login",
        connect_info,
        &headers,
    )?;

    // An address that cannot be valid cannot have an account: same answer as a wrong password.
    let email = Email::parse(&body.email).ok();
    if let Some(email) = &email {
        let limiter = &state.login_account_limiter;
        count(limiter, limiter.account_key(email.as_str()))?;
    }
    let user = match &email {
        Some(email) => {
            sqlx::query!(
                "SELECT id, email, password_hash, created_at FROM users WHERE email = $1",
                email.as_str()
            )
            .fetch_optional(&mut *acquire(&state.pool).await?)
            .await?
        }
        None => None,
    };
    // An unknown email is verified against a dummy hash: it takes as long as a wrong password.
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let ok = body.password.len() <= MAX_PASSWORD_BYTES
        && state
            .password_hashes
            .verify(body.password, stored_hash)
            .await?;
    let user = match user {
        Some(user) if ok => user,
        _ => return Err(ApiError::InvalidCredentials),
    };
    let subscribed = state.billing.is_subscribed(&state.pool, user.id).await?;
    let token = state.jwt.issue(user.id)?;
    Ok(Json(TokenBody {
        token,
        user: UserBody {
            id: user.id,
            email: user.email,
            created_at: user.created_at,
            subscribed,
        },
    }))
}

async fn me(State(state): State<AppState>, user: AuthUser) -> Result<Json<UserBody>, ApiError> {
    let row = sqlx::query!(
        "SELECT id, email, created_at FROM users WHERE id = $1",
        user.id
    )
    .fetch_optional(&mut *acquire(&state.pool).await?)
    .await?
    // A valid token for a user that no longer exists is no longer a session.
    .ok_or(ApiError::Unauthorized)?;
    let subscribed = state.billing.is_subscribed(&state.pool, row.id).await?;
    Ok(Json(UserBody {
        id: row.id,
        email: row.email,
        created_at: row.created_at,
        subscribed,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_only_when_trusted_and_only_the_last_entry() {
        let peer: IpAddr = [10, 0, 0, 9].into();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "1.1.1.1, 203.0.113.7".parse().expect("hv"),
        );
        assert_eq!(client_ip(Some(peer), &headers, false), peer);
        assert_eq!(
            client_ip(Some(peer), &headers, true),
            IpAddr::from([203, 0, 113, 7])
        );
        headers.insert("x-forwarded-for", "garbage".parse().expect("hv"));
        assert_eq!(client_ip(Some(peer), &headers, true), peer);
        assert_eq!(client_ip(Some(peer), &HeaderMap::new(), true), peer);
    }
}
