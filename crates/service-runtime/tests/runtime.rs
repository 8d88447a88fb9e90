//! The shared runtime driven end to end: a real listener on 127.0.0.1:0, real HTTP.

use std::process::ExitCode;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use service_runtime::shutdown::Timing;
use service_runtime::{healthcheck, ServeArgs, Server};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

struct Running {
    base: String,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Settings for a test server: the defaults, with these timings.
fn args(timing: Timing) -> ServeArgs {
    ServeArgs {
        shutdown: timing,
        ..ServeArgs::default()
    }
}

async fn start(timing: Timing) -> Running {
    let app = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                "slow done"
            }),
        )
        .route("/fast", get(|| async { "fast" }));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(Server::new(app, &args(timing)).serve(listener, stopped));
    Running {
        base,
        stop: Some(stop),
        done,
    }
}

fn client() -> reqwest::Client {
    // reqwest is built without a default crypto provider (see tools::stripe::client).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

#[tokio::test]
async fn healthz_answers_1_and_head_works() {
    let mut app = start(Timing {
        drain: Duration::ZERO,
        timeout: Duration::from_secs(1),
    })
    .await;
    let c = client();
    let r = c
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .expect("ct")
        .starts_with("text/plain"));
    assert!(r.headers().contains_key("x-request-id"));
    assert_eq!(r.text().await.expect("body"), "1");
    let r = c
        .head(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("head");
    assert_eq!(r.status(), 200);
    let _ = app.stop.take().map(|s| s.send(()));
    app.done.await.expect("join").expect("serve");
}

#[tokio::test]
async fn drain_flips_healthz_while_serving_and_finishes_in_flight_requests() {
    let mut app = start(Timing {
        drain: Duration::from_millis(800),
        timeout: Duration::from_secs(5),
    })
    .await;
    let c = client();
    // A slow request in flight when the stop signal arrives must still complete.
    let slow = tokio::spawn({
        let c = c.clone();
        let url = format!("{}/slow", app.base);
        async move { c.get(url).send().await?.text().await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = app.stop.take().map(|s| s.send(()));
    tokio::time::sleep(Duration::from_millis(100)).await;

    let r = c
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), 503, "healthz must fail while draining");
    let r = c
        .get(format!("{}/livez", app.base))
        .send()
        .await
        .expect("livez");
    assert_eq!(
        r.status(),
        200,
        "livez stays 200 while draining: no restart mid-drain"
    );
    assert_eq!(r.text().await.expect("body"), "1");
    let r = c
        .get(format!("{}/fast", app.base))
        .send()
        .await
        .expect("fast");
    assert_eq!(
        r.status(),
        200,
        "other requests are still served while draining"
    );

    assert_eq!(
        slow.await.expect("join").expect("slow request"),
        "slow done"
    );
    app.done.await.expect("join").expect("serve returns Ok");
    // After shutdown nothing listens any more.
    assert!(c.get(format!("{}/fast", app.base)).send().await.is_err());
}

#[tokio::test]
async fn shutdown_timeout_bounds_a_stuck_request() {
    let mut app = start(Timing {
        drain: Duration::ZERO,
        timeout: Duration::from_millis(200),
    })
    .await;
    let c = client();
    let slow = tokio::spawn({
        let url = format!("{}/slow", app.base);
        async move { c.get(url).send().await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = app.stop.take().map(|s| s.send(()));
    // serve gives up on the 1.5 s request after the 200 ms timeout, still returns Ok, and the
    // request is cut off (as exiting the process would) instead of being waited for.
    app.done.await.expect("join").expect("serve returns Ok");
    let outcome = slow.await.expect("join");
    assert!(
        outcome.is_err(),
        "serve must return at the timeout, not wait for the stuck request: {outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_exit_codes() {
    let mut app = start(Timing {
        drain: Duration::from_secs(5),
        timeout: Duration::from_secs(1),
    })
    .await;
    let url = format!("{}/healthz", app.base);
    let t = Duration::from_secs(2);
    // The probe is blocking I/O, as in the real `healthcheck` subcommand.
    let probe = || {
        let url = url.clone();
        tokio::task::spawn_blocking(move || healthcheck::run(&url, t))
    };
    assert_eq!(probe().await.expect("probe"), ExitCode::SUCCESS);
    let _ = app.stop.take().map(|s| s.send(()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        probe().await.expect("probe"),
        ExitCode::FAILURE,
        "draining (503) is unhealthy"
    );
    app.done.abort();
    let _ = app.done.await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        probe().await.expect("probe"),
        ExitCode::FAILURE,
        "nothing listening is unhealthy"
    );
    assert_eq!(
        healthcheck::run("https://127.0.0.1:1/healthz", t),
        ExitCode::FAILURE
    );
}

#[tokio::test]
async fn connections_are_spread_round_robin_over_worker_threads_with_peer_address() {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    let app = Router::new().route(
        "/who",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
            format!(
                "{} {}",
                std::thread::current().name().unwrap_or("?"),
                peer.ip()
            )
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = oneshot::channel::<()>();
    let args = ServeArgs {
        workers: 3,
        ..args(Timing {
            drain: Duration::ZERO,
            timeout: Duration::from_secs(1),
        })
    };
    let done = tokio::spawn(Server::new(app, &args).peer_addr().serve(listener, stopped));
    // A fresh client is a fresh connection; six connections visit each of the three workers twice.
    let mut seen = Vec::new();
    for _ in 0..6 {
        let body = client()
            .get(format!("{base}/who"))
            .send()
            .await
            .expect("who")
            .text()
            .await
            .expect("body");
        seen.push(body);
    }
    let mut threads: Vec<&str> = seen
        .iter()
        .map(|b| b.split(' ').next().unwrap_or(""))
        .collect();
    assert!(seen.iter().all(|b| b.ends_with(" 127.0.0.1")), "{seen:?}");
    threads.sort_unstable();
    assert_eq!(
        threads,
        [
            "http-worker-0",
            "http-worker-0",
            "http-worker-1",
            "http-worker-1",
            "http-worker-2",
            "http-worker-2"
        ]
    );
    let _ = stop.send(());
    done.await.expect("join").expect("serve");
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (addr, stop, done) = start_with_keepalive(Duration::from_millis(300)).await;
    let mut slow = tokio::net::TcpStream::connect(addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("partial headers");
    // Without the timeout the server would wait for the rest forever and this read would hang.
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut buf))
        .await
        .expect("the server must close the connection");
    assert!(
        read.is_err() || !buf.starts_with(b"HTTP/1.1 200"),
        "no answer to half a request: {:?}",
        String::from_utf8_lossy(&buf)
    );
    // A well-behaved client on a fresh connection is unaffected.
    let r = client()
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), 200);
    let _ = stop.send(());
    done.await.expect("join").expect("serve");
}

type Done = tokio::task::JoinHandle<std::io::Result<()>>;

/// One worker serving only `/healthz`, with this keep-alive (and header-read) timeout.
async fn start_with_keepalive(
    keepalive: Duration,
) -> (std::net::SocketAddr, oneshot::Sender<()>, Done) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let args = ServeArgs {
        workers: 1,
        keepalive_timeout: keepalive,
        ..args(Timing {
            drain: Duration::ZERO,
            timeout: Duration::from_secs(1),
        })
    };
    let done = tokio::spawn(Server::new(Router::new(), &args).serve(listener, stopped));
    (addr, stop, done)
}

/// Reads one `/healthz` answer (headers and its one-byte body) off a raw connection.
async fn read_healthz(conn: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            if text.len() > end + 4 {
                return text;
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut chunk))
            .await
            .expect("an answer")
            .expect("read");
        assert!(n > 0, "closed before answering: {text:?}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_keepalive_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (addr, stop, done) = start_with_keepalive(Duration::from_secs(2)).await;
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    const REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    conn.write_all(REQUEST).await.expect("first request");
    assert!(read_healthz(&mut conn).await.starts_with("HTTP/1.1 200"));
    // Idle for a moment, well inside the timeout: the connection is still there for reuse.
    tokio::time::sleep(Duration::from_millis(200)).await;
    conn.write_all(REQUEST).await.expect("second request");
    assert!(read_healthz(&mut conn).await.starts_with("HTTP/1.1 200"));
    // Then idle for good: the server closes it (with the default 75 s this read would hang).
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut rest))
        .await
        .expect("the server must close the idle connection");
    assert!(
        read.is_err() || rest.is_empty(),
        "nothing more is sent on an idle connection: {:?}",
        String::from_utf8_lossy(&rest)
    );
    let _ = stop.send(());
    done.await.expect("join").expect("serve");
}
