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
    /// Fails only for an empty secret (the configuration already demands 32 bytes or more).
    pub fn new(secret: &SecretString, ttl: Duration) -> Result<Self, jsonwebtoken::errors::Error> {
        let key = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 30;
        // We never issue `nbf`, but a token that carries one must honour it (and a malformed one
        // must be refused, not skipped: CVE-2026-25537 in jsonwebtoken < 10.3).
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(JwtKeys {
            encoding: EncodingKey::from_secret(key)?,
            decoding: DecodingKey::from_secret(key)?,
            validation,
            ttl,
        })
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
        let keys = JwtKeys::new(&SecretString::from("a".repeat(32)), Duration::from_secs(60))
            .expect("keys");
        let other = JwtKeys::new(&SecretString::from("b".repeat(32)), Duration::from_secs(60))
            .expect("keys");
        let id = Uuid::new_v4();
        let token = keys.issue(id).expect("issue");
        assert_eq!(keys.verify(&token), Some(id));
        assert_eq!(other.verify(&token), None);
        assert_eq!(keys.verify("not.a.token"), None);
    }

    #[test]
    fn expired_token_rejected() {
        let keys = JwtKeys::new(&SecretString::from("a".repeat(32)), Duration::from_secs(60))
            .expect("keys");
        let past = jsonwebtoken::get_current_timestamp() - 3600;
        let claims = Claims {
            sub: Uuid::new_v4(),
            iat: past - 60,
            exp: past,
        };
        let token = jsonwebtoken::encode(&Header::default(), &claims, &keys.encoding).expect("enc");
        assert_eq!(keys.verify(&token), None);
    }

    /// A token signed like ours (HS256, same key) but assembled by hand, so its claims can have
    /// shapes `encode` would never produce.
    fn hand_signed(secret: &str, claims: &serde_json::Value) -> String {
        hand_signed_as("HS256", secret, claims)
    }

    /// Like [`hand_signed`] (always an HMAC-SHA256 signature) with any `alg` in the header.
    fn hand_signed_as(alg: &str, secret: &str, claims: &serde_json::Value) -> String {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        use hmac::{Hmac, KeyInit, Mac};
        let header =
            URL_SAFE_NO_PAD.encode(serde_json::json!({ "alg": alg, "typ": "JWT" }).to_string());
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{payload}");
        let mut mac =
            <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("key");
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    #[test]
    fn hand_signed_token_with_numeric_claims_is_accepted() {
        // Proves the hand-made tokens below are refused for their claims, not their signature.
        let secret = "a".repeat(32);
        let keys = JwtKeys::new(&SecretString::from(secret.clone()), Duration::from_secs(60))
            .expect("keys");
        let id = Uuid::new_v4();
        let now = jsonwebtoken::get_current_timestamp();
        let token = hand_signed(
            &secret,
            &serde_json::json!({ "sub": id, "iat": now, "exp": now + 600 }),
        );
        assert_eq!(keys.verify(&token), Some(id));
    }

    #[test]
    fn string_exp_or_nbf_is_refused() {
        // GHSA-h395-gr6q-cpjc: before jsonwebtoken 10.3 a string `exp`/`nbf` was not a number,
        // so its check was skipped and a never-expiring (or not-yet-valid) token passed. Our
        // typed `Claims` (exp: u64) refuses a string `exp` on its own; `nbf` is not in `Claims`,
        // so only the library's validation refuses it (9.3.1 accepted both `nbf` tokens).
        let secret = "a".repeat(32);
        let keys = JwtKeys::new(&SecretString::from(secret.clone()), Duration::from_secs(60))
            .expect("keys");
        let id = Uuid::new_v4();
        let now = jsonwebtoken::get_current_timestamp();
        let past = (now - 3600).to_string();
        let future = (now + 3600).to_string();
        for claims in [
            serde_json::json!({ "sub": id, "iat": now, "exp": past }),
            serde_json::json!({ "sub": id, "iat": now, "exp": future }),
            serde_json::json!({ "sub": id, "iat": now, "exp": now + 600, "nbf": future }),
            serde_json::json!({ "sub": id, "iat": now, "exp": now + 600, "nbf": "soon" }),
        ] {
            let token = hand_signed(&secret, &claims);
            assert_eq!(keys.verify(&token), None, "accepted {claims}");
        }
    }

    #[test]
    fn only_hs256_is_accepted() {
        // The audit ignores the `rsa` advisory because no RSA code path is reachable: a token
        // that asks for another algorithm is refused before its signature is looked at.
        let secret = "a".repeat(32);
        let keys = JwtKeys::new(&SecretString::from(secret.clone()), Duration::from_secs(60))
            .expect("keys");
        let now = jsonwebtoken::get_current_timestamp();
        let claims = serde_json::json!({ "sub": Uuid::new_v4(), "iat": now, "exp": now + 600 });
        for alg in ["RS256", "PS256", "ES256", "HS512", "none"] {
            let token = hand_signed_as(alg, &secret, &claims);
            assert_eq!(keys.verify(&token), None, "accepted alg {alg}");
            let unsigned = format!("{}.", token.rsplit_once('.').expect("jwt").0);
            assert_eq!(keys.verify(&unsigned), None, "accepted unsigned alg {alg}");
        }
    }
}
