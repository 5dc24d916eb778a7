//! Lingering close (as nginx's `lingering_close`): a request answered before its body was
//! read whole — a refusal, an upload over its size limit — has the rest of its body read and
//! dropped before the answer goes out. Without it the server closes a socket that still holds
//! unread bytes, the kernel answers with a TCP reset, and the client (a browser posting a
//! 70 MiB seed file) loses the answer and shows a connection error instead of the page that
//! says the file is too large.
//!
//! Bounded: the rest is read one frame at a time and dropped (no memory held), at most
//! [`LINGER_MAX`] bytes, and within the body deadline of the edge
//! (`Limits::body_timeout`, applied outside this layer): a slow or endless body ends the
//! lingering, then the connection is closed as before.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// The most bytes of an unread request body read and dropped before answering (a little
/// over one upload at the largest size [`crate::MAX_IMPORT`]).
pub const LINGER_MAX: u64 = crate::MAX_IMPORT as u64 + 1024 * 1024;

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
/// (at most [`LINGER_MAX`] bytes, within the body deadline) before answering.
pub async fn layer(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let shared = Shared(Arc::new(Mutex::new(Some(body))));
    let resp = next
        .run(Request::from_parts(parts, Body::new(shared.clone())))
        .await;
    let rest = shared.0.lock().ok().and_then(|mut b| b.take());
    if let Some(rest) = rest {
        discard(rest, LINGER_MAX).await;
    }
    resp
}

/// Reads `body` and drops it, until its end, an error (the deadline) or `max` bytes.
async fn discard(mut body: Body, max: u64) {
    let mut seen = 0u64;
    while !body.is_end_stream() && seen < max {
        match body.frame().await {
            Some(Ok(f)) => {
                if let Some(d) = f.data_ref() {
                    seen += d.len() as u64;
                }
            }
            _ => return,
        }
    }
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

    /// Posts `chunks` chunks to a handler that answers without reading: how many were read.
    async fn early_answer_reads(chunks: usize) -> usize {
        let taken = Arc::new(AtomicUsize::new(0));
        let app = Router::new()
            .route("/early", post(|| async { "refused" }))
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
        taken.load(Ordering::SeqCst)
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
}
