//! Authentication, the domain: argon2id password hashes, HS256 session tokens and the
//! [`AuthUser`] extractor, email normalisation, and the per-client login rate limit. The
//! signup/login/me handlers that use them are in `routes::auth`.

pub mod email;
pub mod jwt;
pub mod password;
pub mod rate_limit;

pub use jwt::AuthUser;
