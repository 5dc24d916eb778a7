//! A panic in a request is that request's failure, not the service's: tower-http's
//! [`CatchPanicLayer`] turns a handler that panicked (a bug) into `500 internal` with the
//! API's error body, and the connection and every other request go on. The stores take their
//! connection over after such a panic (rolling back what the panicked use case left open),
//! and the blocking pool's and the group committer's panics are answered the same way, so
//! one bad request never leaves the service answering 503 until a restart (issue #10).
//!
//! The panic's message is not sent (it could hold request data); it goes to the log.

use axum::http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use std::any::Any;
use tower_http::catch_panic::{CatchPanicLayer, ResponseForPanic};

/// The layer, with [`Answer`] as the response to a panic.
pub fn layer() -> CatchPanicLayer<Answer> {
    CatchPanicLayer::custom(Answer)
}

/// `500` with `{"code": "internal", …}`, as any other internal failure is answered.
#[derive(Debug, Clone, Copy)]
pub struct Answer;

impl ResponseForPanic for Answer {
    type ResponseBody = Full<axum::body::Bytes>;

    fn response_for_panic(
        &mut self,
        panic: Box<dyn Any + Send + 'static>,
    ) -> Response<Self::ResponseBody> {
        let what = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        tracing::error!("bank-http: a request handler panicked: {what}");
        let body = serde_json::json!({
            "code": "internal",
            "message": "the request could not be handled",
        })
        .to_string();
        let mut resp = Response::new(Full::from(body));
        *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::body::Body;
    use axum::extract::Request;
    use axum::routing::get;
    use axum::Router;
    use http_body_util::BodyExt;
    use tower::{Service, ServiceExt};

    #[allow(clippy::panic)]
    async fn boom() -> &'static str {
        panic!("a bug in a handler")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_and_the_service_goes_on() {
        let mut svc = Router::new()
            .route("/boom", get(boom))
            .route("/fine", get(|| async { "ok" }))
            .layer(super::layer())
            .into_service::<Body>();
        let boom = svc
            .ready()
            .await
            .unwrap()
            .call(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(boom.status(), 500);
        let body = boom.into_body().collect().await.unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["code"], "internal");
        assert!(!String::from_utf8_lossy(&body).contains("a bug in a handler"));
        let fine = svc
            .ready()
            .await
            .unwrap()
            .call(Request::get("/fine").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(fine.status(), 200);
    }
}
