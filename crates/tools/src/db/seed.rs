//! Demo data for `--seed`: one user (`demo@example.com` / `demo-password`), a few accounts and a
//! month of transactions between them.
//!
//! Idempotent by construction: every row has a fixed id and is inserted with
//! `ON CONFLICT DO NOTHING`, all in one transaction, so a second run (or two racing runs) adds
//! nothing. The password is hashed only when the user is actually inserted: argon2 is deliberately
//! slow and a re-run should not pay for it.

use std::fmt;

use sqlx::{Connection, PgConnection};
use uuid::Uuid;

pub const DEMO_EMAIL: &str = "demo@example.com";
pub const DEMO_PASSWORD: &str = "demo-password";

const DEMO_USER_ID: Uuid = Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0001);

const fn account_id(n: u128) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_4000_8000_0001_0000_0000 + n)
}
const fn transaction_id(n: u128) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_4000_8000_0002_0000_0000 + n)
}

const CHECKING: Uuid = account_id(1);
const CARD: Uuid = account_id(2);
const SALARY: Uuid = account_id(3);
const GROCERIES: Uuid = account_id(4);
const RENT: Uuid = account_id(5);

/// (id, name, type)
const ACCOUNTS: [(Uuid, &str, &str); 5] = [
    (CHECKING, "Checking", "asset"),
    (CARD, "Credit card", "liability"),
    (SALARY, "Salary", "income"),
    (GROCERIES, "Groceries", "expense"),
    (RENT, "Rent", "expense"),
];

/// (id, date, amount in cents, description, debit, credit)
const TRANSACTIONS: [(Uuid, &str, i64, &str, Uuid, Uuid); 6] = [
    (
        transaction_id(1),
        "2026-11-01",
        420_000,
        "November salary",
        CHECKING,
        SALARY,
    ),
    (
        transaction_id(2),
        "2026-11-02",
        150_000,
        "November rent",
        RENT,
        CHECKING,
    ),
    (
        transaction_id(3),
        "2026-11-05",
        8_245,
        "Weekly groceries",
        GROCERIES,
        CARD,
    ),
    (
        transaction_id(4),
        "2026-11-12",
        6_310,
        "Weekly groceries",
        GROCERIES,
        CARD,
    ),
    (
        transaction_id(5),
        "2026-11-19",
        9_120,
        "Weekly groceries",
        GROCERIES,
        CARD,
    ),
    (
        transaction_id(6),
        "2026-11-20",
        23_675,
        "Credit card payment",
        CARD,
        CHECKING,
    ),
];

/// What a seed run added.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Added {
    pub users: u64,
    pub accounts: u64,
    pub transactions: u64,
}

impl fmt::Display for Added {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Added::default() {
            write!(f, "seed: demo data already present; nothing added")
        } else {
            write!(
                f,
                "seed: added {} user(s), {} account(s), {} transaction(s) (demo user {DEMO_EMAIL})",
                self.users, self.accounts, self.transactions
            )
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("seeding the demo data failed")]
    Sql(#[from] sqlx::Error),
    #[error("seeding the demo data failed")]
    Hash(#[from] backend::auth::password::HashError),
    #[error("seeding the demo data failed: the demo user vanished during the run")]
    UserMissing,
}

/// Inserts the demo data that is not there yet, in one transaction.
pub async fn seed(conn: &mut PgConnection) -> Result<Added, SeedError> {
    let mut tx = conn.begin().await?;
    let mut added = Added::default();

    let existing: Option<Uuid> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(DEMO_EMAIL)
        .fetch_optional(&mut *tx)
        .await?;
    if existing.is_none() {
        let hash = backend::auth::password::hash(DEMO_PASSWORD)?;
        added.users = sqlx::query(
            "INSERT INTO users (id, email, password_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(DEMO_USER_ID)
        .bind(DEMO_EMAIL)
        .bind(hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    // Someone may have signed up as the demo user through the API: attach the data to that user.
    let user_id: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(DEMO_EMAIL)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(SeedError::UserMissing)?;

    for (id, name, kind) in ACCOUNTS {
        added.accounts += sqlx::query(
            "INSERT INTO accounts (id, user_id, name, type) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(user_id)
        .bind(name)
        .bind(kind)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    for (id, date, cents, description, debit, credit) in TRANSACTIONS {
        added.transactions += sqlx::query(
            "INSERT INTO transactions \
               (id, user_id, date, amount_cents, description, debit_account_id, credit_account_id) \
             VALUES ($1, $2, $3::date, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(user_id)
        .bind(date)
        .bind(cents)
        .bind(description)
        .bind(debit)
        .bind(credit)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    tx.commit().await?;
    Ok(added)
}
