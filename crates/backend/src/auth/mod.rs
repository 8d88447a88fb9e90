//! Authentication: argon2id password hashes, HS256 session tokens, the [`AuthUser`] extractor,
//! the signup/login/me routes and the per-client login rate limit.

pub mod email;
pub mod jwt;
pub mod password;
pub mod rate_limit;
pub mod routes;

pub use jwt::AuthUser;
