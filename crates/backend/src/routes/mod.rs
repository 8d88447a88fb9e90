//! The bookkeeping routes; every query is scoped to the authenticated user, so another user's
//! ids answer 404 exactly like ids that do not exist.

pub mod accounts;
pub mod transactions;
