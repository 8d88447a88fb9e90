//! `GET|POST /transactions`, `GET|PATCH|DELETE /transactions/{id}`.
//!
//! Lists are newest first (`date DESC, id DESC`) with keyset pagination: the opaque `cursor` is
//! the (date, id) of the last row of the previous page, so pages stay stable while rows are added
//! and a late page costs the same as the first (it is an index range scan, not an OFFSET).
//!
//! Bounds on what is stored: `1 <= amount_cents <=` [`MAX_AMOUNT_CENTS`] (10^12 cents, ten
//! billion in the currency), so that even millions of transactions cannot make an account's
//! balance overflow a 64-bit integer; dates from [`MIN_DATE`] to [`MAX_DATE`]. Anything outside
//! answers `422 validation_failed` naming the field.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::acquire;
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::json;
use crate::routes::touched_one;
use crate::state::AppState;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;
const MAX_DESCRIPTION_CHARS: usize = 1000;
/// Largest amount of one transaction: 10^12 cents.
pub const MAX_AMOUNT_CENTS: i64 = 1_000_000_000_000;
/// Earliest and latest date a transaction may have.
pub const MIN_DATE: &str = "1900-01-01";
pub const MAX_DATE: &str = "2200-12-31";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/transactions", get(list).post(create))
        .route("/transactions/{id}", get(show).patch(update).delete(remove))
}

#[derive(Serialize, Debug)]
pub struct Transaction {
    id: Uuid,
    date: NaiveDate,
    amount_cents: i64,
    description: String,
    debit_account_id: Uuid,
    credit_account_id: Uuid,
    created_at: DateTime<Utc>,
}

/// `GET /transactions`' answer, `{"items": [Transaction...], "next_cursor": "..." | null}`:
/// byte for byte what serde_json made of `struct Page { items: Vec<Transaction>, next_cursor:
/// Option<String> }` with `Transaction`'s derive (the tests compare them), written by hand into
/// one pre-sized buffer because serialising the page was most of that request's instructions.
fn encode_page(items: &[Transaction], next_cursor: Option<&str>) -> Vec<u8> {
    // An item's keys and fixed-width values come to at most 282 bytes; descriptions are mostly
    // plain text (escaping may still grow the buffer, which is only slower).
    let text: usize = items.iter().map(|t| t.description.len()).sum();
    let mut out = Vec::with_capacity(40 + items.len() * 288 + text);
    out.extend_from_slice(b"{\"items\":[");
    for (i, t) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"id\":");
        json::uuid(&mut out, &t.id);
        out.extend_from_slice(b",\"date\":");
        json::date(&mut out, t.date);
        out.extend_from_slice(b",\"amount_cents\":");
        json::int(&mut out, t.amount_cents);
        out.extend_from_slice(b",\"description\":");
        json::str(&mut out, &t.description);
        out.extend_from_slice(b",\"debit_account_id\":");
        json::uuid(&mut out, &t.debit_account_id);
        out.extend_from_slice(b",\"credit_account_id\":");
        json::uuid(&mut out, &t.credit_account_id);
        out.extend_from_slice(b",\"created_at\":");
        json::timestamp(&mut out, &t.created_at);
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"next_cursor\":");
    json::opt_str(&mut out, next_cursor);
    out.push(b'}');
    out
}

#[derive(Deserialize)]
struct NewTransaction {
    date: String,
    amount_cents: i64,
    #[serde(default)]
    description: String,
    debit_account_id: Uuid,
    credit_account_id: Uuid,
}

#[derive(Deserialize)]
struct TransactionPatch {
    date: Option<String>,
    amount_cents: Option<i64>,
    description: Option<String>,
    debit_account_id: Option<Uuid>,
    credit_account_id: Option<Uuid>,
}

/// Query parameters arrive as strings so that a bad one is reported by name.
#[derive(Deserialize)]
struct ListParams {
    from: Option<String>,
    to: Option<String>,
    account_id: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

fn parse_date(field: &'static str, s: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::validation(field, "must be a date like 2026-01-31"))
}

/// A transaction's date: [`parse_date`] within [`MIN_DATE`]..=[`MAX_DATE`].
fn parse_stored_date(field: &'static str, s: &str) -> Result<NaiveDate, ApiError> {
    let date = parse_date(field, s)?;
    if !(1900..=2200).contains(&date.year()) {
        return Err(ApiError::validation(
            field,
            format!("must be from {MIN_DATE} to {MAX_DATE}"),
        ));
    }
    Ok(date)
}

/// The cursor is hex of `date/id`: opaque to clients, trivially checked here.
fn encode_cursor(date: NaiveDate, id: Uuid) -> String {
    hex::encode(format!("{date}/{id}"))
}

fn decode_cursor(s: &str) -> Result<(NaiveDate, Uuid), ApiError> {
    let bad = || ApiError::validation("cursor", "is not a cursor returned by this API");
    let raw = hex::decode(s).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (date, id) = text.split_once('/').ok_or_else(bad)?;
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| bad())?;
    let id = Uuid::parse_str(id).map_err(|_| bad())?;
    Ok((date, id))
}

/// A transaction as it is about to be written, validated field by field.
struct Valid {
    date: NaiveDate,
    amount_cents: i64,
    description: String,
    debit_account_id: Uuid,
    credit_account_id: Uuid,
}

/// The checks that need no database: run before a connection is taken.
fn check(t: &Valid) -> Result<(), ApiError> {
    if t.amount_cents <= 0 {
        return Err(ApiError::validation(
            "amount_cents",
            "must be greater than 0",
        ));
    }
    if t.amount_cents > MAX_AMOUNT_CENTS {
        return Err(ApiError::validation(
            "amount_cents",
            format!("must be at most {MAX_AMOUNT_CENTS}"),
        ));
    }
    if t.description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ApiError::validation(
            "description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    if t.debit_account_id == t.credit_account_id {
        return Err(ApiError::validation(
            "credit_account_id",
            "must differ from debit_account_id",
        ));
    }
    Ok(())
}

/// Both accounts must be the caller's.
async fn check_accounts(
    conn: &mut PgConnection,
    user: AuthUser,
    t: &Valid,
) -> Result<(), ApiError> {
    let owned = sqlx::query_scalar!(
        "SELECT id FROM accounts WHERE user_id = $1 AND id = ANY($2)",
        user.id,
        &[t.debit_account_id, t.credit_account_id][..]
    )
    .fetch_all(&mut *conn)
    .await?;
    if !owned.contains(&t.debit_account_id) {
        return Err(ApiError::validation("debit_account_id", "no such account"));
    }
    if !owned.contains(&t.credit_account_id) {
        return Err(ApiError::validation("credit_account_id", "no such account"));
    }
    Ok(())
}

/// An account deleted between validation and write trips the foreign key: same answer.
fn write_error(e: sqlx::Error) -> ApiError {
    match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            ApiError::validation("debit_account_id", "no such account")
        }
        _ => ApiError::from(e),
    }
}

async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(params): Query<ListParams>,
) -> Result<json::Body, ApiError> {
    let from = params
        .from
        .as_deref()
        .map(|s| parse_date("from", s))
        .transpose()?;
    let to = params
        .to
        .as_deref()
        .map(|s| parse_date("to", s))
        .transpose()?;
    let account_id = params
        .account_id
        .as_deref()
        .map(|s| {
            Uuid::parse_str(s.trim())
                .map_err(|_| ApiError::validation("account_id", "must be a UUID"))
        })
        .transpose()?;
    let limit = match params.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(s) => match s.trim().parse::<i64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::validation(
                    "limit",
                    format!("must be a whole number from 1 to {MAX_LIMIT}"),
                ))
            }
        },
    };
    let cursor = params
        .cursor
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(decode_cursor)
        .transpose()?;
    let (after_date, after_id) = cursor.unzip();

    // Absent bounds become +-infinity / the largest UUID, so the row comparison is always an
    // index range condition on (user_id, date DESC, id DESC).
    let mut items = sqlx::query_as!(
        Transaction,
        r#"SELECT id, date, amount_cents, description, debit_account_id, credit_account_id, created_at
           FROM transactions
           WHERE user_id = $1
             AND date >= COALESCE($2::date, '-infinity'::date)
             AND date <= COALESCE($3::date, 'infinity'::date)
             AND ($4::uuid IS NULL OR debit_account_id = $4 OR credit_account_id = $4)
             AND (date, id) < (COALESCE($5::date, 'infinity'::date),
                               COALESCE($6::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid))
           ORDER BY date DESC, id DESC
           LIMIT $7"#,
        user.id,
        from,
        to,
        account_id,
        after_date,
        after_id,
        limit + 1
    )
    .fetch_all(&mut *acquire(&state.pool).await?)
    .await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|t| encode_cursor(t.date, t.id))
    } else {
        None
    };
    Ok(json::Body(encode_page(&items, next_cursor.as_deref())))
}

async fn fetch(conn: &mut PgConnection, user: AuthUser, id: Uuid) -> Result<Transaction, ApiError> {
    sqlx::query_as!(
        Transaction,
        "SELECT id, date, amount_cents, description, debit_account_id, credit_account_id, created_at
         FROM transactions WHERE user_id = $1 AND id = $2",
        user.id,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(ApiError::NotFound)
}

async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<NewTransaction>,
) -> Result<(StatusCode, Json<Transaction>), ApiError> {
    let t = Valid {
        date: parse_stored_date("date", &body.date)?,
        amount_cents: body.amount_cents,
        description: body.description.trim().to_string(),
        debit_account_id: body.debit_account_id,
        credit_account_id: body.credit_account_id,
    };
    check(&t)?;
    let mut conn = acquire(&state.pool).await?;
    check_accounts(&mut conn, user, &t).await?;
    let row = sqlx::query_as!(
        Transaction,
        "INSERT INTO transactions
             (user_id, date, amount_cents, description, debit_account_id, credit_account_id)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id, date, amount_cents, description, debit_account_id, credit_account_id, created_at",
        user.id,
        t.date,
        t.amount_cents,
        t.description,
        t.debit_account_id,
        t.credit_account_id
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(write_error)?;
    Ok((StatusCode::CREATED, Json(row)))
}

async fn show(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<Transaction>, ApiError> {
    fetch(&mut *acquire(&state.pool).await?, user, id)
        .await
        .map(Json)
}

async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    Json(body): Json<TransactionPatch>,
) -> Result<Json<Transaction>, ApiError> {
    let mut conn = acquire(&state.pool).await?;
    let current = fetch(&mut conn, user, id).await?;
    let t = Valid {
        date: match body.date.as_deref() {
            Some(s) => parse_stored_date("date", s)?,
            None => current.date,
        },
        amount_cents: body.amount_cents.unwrap_or(current.amount_cents),
        description: body
            .description
            .map(|d| d.trim().to_string())
            .unwrap_or(current.description),
        debit_account_id: body.debit_account_id.unwrap_or(current.debit_account_id),
        credit_account_id: body.credit_account_id.unwrap_or(current.credit_account_id),
    };
    check(&t)?;
    check_accounts(&mut conn, user, &t).await?;
    let row = sqlx::query_as!(
        Transaction,
        "UPDATE transactions
         SET date = $3, amount_cents = $4, description = $5,
             debit_account_id = $6, credit_account_id = $7
         WHERE user_id = $1 AND id = $2
         RETURNING id, date, amount_cents, description, debit_account_id, credit_account_id, created_at",
        user.id,
        id,
        t.date,
        t.amount_cents,
        t.description,
        t.debit_account_id,
        t.credit_account_id
    )
    .fetch_optional(&mut *conn)
    .await
    .map_err(write_error)?
    .ok_or(ApiError::NotFound)?;
    Ok(Json(row))
}

async fn remove(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let deleted = sqlx::query!(
        "DELETE FROM transactions WHERE user_id = $1 AND id = $2",
        user.id,
        id
    )
    .execute(&mut *acquire(&state.pool).await?)
    .await?;
    touched_one(deleted)?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_garbage() {
        let date = NaiveDate::from_ymd_opt(2026, 1, 31).expect("date");
        let id = Uuid::new_v4();
        let c = encode_cursor(date, id);
        assert_eq!(decode_cursor(&c).ok(), Some((date, id)));
        assert!(decode_cursor("zz").is_err());
        assert!(decode_cursor(&hex::encode("2026-01-31")).is_err());
    }

    /// The page as it was serialised before `encode_page`: serde's derive, serde_json.
    #[derive(Serialize)]
    struct Page {
        items: Vec<Transaction>,
        next_cursor: Option<String>,
    }

    fn tx(n: u32, description: &str, created_at: DateTime<Utc>) -> Transaction {
        let date = NaiveDate::from_ymd_opt(2026, 1 + n % 12, 1 + n % 28).expect("date");
        Transaction {
            id: Uuid::new_v4(),
            date,
            amount_cents: 1 + i64::from(n) * 7_919,
            description: description.to_string(),
            debit_account_id: Uuid::new_v4(),
            credit_account_id: Uuid::new_v4(),
            created_at,
        }
    }

    fn assert_same(items: Vec<Transaction>, next_cursor: Option<String>) {
        let ours = encode_page(&items, next_cursor.as_deref());
        let page = Page { items, next_cursor };
        let serde = serde_json::to_vec(&page).expect("serde_json");
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&serde)
        );
        assert_eq!(ours, serde);
    }

    #[test]
    fn page_encodes_as_serde_json_did() {
        let micros = DateTime::from_timestamp(1_780_000_000, 123_456_000).expect("timestamp");
        let millis = DateTime::from_timestamp(1_780_000_001, 120_000_000).expect("timestamp");
        let whole = DateTime::from_timestamp(1_780_000_002, 0).expect("timestamp");
        let tricky = [
            "",
            "Groceries",
            "say \"hi\"",
            "C:\\path\\to\\file \\\" \\\\",
            "tab\there\nnewline\rreturn\u{8}\u{c}",
            "nul\u{0} bell\u{7} unit\u{1f} del\u{7f}",
            "line\u{2028}separator\u{2029}paragraph",
            "Café — naïve 日本語 🎉",
            "</script><!-- & ' ",
        ];
        let mut items: Vec<Transaction> = tricky
            .iter()
            .enumerate()
            .map(|(n, d)| tx(n as u32, d, [micros, millis, whole][n % 3]))
            .collect();
        // The bounds of what is stored.
        let mut edge = tx(0, "edge", Utc::now());
        edge.amount_cents = MAX_AMOUNT_CENTS;
        edge.date = NaiveDate::parse_from_str(MAX_DATE, "%Y-%m-%d").expect("date");
        items.push(edge);
        let mut edge = tx(1, "edge", DateTime::<Utc>::UNIX_EPOCH);
        edge.amount_cents = 1;
        edge.date = NaiveDate::parse_from_str(MIN_DATE, "%Y-%m-%d").expect("date");
        items.push(edge);
        let cursor = encode_cursor(items[0].date, items[0].id);
        assert_same(items, Some(cursor));

        let rebuild = |n| (0..n).map(|i| tx(i, "x", micros)).collect::<Vec<_>>();
        assert_same(Vec::new(), None);
        assert_same(rebuild(1), None);
        assert_same(rebuild(1), Some("00".into()));
        assert_same(rebuild(DEFAULT_LIMIT as u32), Some("abc".into()));
        assert_same(rebuild(MAX_LIMIT as u32), None);
        // Long, escape-heavy descriptions grow the buffer past its first size.
        let heavy = "\"\\\u{1}".repeat(MAX_DESCRIPTION_CHARS / 3);
        assert_same(
            (0..3).map(|i| tx(i, &heavy, millis)).collect(),
            Some("ff".into()),
        );
    }
}
