//! The database as the backend sees it, and as `tools` (which migrates it) sees it too: the pool
//! that connects lazily, and which errors mean "PostgreSQL is unavailable right now".

use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

/// Per-connection server settings (sent as startup options, so every pooled connection has them
/// from its first statement): PostgreSQL cancels a statement running longer than
/// `statement_timeout` or waiting longer than `lock_timeout` for a lock (SQLSTATE 57014 / 55P03,
/// answered 503 `database_busy`, see [`is_timeout`]), so one slow query or a migration holding a
/// lock cannot pin every pooled connection. The server-side TCP keepalives let PostgreSQL notice
/// a backend pod that vanished without closing its connections (node loss) within about two
/// minutes instead of the kernel's two hours, freeing its connection slots and locks; on our side
/// a request that hangs on a dead connection is bounded by `REQUEST_TIMEOUT_SECONDS`, and the
/// pool pings a connection before handing it out.
pub fn with_session_limits(
    options: PgConnectOptions,
    statement_timeout: Duration,
    lock_timeout: Duration,
) -> PgConnectOptions {
    options.options([
        (
            "statement_timeout",
            format!("{}ms", statement_timeout.as_millis()),
        ),
        ("lock_timeout", format!("{}ms", lock_timeout.as_millis())),
        ("tcp_keepalives_idle", "60".to_string()),
        ("tcp_keepalives_interval", "10".to_string()),
        ("tcp_keepalives_count", "6".to_string()),
    ])
}

/// True when PostgreSQL cancelled a statement for running or waiting too long
/// (`statement_timeout`: 57014 query_canceled; `lock_timeout`: 55P03 lock_not_available).
pub fn is_timeout(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.code().is_some_and(|c| c == "57014" || c == "55P03"),
        _ => false,
    }
}

/// A pool that connects on first use, so the service starts (and /healthz answers) while
/// PostgreSQL is still down; requests then wait at most `acquire_timeout` and answer 503.
/// Connections are pinged before use, so the pool recovers by itself when the database returns.
pub fn lazy_pool(
    options: PgConnectOptions,
    max_connections: u32,
    acquire_timeout: Duration,
) -> PgPool {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .test_before_acquire(true)
        .connect_lazy_with(options)
}

/// A connection from `pool`, with the wait recorded in `db_pool_acquire_duration_seconds`.
/// Every query takes its connection here, never from `&pool` directly. Statements that belong
/// together (a validation query and the write it guards, a transaction) run on one connection
/// (`&mut *conn`): each acquire pings the connection first (a round trip). A request holds at
/// most one connection at a time, and none across a password hash, so a busy pool cannot
/// deadlock against itself.
pub async fn acquire(pool: &PgPool) -> Result<PoolConnection<Postgres>, sqlx::Error> {
    let started = Instant::now();
    let conn = pool.acquire().await;
    crate::metrics::pool_acquired(started.elapsed());
    conn
}

/// True for errors that mean "cannot reach or use PostgreSQL right now", which pass with time,
/// rather than a bad query or bad credentials: the backend answers them with 503, `tools`
/// retries them.
///
/// The server not listening yet, timing out, or dropping the connection (I/O, TLS, protocol
/// errors, the pool giving up); SQLSTATE class 08 (connection exception); 57P01-57P05 (shut
/// down by an administrator or a crash, cannot connect now: starting up); 53300 (out of
/// connection slots). A wrong password (28P01) or a missing database (3D000) is not: retrying
/// only delays the real error message.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "53300"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_trouble_is_unavailable_and_bad_queries_are_not() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(is_unavailable(&sqlx::Error::Io(io)));
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        assert!(!is_unavailable(&sqlx::Error::ColumnNotFound("x".into())));
    }
}
