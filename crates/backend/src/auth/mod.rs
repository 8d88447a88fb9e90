//! Authentication.

pub mod password;
