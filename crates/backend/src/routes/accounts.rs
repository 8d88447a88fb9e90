//! `GET|POST /accounts`, `GET|PATCH|DELETE /accounts/{id}`.
//!
//! Balances are never stored: they are summed from the transactions on every read, so they
//! cannot drift. Debits increase asset and expense accounts; credits increase liability and
//! income accounts (the usual normal-balance convention).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::routes::touched_one;
use crate::state::AppState;

pub const ACCOUNT_TYPES: [&str; 4] = ["asset", "liability", "income", "expense"];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/accounts", get(list).post(create))
        .route("/accounts/{id}", get(show).patch(update).delete(remove))
}

#[derive(Serialize, Debug)]
pub struct Account {
    id: Uuid,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    balance_cents: i64,
    created_at: DateTime<Utc>,
}

impl Account {
    fn new(
        id: Uuid,
        name: String,
        kind: String,
        created_at: DateTime<Utc>,
        debits: i64,
        credits: i64,
    ) -> Self {
        let balance_cents = match kind.as_str() {
            "asset" | "expense" => debits - credits,
            _ => credits - debits,
        };
        Account {
            id,
            name,
            kind,
            balance_cents,
            created_at,
        }
    }
}

#[derive(Deserialize)]
struct NewAccount {
    name: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct AccountPatch {
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

fn valid_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    match name.chars().count() {
        0 => Err(ApiError::validation("name", "must not be empty")),
        1..=200 => Ok(name.to_string()),
        _ => Err(ApiError::validation(
            "name",
            "must be at most 200 characters",
        )),
    }
}

fn valid_kind(kind: &str) -> Result<String, ApiError> {
    if ACCOUNT_TYPES.contains(&kind) {
        Ok(kind.to_string())
    } else {
        Err(ApiError::validation(
            "type",
            "must be one of asset, liability, income, expense",
        ))
    }
}

async fn list(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<Account>>, ApiError> {
    with_balances(&state, user, None).await.map(Json)
}

/// One of the caller's accounts with its balance, or 404.
async fn fetch(state: &AppState, user: AuthUser, id: Uuid) -> Result<Account, ApiError> {
    with_balances(state, user, Some(id))
        .await?
        .pop()
        .ok_or(ApiError::NotFound)
}

/// The caller's accounts (or just the one with id `only`) with their balances, oldest first:
/// the one place balances are computed.
async fn with_balances(
    state: &AppState,
    user: AuthUser,
    only: Option<Uuid>,
) -> Result<Vec<Account>, ApiError> {
    let rows = sqlx::query!(
        r#"SELECT a.id, a.name, a.type AS kind, a.created_at,
                  COALESCE((SELECT SUM(t.amount_cents) FROM transactions t
                            WHERE t.debit_account_id = a.id), 0)::bigint AS "debits!",
                  COALESCE((SELECT SUM(t.amount_cents) FROM transactions t
                            WHERE t.credit_account_id = a.id), 0)::bigint AS "credits!"
           FROM accounts a
           WHERE a.user_id = $1 AND ($2::uuid IS NULL OR a.id = $2)
           ORDER BY a.created_at, a.id"#,
        user.id,
        only
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Account::new(r.id, r.name, r.kind, r.created_at, r.debits, r.credits))
        .collect())
}

async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<NewAccount>,
) -> Result<(StatusCode, Json<Account>), ApiError> {
    let name = valid_name(&body.name)?;
    let kind = valid_kind(&body.kind)?;
    let r = sqlx::query!(
        "INSERT INTO accounts (user_id, name, type) VALUES ($1, $2, $3) RETURNING id, created_at",
        user.id,
        name,
        kind
    )
    .fetch_one(&state.pool)
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(Account::new(r.id, name, kind, r.created_at, 0, 0)),
    ))
}

async fn show(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<Account>, ApiError> {
    fetch(&state, user, id).await.map(Json)
}

async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    Json(body): Json<AccountPatch>,
) -> Result<Json<Account>, ApiError> {
    let name = body.name.as_deref().map(valid_name).transpose()?;
    let kind = body.kind.as_deref().map(valid_kind).transpose()?;
    let updated = sqlx::query!(
        "UPDATE accounts SET name = COALESCE($3, name), type = COALESCE($4, type)
         WHERE user_id = $1 AND id = $2",
        user.id,
        id,
        name,
        kind
    )
    .execute(&state.pool)
    .await?;
    touched_one(updated)?;
    fetch(&state, user, id).await.map(Json)
}

async fn remove(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let deleted = sqlx::query!(
        "DELETE FROM accounts WHERE user_id = $1 AND id = $2",
        user.id,
        id
    )
    .execute(&state.pool)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => ApiError::Conflict {
            code: "account_has_transactions",
            message: "the account still has transactions; delete or move them first".into(),
        },
        _ => ApiError::from(e),
    })?;
    touched_one(deleted)?;
    Ok(StatusCode::NO_CONTENT)
}
