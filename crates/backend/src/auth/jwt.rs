//! Session tokens: HS256 JWTs with `sub` (user id), `iat` and `exp`, and the [`AuthUser`]
//! extractor that reads them from `Authorization: Bearer ...`. The extractor works with any state
//! that can hand out the keys (`Arc<JwtKeys>: FromRef<S>`), so this module knows nothing of the
//! application state.

use std::time::Duration;

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::{header, request::Parts};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    iat: u64,
    exp: u64,
}

impl JwtKeys {
    pub fn new(secret: &SecretString, ttl: Duration) -> Self {
        let key = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 30;
        validation.set_required_spec_claims(&["exp", "sub"]);
        JwtKeys {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            ttl,
        }
    }

    pub fn issue(&self, user_id: Uuid) -> Result<String, ApiError> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: user_id,
            iat: now,
            exp: now + self.ttl.as_secs(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    pub fn verify(&self, token: &str) -> Option<Uuid> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| data.claims.sub)
    }
}

/// The caller, authenticated by a valid bearer token; 401 JSON otherwise.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub id: Uuid,
}

impl<S> FromRequestParts<S> for AuthUser
where
    Arc<JwtKeys>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or(ApiError::Unauthorized)?;
        let keys = Arc::<JwtKeys>::from_ref(state);
        let id = keys.verify(token).ok_or(ApiError::Unauthorized)?;
        Ok(AuthUser { id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_foreign_key_rejected() {
        let keys = JwtKeys::new(&SecretString::from("a".repeat(32)), Duration::from_secs(60));
        let other = JwtKeys::new(&SecretString::from("b".repeat(32)), Duration::from_secs(60));
        let id = Uuid::new_v4();
        let token = keys.issue(id).expect("issue");
        assert_eq!(keys.verify(&token), Some(id));
        assert_eq!(other.verify(&token), None);
        assert_eq!(keys.verify("not.a.token"), None);
    }

    #[test]
    fn expired_token_rejected() {
        let keys = JwtKeys::new(&SecretString::from("a".repeat(32)), Duration::from_secs(60));
        let past = jsonwebtoken::get_current_timestamp() - 3600;
        let claims = Claims {
            sub: Uuid::new_v4(),
            iat: past - 60,
            exp: past,
        };
        let token = jsonwebtoken::encode(&Header::default(), &claims, &keys.encoding).expect("enc");
        assert_eq!(keys.verify(&token), None);
    }
}
