//! `GET|POST /accounts`, `GET|PATCH|DELETE /accounts/{id}`.
//!
//! Balances are never stored: they are summed from the transactions on every read, so they
//! cannot drift. Debits increase asset and expense accounts; credits increase liability and
//! income accounts (the usual normal-balance convention). The sums are taken in PostgreSQL's
//! `numeric` (SUM of bigint never overflows there) and the balance is converted to i64 only if it
//! fits; one that does not answers `409 balance_out_of_range` instead of failing the request.
//! Amounts are at most 10^12 cents, so that takes millions of maximal transactions.
//!
//! Bounds: a user has at most [`MAX_ACCOUNTS_PER_USER`] accounts (`409 too_many_accounts`).
//! `GET /accounts` answers the JSON array it always did, oldest first, at most `limit` accounts
//! (default and maximum [`MAX_LIMIT`], so a client that never pages still sees every account);
//! when more follow, a `Link: </accounts?limit=N&cursor=C>; rel="next"` header names the next
//! page (keyset pagination on (created_at, id), like the transactions list).

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::acquire;
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::routes::touched_one;
use crate::state::AppState;

pub const ACCOUNT_TYPES: [&str; 4] = ["asset", "liability", "income", "expense"];

/// Accounts one user may have: a ledger, not a data store; also bounds every list and sum.
pub const MAX_ACCOUNTS_PER_USER: i64 = 1000;

/// Most accounts one `GET /accounts` returns, and the default: the per-user cap, so clients
/// written before pagination existed still get all accounts in one answer.
pub const MAX_LIMIT: i64 = MAX_ACCOUNTS_PER_USER;

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
    /// `balance_cents` is `None` when the balance does not fit an i64.
    fn new(
        id: Uuid,
        name: String,
        kind: String,
        created_at: DateTime<Utc>,
        balance_cents: Option<i64>,
    ) -> Result<Self, ApiError> {
        let Some(balance_cents) = balance_cents else {
            return Err(ApiError::Conflict {
                code: "balance_out_of_range",
                message: format!(
                    "the balance of account {id} is beyond what this API can report \
                     (a 64-bit number of cents)"
                ),
            });
        };
        Ok(Account {
            id,
            name,
            kind,
            balance_cents,
            created_at,
        })
    }
}

/// `GET /accounts` query parameters, as strings so that a bad one is reported by name.
#[derive(Deserialize)]
struct ListParams {
    limit: Option<String>,
    cursor: Option<String>,
}

/// Where a page starts: after the account with this (created_at, id).
type Cursor = (DateTime<Utc>, Uuid);

/// The cursor is hex of `created_at/id`, opaque to clients (as for transactions).
fn encode_cursor(created_at: DateTime<Utc>, id: Uuid) -> String {
    let at = created_at.to_rfc3339_opts(SecondsFormat::Micros, true);
    hex::encode(format!("{at}/{id}"))
}

fn decode_cursor(s: &str) -> Result<Cursor, ApiError> {
    let bad = || ApiError::validation("cursor", "is not a cursor returned by this API");
    let raw = hex::decode(s.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (at, id) = text.split_once('/').ok_or_else(bad)?;
    let at = DateTime::parse_from_rfc3339(at).map_err(|_| bad())?;
    let id = Uuid::parse_str(id).map_err(|_| bad())?;
    Ok((at.with_timezone(&Utc), id))
}

fn parse_limit(s: Option<&str>) -> Result<i64, ApiError> {
    match s.map(str::trim) {
        None | Some("") => Ok(MAX_LIMIT),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiError::validation(
                "limit",
                format!("must be a whole number from 1 to {MAX_LIMIT}"),
            )),
        },
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
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let limit = parse_limit(params.limit.as_deref())?;
    let after = params
        .cursor
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(decode_cursor)
        .transpose()?;
    let mut conn = acquire(&state.pool).await?;
    let mut accounts = with_balances(&mut conn, user, None, after, limit + 1).await?;
    let next = if accounts.len() as i64 > limit {
        accounts.truncate(limit as usize);
        accounts.last().map(|a| encode_cursor(a.created_at, a.id))
    } else {
        None
    };
    let mut response = Json(accounts).into_response();
    if let Some(cursor) = next {
        let link = format!("</accounts?limit={limit}&cursor={cursor}>; rel=\"next\"");
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

/// One of the caller's accounts with its balance, or 404.
async fn fetch(conn: &mut PgConnection, user: AuthUser, id: Uuid) -> Result<Account, ApiError> {
    with_balances(conn, user, Some(id), None, 1)
        .await?
        .pop()
        .ok_or(ApiError::NotFound)
}

/// Up to `limit` of the caller's accounts (or just the one with id `only`) after `after`, with
/// their balances, oldest first: the one place balances are computed.
async fn with_balances(
    conn: &mut PgConnection,
    user: AuthUser,
    only: Option<Uuid>,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Vec<Account>, ApiError> {
    let (after_at, after_id) = after.unzip();
    let rows = sqlx::query!(
        r#"SELECT a.id, a.name, a.type AS kind, a.created_at,
                  CASE WHEN b.balance BETWEEN -9223372036854775808 AND 9223372036854775807
                       THEN b.balance::bigint END AS balance_cents
           FROM accounts a
           CROSS JOIN LATERAL (
               SELECT CASE WHEN a.type IN ('asset', 'expense') THEN d.s - c.s ELSE c.s - d.s END
                          AS balance
               FROM (SELECT COALESCE(SUM(t.amount_cents), 0) AS s FROM transactions t
                     WHERE t.debit_account_id = a.id) d,
                    (SELECT COALESCE(SUM(t.amount_cents), 0) AS s FROM transactions t
                     WHERE t.credit_account_id = a.id) c
           ) b
           WHERE a.user_id = $1 AND ($2::uuid IS NULL OR a.id = $2)
             AND (a.created_at, a.id) > (COALESCE($3::timestamptz, '-infinity'::timestamptz),
                                         COALESCE($4::uuid, '00000000-0000-0000-0000-000000000000'::uuid))
           ORDER BY a.created_at, a.id
           LIMIT $5"#,
        user.id,
        only,
        after_at,
        after_id,
        limit
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| Account::new(r.id, r.name, r.kind, r.created_at, r.balance_cents))
        .collect()
}

async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<NewAccount>,
) -> Result<(StatusCode, Json<Account>), ApiError> {
    let name = valid_name(&body.name)?;
    let kind = valid_kind(&body.kind)?;
    // Count and insert under the user's row lock, so concurrent creates cannot overshoot the cap.
    let mut conn = acquire(&state.pool).await?;
    let mut tx = conn.begin().await?;
    sqlx::query!("SELECT id FROM users WHERE id = $1 FOR UPDATE", user.id)
        .fetch_optional(&mut *tx)
        .await?;
    let count = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM accounts WHERE user_id = $1"#,
        user.id
    )
    .fetch_one(&mut *tx)
    .await?;
    if count >= MAX_ACCOUNTS_PER_USER {
        return Err(ApiError::Conflict {
            code: "too_many_accounts",
            message: format!("a user may have at most {MAX_ACCOUNTS_PER_USER} accounts"),
        });
    }
    let r = sqlx::query!(
        "INSERT INTO accounts (user_id, name, type) VALUES ($1, $2, $3) RETURNING id, created_at",
        user.id,
        name,
        kind
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(Account::new(r.id, name, kind, r.created_at, Some(0))?),
    ))
}

async fn show(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<Account>, ApiError> {
    let mut conn = acquire(&state.pool).await?;
    fetch(&mut conn, user, id).await.map(Json)
}

async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    Json(body): Json<AccountPatch>,
) -> Result<Json<Account>, ApiError> {
    let name = body.name.as_deref().map(valid_name).transpose()?;
    let kind = body.kind.as_deref().map(valid_kind).transpose()?;
    let mut conn = acquire(&state.pool).await?;
    let updated = sqlx::query!(
        "UPDATE accounts SET name = COALESCE($3, name), type = COALESCE($4, type)
         WHERE user_id = $1 AND id = $2",
        user.id,
        id,
        name,
        kind
    )
    .execute(&mut *conn)
    .await?;
    touched_one(updated)?;
    fetch(&mut conn, user, id).await.map(Json)
}

async fn remove(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let mut conn = acquire(&state.pool).await?;
    let deleted = sqlx::query!(
        "DELETE FROM accounts WHERE user_id = $1 AND id = $2",
        user.id,
        id
    )
    .execute(&mut *conn)
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
