//! Lingering close (as nginx's `lingering_close`): a request answered before its body was
//! read whole — a refusal, an upload over its size limit — has the rest of its body read and
//! dropped before the answer goes out. Without it the server closes a socket that still holds
//! unread bytes, the kernel answers with a TCP reset, and the client (a browser posting a
//! 70 MiB seed file) loses the answer and shows a connection error instead of the page that
//! says the file is too large.
//!
//! Bounded: the rest is read one frame at a time and dropped (no memory held), within the
//! body deadline of the edge (`Limits::body_timeout`, applied outside this layer), and at most
//! - [`LINGER_MAX`] bytes when the answer was made for an authenticated and authorized caller
//!   (the handler puts its [`lifecycle::Caller`] in the response's extensions: the API's
//!   dispatch once the route's scope is granted, the back office's upload page for its
//!   operator);
//! - [`LINGER_REFUSED`] bytes for every other early answer (no key, a bad key, a missing
//!   scope, a refused `Host` or media type, a page without a login): anyone who reaches the
//!   port must not make the server read 65 MiB per request (issue #10, no slow-client trick).
//!
//! A body not read to its end (the bound, the deadline) ends the connection: the answer says
//! `Connection: close`.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use lifecycle::Caller;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// The most bytes of an unread request body read and dropped before answering an
/// authenticated caller (a little over one upload at the largest size [`crate::MAX_IMPORT`]).
pub const LINGER_MAX: u64 = crate::MAX_IMPORT as u64 + 1024 * 1024;

/// The most bytes of an unread request body read and dropped before answering anyone else
/// (64 KiB: a refused JSON request of the largest size [`crate::MAX_BODY`] still gets its
/// answer).
pub const LINGER_REFUSED: u64 = crate::MAX_BODY as u64;

/// The request body, held where the middleware can find the rest of it after the handler.
#[derive(Clone)]
struct Shared(Arc<Mutex<Option<Body>>>);

impl HttpBody for Shared {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let Ok(mut slot) = self.0.lock() else {
            return Poll::Ready(None);
        };
        match slot.as_mut() {
            Some(b) => Pin::new(b).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0
            .lock()
            .map_or(true, |b| b.as_ref().is_none_or(HttpBody::is_end_stream))
    }

    fn size_hint(&self) -> SizeHint {
        self.0
            .lock()
            .ok()
            .and_then(|b| b.as_ref().map(HttpBody::size_hint))
            .unwrap_or_default()
    }
}

/// The middleware: runs the request, then reads and drops what its handler left of the body
/// (at most [`LINGER_MAX`] bytes for an answer to an authorized caller, [`LINGER_REFUSED`]
/// otherwise, within the body deadline) before answering; `Connection: close` when the body
/// was not read to its end.
pub async fn layer(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let shared = Shared(Arc::new(Mutex::new(Some(body))));
    let mut resp = next
        .run(Request::from_parts(parts, Body::new(shared.clone())))
        .await;
    let rest = shared.0.lock().ok().and_then(|mut b| b.take());
    if let Some(rest) = rest {
        let max = if resp.extensions().get::<Caller>().is_some() {
            LINGER_MAX
        } else {
            LINGER_REFUSED
        };
        if !discard(rest, max).await {
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
    resp
}

/// Reads `body` and drops it, until its end, an error (the deadline) or `max` bytes; whether
/// its end was reached.
async fn discard(mut body: Body, max: u64) -> bool {
    let mut seen = 0u64;
    while !body.is_end_stream() {
        if seen >= max {
            return false;
        }
        match body.frame().await {
            Some(Ok(f)) => {
                if let Some(d) = f.data_ref() {
                    seen += d.len() as u64;
                }
            }
            Some(Err(_)) => return false,
            None => return true,
        }
    }
    true
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::routing::post;
    use axum::Router;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tower::ServiceExt;

    const CHUNK: usize = 64 * 1024;

    /// A body of `left` chunks of 64 KiB that counts the chunks taken from it.
    struct Chunks {
        left: usize,
        taken: Arc<AtomicUsize>,
    }

    impl HttpBody for Chunks {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            if self.left == 0 {
                return Poll::Ready(None);
            }
            self.left -= 1;
            self.taken.fetch_add(1, Ordering::SeqCst);
            Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'x'; CHUNK])))))
        }
        fn is_end_stream(&self) -> bool {
            self.left == 0
        }
    }

    /// Posts `chunks` chunks to a handler that answers an authorized caller without reading:
    /// how many were read.
    async fn early_answer_reads(chunks: usize) -> usize {
        early_answer(chunks, true).await.0
    }

    /// Posts `chunks` chunks to a handler that answers without reading, for an authorized
    /// caller or not: how many chunks were read, and the answer's `Connection` header.
    async fn early_answer(chunks: usize, authorized: bool) -> (usize, Option<String>) {
        let taken = Arc::new(AtomicUsize::new(0));
        let handler = move || async move {
            let mut resp = axum::response::IntoResponse::into_response("refused");
            if authorized {
                resp.extensions_mut().insert(Caller::Local("test".into()));
            }
            resp
        };
        let app = Router::new()
            .route("/early", post(handler))
            .layer(axum::middleware::from_fn(layer));
        let body = Body::new(Chunks {
            left: chunks,
            taken: taken.clone(),
        });
        let resp = app
            .oneshot(Request::post("/early").body(body).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let connection = resp
            .headers()
            .get(header::CONNECTION)
            .map(|v| v.to_str().unwrap().to_owned());
        (taken.load(Ordering::SeqCst), connection)
    }

    #[tokio::test]
    async fn an_early_answer_reads_and_drops_the_rest_of_the_body_first() {
        assert_eq!(early_answer_reads(100).await, 100);
    }

    #[tokio::test]
    async fn lingering_stops_at_its_bound() {
        let bound = (LINGER_MAX as usize).div_ceil(CHUNK);
        assert_eq!(early_answer_reads(bound + 50).await, bound);
    }

    #[tokio::test]
    async fn lingering_for_an_unauthorized_caller_stops_at_64_kib_and_closes() {
        let bound = (LINGER_REFUSED as usize).div_ceil(CHUNK);
        let (read, connection) = early_answer(bound + 50, false).await;
        assert_eq!(read, bound);
        assert_eq!(connection.as_deref(), Some("close"));
    }

    #[tokio::test]
    async fn a_small_body_read_to_its_end_keeps_the_connection() {
        let (read, connection) = early_answer(1, false).await;
        assert_eq!(read, 1);
        assert_eq!(connection, None);
    }
}
