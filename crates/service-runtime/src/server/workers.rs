//! Thread-per-core HTTP/1.1 serving: one single-threaded tokio runtime per worker thread, fed
//! accepted connections round-robin by one acceptor.
//!
//! Why not one multi-threaded runtime: a request is a few microseconds of work, and with a
//! work-stealing scheduler a good part of that went to waking other worker threads (futex,
//! reschedule IPIs) and sharing queues. Here a connection lives on one thread from accept to
//! close, like an nginx worker, so the threads never wake each other. The acceptor hands out
//! connections round-robin (not `SO_REUSEPORT`, whose hashing can leave one worker with most of
//! a handful of long-lived ingress connections, and which would let a second process bind the
//! same port without an error).
//!
//! Resources shared across workers (the backend's sqlx pool) may be registered with another
//! worker's reactor; that works while every runtime is driven (readiness then costs one
//! cross-thread wake-up), so a worker that has finished keeps its runtime running until
//! [`Workers::release`] — after every worker is done. As with any event loop, a handler must not
//! block: a worker busy in CPU work stalls its other connections (the backend hashes passwords
//! on `spawn_blocking` for this reason).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit};
use tower::ServiceExt;

use super::deadlines::{GuardedIo, Phase, TimedBody, Tracked};
use super::sendfile::ZeroCopyStream;
use super::timer::CoarseTimer;
use crate::metrics::http::HttpMetrics;

/// Threads each worker runtime may start for `spawn_blocking` (tokio's default is 512). The
/// blocking work here is password hashing, which the backend bounds with its own semaphore,
/// and the odd DNS lookup; without this cap a burst could start hundreds of threads per worker,
/// each with its own stack and allocator arena, which is memory a container limit does not have.
pub const MAX_BLOCKING_THREADS: usize = 4;

/// One worker per available CPU (cgroup CPU limits included), at least one.
pub fn default_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// How the workers serve.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Worker threads; 0 means [`default_count`].
    pub count: usize,
    /// hyper's header-read timeout. hyper starts it when a connection begins waiting for a
    /// request head, which on a keep-alive connection is as soon as the previous response is
    /// written: so it is the idle keep-alive timeout (`KEEPALIVE_TIMEOUT_SECONDS`).
    pub keepalive_timeout: Duration,
    /// How long a request head may take once it is due (see [`super::deadlines`]).
    pub header_read_timeout: Duration,
    /// How long a request body may take, from the request's start.
    pub body_read_timeout: Duration,
    /// hyper's read buffer, and so the largest request head (a larger one is answered 431).
    pub max_header_bytes: usize,
    /// Put `ConnectInfo<SocketAddr>` (the peer address) into every request's extensions.
    pub peer_addr: bool,
}

/// An accepted connection on its way to a worker, with its place under the connection cap.
type Conn = (std::net::TcpStream, SocketAddr, OwnedSemaphorePermit);

/// The worker threads, from the acceptor's side.
pub struct Workers {
    senders: Vec<mpsc::UnboundedSender<Conn>>,
    next: usize,
    /// Each worker reports here once its connections are closed.
    done: mpsc::Receiver<()>,
    release: watch::Sender<bool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Workers {
    /// Starts the worker threads serving `app`, counting connections in `metrics` if given.
    pub fn start(
        app: &Router,
        options: Options,
        metrics: Option<Arc<HttpMetrics>>,
    ) -> std::io::Result<Self> {
        let count = match options.count {
            0 => default_count(),
            n => n,
        };
        let (done_tx, done) = mpsc::channel(count);
        let (release, released) = watch::channel(false);
        let mut senders = Vec::with_capacity(count);
        let mut threads = Vec::with_capacity(count);
        for i in 0..count {
            let (tx, rx) = mpsc::unbounded_channel();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .max_blocking_threads(MAX_BLOCKING_THREADS)
                .build()?;
            let (app, done_tx, released) = (app.clone(), done_tx.clone(), released.clone());
            let metrics = metrics.clone();
            let thread = std::thread::Builder::new()
                .name(format!("http-worker-{i}"))
                .spawn(move || {
                    runtime.block_on(run(app, options, metrics, rx, done_tx, released));
                    // Whatever is still running (past the shutdown timeout) is dropped here.
                    runtime.shutdown_background();
                })?;
            senders.push(tx);
            threads.push(thread);
        }
        tracing::debug!(workers = count, "HTTP workers started");
        Ok(Self {
            senders,
            next: 0,
            done,
            release,
            threads,
        })
    }

    /// Hands a connection to the next worker (round-robin).
    pub fn dispatch(
        &mut self,
        stream: tokio::net::TcpStream,
        peer: SocketAddr,
        permit: OwnedSemaphorePermit,
    ) {
        // Deregister from the acceptor's reactor; the worker registers it with its own.
        let stream = match stream.into_std() {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(error = %e, "dropping an accepted connection");
                return;
            }
        };
        let _ = stream.set_nodelay(true);
        let mut conn = (stream, peer, permit);
        for _ in 0..self.senders.len() {
            let i = self.next;
            self.next = (self.next + 1) % self.senders.len();
            // Only fails if that worker is gone (it panicked): offer it to the next one.
            match self.senders[i].send(conn) {
                Ok(()) => return,
                Err(mpsc::error::SendError(back)) => conn = back,
            }
        }
        tracing::error!("no HTTP worker left to take a connection");
    }

    /// Stops handing out connections: workers close idle keep-alive connections and let
    /// in-flight requests finish. Resolves when every worker is done with its connections.
    pub async fn finish(&mut self) {
        self.senders.clear();
        for _ in 0..self.threads.len() {
            if self.done.recv().await.is_none() {
                break;
            }
        }
    }

    /// Lets the worker runtimes stop (dropping whatever still runs) and waits for the threads.
    pub fn release(self) {
        let _ = self.release.send(true);
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

/// One worker: serve connections until the acceptor stops, then close them gracefully, report,
/// and keep the runtime driven until released.
async fn run(
    app: Router,
    options: Options,
    metrics: Option<Arc<HttpMetrics>>,
    mut incoming: mpsc::UnboundedReceiver<Conn>,
    done: mpsc::Sender<()>,
    mut released: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let timer = CoarseTimer::new();
    tokio::spawn(timer.clone().run());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(timer.clone())
        .header_read_timeout(options.keepalive_timeout)
        .max_buf_size(options.max_header_bytes)
        .keep_alive(true);
    while let Some((stream, peer, permit)) = incoming.recv().await {
        let stream = match tokio::net::TcpStream::from_std(stream) {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(error = %e, "cannot register a connection");
                continue;
            }
        };
        let app = app.clone();
        let peer_addr = options.peer_addr;
        let phase = Arc::new(Phase::default());
        let io = GuardedIo::new(
            ZeroCopyStream::new(stream),
            phase.clone(),
            timer.clone(),
            options.header_read_timeout,
        );
        let (timer, body_timeout) = (timer.clone(), options.body_read_timeout);
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let in_flight = phase.begin();
            let mut req = req.map(|body| TimedBody::new(body, &timer, body_timeout));
            if peer_addr {
                req.extensions_mut().insert(ConnectInfo(peer));
            }
            let response = app.clone().oneshot(req);
            async move {
                let response = response.await?;
                Ok::<_, std::convert::Infallible>(
                    response.map(|body| Tracked::new(body, in_flight)),
                )
            }
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(io), service));
        let open = metrics.as_ref().map(|m| m.connection());
        tokio::spawn(async move {
            let _open = open;
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(permit);
        });
    }
    let drained = async {
        graceful.shutdown().await;
        let _ = done.send(()).await;
        std::future::pending::<()>().await
    };
    tokio::select! {
        () = drained => {}
        _ = released.wait_for(|r| *r) => {}
    }
}
