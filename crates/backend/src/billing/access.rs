//! What a user may do: during the trial (`TRIAL_DAYS` from sign-up) or with an active
//! subscription, everything; after the trial without one, read only (so they can still look at
//! and export their data), and writes answer `402 subscription_required`.

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::ApiError;

/// The one subscription status that unlocks writing.
pub const ACTIVE: &str = "active";

/// A user's billing state as of one read.
#[derive(Debug, Clone)]
pub struct Access {
    pub email: String,
    /// `none` (never subscribed), `incomplete`, `active`, `past_due` or `canceled`.
    pub status: String,
    pub trial_ends_at: DateTime<Utc>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub stripe_customer_id: Option<String>,
}

impl Access {
    pub fn subscribed(&self) -> bool {
        self.status == ACTIVE
    }

    pub fn trial_active(&self, now: DateTime<Utc>) -> bool {
        now < self.trial_ends_at
    }

    pub fn can_write(&self, now: DateTime<Utc>) -> bool {
        self.subscribed() || self.trial_active(now)
    }
}

/// The billing state of `user_id`; `None` when the user does not exist (any more).
pub async fn load(
    pool: &PgPool,
    user_id: Uuid,
    trial: TimeDelta,
) -> Result<Option<Access>, ApiError> {
    let row = sqlx::query!(
        r#"SELECT u.email, u.created_at,
                  s.status AS "status?", s.current_period_end, s.updated_at AS "updated_at?",
                  s.stripe_customer_id
           FROM users u LEFT JOIN subscriptions s ON s.user_id = u.id
           WHERE u.id = $1"#,
        user_id
    )
    .fetch_optional(&mut *crate::db::acquire(pool).await?)
    .await?;
    Ok(row.map(|r| Access {
        email: r.email,
        status: r.status.unwrap_or_else(|| "none".into()),
        trial_ends_at: r.created_at + trial,
        current_period_end: r.current_period_end,
        updated_at: r.updated_at,
        stripe_customer_id: r.stripe_customer_id,
    }))
}

/// `402 subscription_required`.
pub fn subscription_required() -> ApiError {
    ApiError::PaymentRequired
}
