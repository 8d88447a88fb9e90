//! The server's bounds against clients that misbehave, on a real listener: slowloris heads,
//! slow bodies, a flood of idle connections past the cap, oversized heads and a panicking
//! handler. Every wait is bounded, so a regression fails instead of hanging.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::routing::{get, post};
use axum::Router;
use service_runtime::shutdown::Timing;
use service_runtime::{ServeArgs, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

struct Running {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

/// The settings every test here starts from: short read timeouts so that tests take seconds.
fn args() -> ServeArgs {
    ServeArgs {
        shutdown: Timing {
            drain: Duration::ZERO,
            timeout: Duration::from_secs(1),
        },
        workers: 2,
        header_read_timeout: Duration::from_secs(2),
        body_read_timeout: Duration::from_secs(2),
        ..ServeArgs::default()
    }
}

async fn start(args: ServeArgs) -> Running {
    let app = Router::new()
        .route("/fast", get(|| async { "fast" }))
        .route(
            "/echo",
            post(|body: Bytes| async move { format!("{} bytes", body.len()) }),
        )
        .route(
            "/panic",
            get(|| async {
                if std::hint::black_box(true) {
                    panic!("handler bug");
                }
                "unreachable"
            }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(Server::new(app, &args).serve(listener, stopped));
    Running { addr, _stop: stop }
}

/// One request on a fresh connection, answered within 5 s: (status, body).
async fn fetch(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut conn = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    // A refused connection may be closed before the request is written: read the answer anyway.
    let _ = conn.write_all(request.as_bytes()).await;
    let answer = read_all(&mut conn, Duration::from_secs(5))
        .await
        .expect("answered in time");
    parse(&answer)
}

/// Everything the server sends until it closes, or `None` if it does not close within `limit`.
async fn read_all(conn: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut answer = Vec::new();
    match tokio::time::timeout(limit, conn.read_to_end(&mut answer)).await {
        Ok(_) => Some(String::from_utf8_lossy(&answer).into_owned()),
        Err(_) => None,
    }
}

fn parse(answer: &str) -> (u16, String) {
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn slowloris_heads_are_cut_off_and_normal_clients_are_served_meanwhile() {
    let app = start(args()).await;
    // 200 clients sending a request head one byte every 300 ms: it would take them minutes.
    let started = Instant::now();
    let mut attackers = Vec::new();
    for _ in 0..200 {
        let addr = app.addr;
        attackers.push(tokio::spawn(async move {
            let mut conn = TcpStream::connect(addr).await.expect("connect");
            let head = b"GET /fast HTTP/1.1\r\nhost: x\r\nx-slow: ".repeat(4);
            for byte in head {
                if conn.write_all(&[byte]).await.is_err() {
                    break;
                }
                let mut buf = [0u8; 64];
                match tokio::time::timeout(Duration::from_millis(300), conn.read(&mut buf)).await {
                    Ok(Ok(0) | Err(_)) => break, // closed by the server
                    Ok(Ok(_)) => panic!("a slowloris head was answered"),
                    Err(_) => {} // still open: send the next byte
                }
            }
            Instant::now()
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t = Instant::now();
    assert_eq!(fetch(app.addr, "/fast").await, (200, "fast".into()));
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    for attacker in attackers {
        let closed_at = tokio::time::timeout(Duration::from_secs(10), attacker)
            .await
            .expect("the server closes a slow head within its timeout")
            .expect("attacker task");
        // 2 s header timeout, at most a 1 s timer tick late, plus scheduling slack.
        let held = closed_at - started;
        assert!(held < Duration::from_secs(5), "held for {held:?}");
    }
    assert_eq!(fetch(app.addr, "/fast").await, (200, "fast".into()));
}

#[tokio::test]
async fn a_slow_body_fails_once_its_timeout_passes() {
    let app = start(args()).await;
    let conn = TcpStream::connect(app.addr).await.expect("connect");
    let (mut rd, mut wr) = conn.into_split();
    wr.write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n")
        .await
        .expect("head");
    let started = Instant::now();
    // The body would take 30 s; the handler's read must fail at about 2 s and be answered.
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            if wr.write_all(b"x").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let reader = tokio::spawn(async move {
        let mut answer = Vec::new();
        let _ = rd.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer).into_owned()
    });
    let answer = tokio::time::timeout(Duration::from_secs(6), reader)
        .await
        .expect("answered and closed within the body timeout")
        .expect("reader");
    trickle.abort();
    let elapsed = started.elapsed();
    assert_eq!(parse(&answer).0, 400, "the body read failed: {answer}");
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    // A body that arrives in time is read as usual.
    let mut conn = TcpStream::connect(app.addr).await.expect("connect");
    conn.write_all(
        b"POST /echo HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 3\r\n\r\nabc",
    )
    .await
    .expect("request");
    let answer = read_all(&mut conn, Duration::from_secs(5))
        .await
        .expect("answer");
    assert_eq!(parse(&answer), (200, "3 bytes".into()));
}

#[tokio::test]
async fn idle_connections_beyond_the_cap_are_refused_fast_and_freed_by_the_header_timeout() {
    let app = start(ServeArgs {
        max_connections: 20,
        ..args()
    })
    .await;
    // Fill the cap with connections that never send a byte.
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(TcpStream::connect(app.addr).await.expect("connect"));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Every further connection is answered 503 and closed at once, not queued.
    for _ in 0..50 {
        let mut conn = TcpStream::connect(app.addr).await.expect("connect");
        let t = Instant::now();
        let answer = read_all(&mut conn, Duration::from_secs(1))
            .await
            .expect("refused at once");
        assert!(t.elapsed() < Duration::from_secs(1));
        let (status, body) = parse(&answer);
        assert_eq!(status, 503, "{answer}");
        assert!(body.contains("too_many_connections"), "{body}");
        assert!(answer.contains("retry-after: 1"), "{answer}");
    }
    // The idle ones are closed by the header timeout (2 s from connecting), and a normal client
    // that retries as told gets in.
    let t = Instant::now();
    loop {
        match fetch(app.addr, "/fast").await {
            (200, body) => {
                assert_eq!(body, "fast");
                break;
            }
            // Refused (a reset may swallow the 503 itself).
            (503 | 0, _) => {
                assert!(t.elapsed() < Duration::from_secs(5), "still refused");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    for mut conn in idle {
        let answer = read_all(&mut conn, Duration::from_secs(2)).await;
        assert_eq!(answer.as_deref(), Some(""), "idle connection left open");
    }
}

#[tokio::test]
async fn an_oversized_head_is_answered_431() {
    let app = start(args()).await;
    for (size, expected) in [(8 * 1024, 200), (20 * 1024, 431)] {
        let mut conn = TcpStream::connect(app.addr).await.expect("connect");
        let request = format!(
            "GET /fast HTTP/1.1\r\nhost: x\r\nconnection: close\r\nx-big: {}\r\n\r\n",
            "a".repeat(size)
        );
        // The server may answer and close before reading all of a head it refuses.
        let _ = conn.write_all(request.as_bytes()).await;
        let answer = read_all(&mut conn, Duration::from_secs(5))
            .await
            .unwrap_or_default();
        assert_eq!(parse(&answer).0, expected, "{size} bytes: {answer}");
    }
}

#[tokio::test]
async fn a_panicking_handler_answers_a_json_500_and_the_server_keeps_serving() {
    let app = start(args()).await;
    let mut conn = TcpStream::connect(app.addr).await.expect("connect");
    // Keep-alive: the same connection serves the next request after the panic.
    conn.write_all(b"GET /panic HTTP/1.1\r\nhost: x\r\n\r\nGET /fast HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .expect("requests");
    let answer = read_all(&mut conn, Duration::from_secs(5))
        .await
        .expect("answered");
    let (status, rest) = parse(&answer);
    assert_eq!(status, 500, "{answer}");
    let head = answer.split("\r\n\r\n").next().unwrap_or_default();
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(head.contains("x-request-id: "), "{head}");
    assert!(
        rest.starts_with(r#"{"error":{"code":"internal_error","message":"internal error"}}"#),
        "{rest}"
    );
    assert!(rest.contains("HTTP/1.1 200 OK"), "second request: {rest}");
    assert!(rest.ends_with("fast"), "{rest}");
    for _ in 0..3 {
        assert_eq!(fetch(app.addr, "/panic").await.0, 500);
    }
    assert_eq!(fetch(app.addr, "/fast").await, (200, "fast".into()));
}
