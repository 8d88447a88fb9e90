//! How long a client may take to send a request, beyond hyper's one timer.
//!
//! hyper's header-read timeout starts when a connection begins waiting for a request head, so on
//! a keep-alive connection it is also the idle timeout (`KEEPALIVE_TIMEOUT_SECONDS`, 75 s, which
//! must stay above the gateway's idle timeout). On its own that lets a slowloris client hold a
//! connection for 75 s per request head. The guards here add:
//! - [`GuardedIo`], the socket as hyper reads it: a request head must be complete
//!   `HEADER_READ_TIMEOUT_SECONDS` (10 s) after the connection was accepted, or after the first
//!   byte of a later request on a keep-alive connection; otherwise the read fails and hyper
//!   closes the connection. Idle time between requests is not counted.
//! - [`TimedBody`], the request body as handlers read it: it must arrive within
//!   `BODY_READ_TIMEOUT_SECONDS` of the request's start, or reading it fails with
//!   [`BodyTimeout`] (the backend answers that 408).
//! - [`Tracked`], the response body: while it exists the connection is busy with a request, so
//!   bytes read then are a request body, not the next head.
//!
//! All sleeps are [`CoarseTimer`] sleeps (one-second resolution), created only when a read has
//! to wait: a request whose head and body arrive at once arms no timer at all.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::rt::{Sleep, Timer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::timer::CoarseTimer;

/// What the socket guard and the service know about one connection.
#[derive(Debug, Default)]
pub struct Phase {
    /// Request heads hyper has handed to the service so far.
    requests: AtomicU32,
    /// A request is being served (from its head until its response body is dropped).
    busy: AtomicBool,
}

impl Phase {
    /// A request head arrived and the service is called: the head's deadline no longer applies.
    /// Returns the guard that marks the connection idle again once the response is done.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.busy.store(true, Ordering::Relaxed);
        InFlight(self.clone())
    }
}

/// Marks its connection idle when dropped (with the response body, or the request's future).
#[derive(Debug)]
pub struct InFlight(Arc<Phase>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.busy.store(false, Ordering::Relaxed);
    }
}

/// A socket whose reads fail once a request head has taken longer than the header timeout.
pub struct GuardedIo<T> {
    io: T,
    phase: Arc<Phase>,
    timer: CoarseTimer,
    timeout: Duration,
    /// The request count when the deadline was armed; `None` while no head is awaited.
    armed_at: Option<u32>,
    /// When the awaited head must be complete.
    deadline: Instant,
    sleep: Option<Pin<Box<dyn Sleep>>>,
}

impl<T> GuardedIo<T> {
    /// Guards a just-accepted connection: its first head is due `timeout` from now.
    pub fn new(io: T, phase: Arc<Phase>, timer: CoarseTimer, timeout: Duration) -> Self {
        let deadline = timer.now() + timeout;
        GuardedIo {
            io,
            phase,
            timer,
            timeout,
            armed_at: Some(0),
            deadline,
            sleep: None,
        }
    }

    /// `Err` once the head awaited since the deadline was armed is overdue.
    fn check(&mut self, cx: &mut Context<'_>) -> std::io::Result<()> {
        let Some(armed_at) = self.armed_at else {
            return Ok(());
        };
        if self.phase.requests.load(Ordering::Relaxed) != armed_at
            || self.phase.busy.load(Ordering::Relaxed)
        {
            // The head arrived (hyper called the service): disarm.
            self.armed_at = None;
            return Ok(());
        }
        let sleep = match &mut self.sleep {
            Some(sleep) => sleep,
            None => self.sleep.insert(self.timer.sleep_until(self.deadline)),
        };
        if sleep.as_mut().poll(cx).is_ready() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "request head not received within the header read timeout",
            ));
        }
        Ok(())
    }

    /// Bytes arrived while idle: they start a request head, due `timeout` from now.
    fn arm(&mut self) {
        self.armed_at = Some(self.phase.requests.load(Ordering::Relaxed));
        self.deadline = self.timer.now() + self.timeout;
        if let Some(sleep) = &mut self.sleep {
            self.timer.reset(sleep, self.deadline);
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for GuardedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let idle = !this.phase.busy.load(Ordering::Relaxed);
            if buf.filled().len() > before && idle && this.armed_at.is_none() {
                this.arm();
            }
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for GuardedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// The error a request body read fails with once the body timeout has passed.
#[derive(Debug, thiserror::Error)]
#[error("request body not received within the body read timeout")]
pub struct BodyTimeout;

/// A request body that must arrive by a deadline.
pub struct TimedBody {
    inner: Incoming,
    timer: CoarseTimer,
    deadline: Instant,
    sleep: Option<Pin<Box<dyn Sleep>>>,
}

impl TimedBody {
    /// `inner`, due `timeout` from now.
    pub fn new(inner: Incoming, timer: &CoarseTimer, timeout: Duration) -> Self {
        TimedBody {
            inner,
            deadline: timer.now() + timeout,
            timer: timer.clone(),
            sleep: None,
        }
    }
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => {
                let sleep = match &mut this.sleep {
                    Some(sleep) => sleep,
                    None => this.sleep.insert(this.timer.sleep_until(this.deadline)),
                };
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimeout)))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that keeps its connection marked busy until it is dropped.
pub struct Tracked<B> {
    inner: B,
    _in_flight: InFlight,
}

impl<B> Tracked<B> {
    pub fn new(inner: B, in_flight: InFlight) -> Self {
        Tracked {
            inner,
            _in_flight: in_flight,
        }
    }
}

impl<B: Body + Unpin> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
