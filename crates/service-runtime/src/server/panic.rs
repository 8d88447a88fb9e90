//! A handler that panics costs its request a JSON `500`, not the connection: [`CatchPanicLayer`]
//! catches the unwind while the request's future is polled and answers
//! `{"error": {"code": "internal_error", ...}}` (the backend's error shape), logging the panic
//! message as an error. It sits inside the access log, so that line carries the request id and
//! the access log records the 500 like any other answer.
//!
//! A hand-written layer rather than tower-http's `CatchPanic`, which boxes every response body
//! again: this one only wraps the future, at no cost until something panics.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

/// The body of the 500 sent for a panic.
pub const PANIC_BODY: &str = r#"{"error":{"code":"internal_error","message":"internal error"}}"#;

/// `router.layer(CatchPanicLayer)`, below the access log.
#[derive(Clone, Copy, Debug, Default)]
pub struct CatchPanicLayer;

impl<S> Layer<S> for CatchPanicLayer {
    type Service = CatchPanic<S>;

    fn layer(&self, inner: S) -> CatchPanic<S> {
        CatchPanic { inner }
    }
}

/// The service made by [`CatchPanicLayer`].
#[derive(Clone, Debug)]
pub struct CatchPanic<S> {
    inner: S,
}

impl<S> Service<Request> for CatchPanic<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Caught<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(req))) {
            Ok(future) => Caught {
                future: Some(future),
            },
            Err(payload) => {
                log(payload.as_ref());
                Caught { future: None }
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner future, answered with a 500 if polling it panics (`None`: it panicked while
    /// being created).
    pub struct Caught<F> {
        #[pin]
        future: Option<F>,
    }
}

impl<F, E> Future for Caught<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            return Poll::Ready(Ok(response()));
        };
        match std::panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                log(payload.as_ref());
                // The future is dropped now: polling a panicked future again is not allowed.
                this.future.set(None);
                Poll::Ready(Ok(response()))
            }
        }
    }
}

fn log(payload: &(dyn Any + Send)) {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "request handler panicked");
}

fn response() -> Response {
    let mut response = (StatusCode::INTERNAL_SERVER_ERROR, PANIC_BODY).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
