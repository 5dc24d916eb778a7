//! The dispatch of an API request: the media type, credentials to a caller, the route's
//! scope, the body limits, the password and import gates, then [`crate::routes::handle`] (or
//! the group committer for validations), and the JSON reply with its access-log line.

/// The routes whose use case checks a password with Argon2 (a login password, an operator's
/// password, an acting user's confirmation password) or hashes a new one: anyone with a key
/// of their scope may ask for many, each tens of milliseconds of a core.
use super::checks::{header_text, media_type, sends_body, session_header};
use super::import::import_file;
use super::App;
use crate::routes::{self, Reply};
use crate::{MAX_BODY, MAX_CUSTOMER_FILE, MAX_IMPORT};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lifecycle::{Caller, CustomerId, Error, LoginId, Store, UserRef};
use serde::Deserialize;
use std::sync::Arc;

const HASHING_ROUTES: &[&str] = &[
    "/v1/customers",
    "/v1/users",
    "/v1/login",
    "/v1/operator/sessions",
    "/v1/revoke",
    "/v1/mode",
    "/v1/unregister",
    "/v1/register-for",
    "/v1/login-password",
    "/v1/customers/{id}/users/{login}/permissions",
    "/v1/customers/{id}/users/{login}/password",
    "/v1/customers/{id}/users/{login}/login-password",
];

fn json_reply(r: Reply) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, r.body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    resp
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidateBody {
    customer: CustomerId,
    login: LoginId,
    code: String,
}

pub(super) async fn dispatch<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    req: Request,
) -> Response {
    let started = std::time::Instant::now();
    let request_id = crate::access::next_request_id();
    let method = req.method().as_str().to_owned();
    let client = crate::access::client_of(req.extensions());
    let path = routes::percent_decode(req.uri().path());
    let route = routes::route_of(&method, &path);
    let mut authorized = None;
    let reply = dispatch_reply(
        app.clone(),
        req,
        &method,
        path.clone(),
        route,
        &mut authorized,
    )
    .await;
    let route = route.map_or("other", |r| r.path);
    let elapsed = started.elapsed();
    app.metrics.observe(route, &method, &reply, elapsed);
    let reason = (reply.status >= 400)
        .then(|| reply.body["code"].as_str())
        .flatten();
    crate::access::log(
        &request_id,
        &client,
        &method,
        route,
        reply.status,
        reason,
        elapsed,
    );
    let mut resp = json_reply(reply);
    // Tells the lingering layer the caller was authenticated and authorized (crate::linger).
    if let Some(caller) = authorized {
        resp.extensions_mut().insert(caller);
    }
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
        if let Ok(v) = HeaderValue::from_str(&routes::methods_of(&path).join(", ")) {
            resp.headers_mut().insert(header::ALLOW, v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut()
            .insert(crate::access::REQUEST_ID_HEADER, v);
    }
    resp
}

/// The reply to `req`, whose method is `method`, decoded path `path` and route `route`
/// (`None`: no route has this method and path). `authorized` gets the caller once it is
/// authenticated and holds the route's scope.
async fn dispatch_reply<S: Store + Send + Sync + 'static>(
    app: Arc<App<S>>,
    req: Request,
    method: &str,
    path: String,
    route: Option<&'static routes::Route>,
    authorized: &mut Option<Caller>,
) -> Reply {
    let (parts, body) = req.into_parts();
    if !app.host_allowed(&parts.headers, &parts.uri) {
        return Reply::error(
            400,
            "host_not_allowed",
            "this Host is not served here: use the bank's name (server option --allowed-host)",
        );
    }
    let query = routes::query_pairs(parts.uri.query().unwrap_or(""));
    let method = method.to_owned();
    let now = (app.clock)();
    // A known path asked with another method: 405 (the route table is the public spec's).
    if route.is_none() && !routes::methods_of(&path).is_empty() {
        return routes::handle(
            &app.bank,
            None,
            &routes::Request::bare(&method, &path, &query),
            now,
        );
    }
    if method == "GET" && path == "/v1/health" {
        return routes::handle(
            &app.bank,
            None,
            &routes::Request::bare("GET", &path, &query),
            now,
        );
    }
    if method == "GET" && path == "/v1/ready" {
        let a = app.clone();
        return app.ready.reply(move || a.ping()).await;
    }
    let import = path == "/v1/imports";
    // The bank's customer file (issue #15) is CSV, not JSON.
    let customer_file = method == "POST" && path == "/v1/customer-imports";
    // The media type is asked of every request that carries a body (a form or text body is
    // never read as JSON: no cross-site form post); a request without one (a DELETE, an
    // approval) has nothing to mislabel.
    let has_body = matches!(method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
        && sends_body(&parts.headers);
    if has_body {
        let want = if import {
            "application/octet-stream"
        } else if customer_file {
            "text/csv"
        } else {
            "application/json"
        };
        if media_type(&parts.headers).as_deref() != Some(want) {
            return Reply::error(
                415,
                "unsupported_media_type",
                format!("send the body as Content-Type: {want}"),
            );
        }
    }
    // Credentials first: nothing is read for a caller without a valid key.
    let key = header_text(&parts.headers, "authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(|k| k.trim().to_owned());
    let session = session_header(&parts.headers, "x-operator-session");
    let customer_session = session_header(&parts.headers, "x-customer-session");
    // A key authenticated moments ago and no operator session: no database read, so no
    // blocking thread (the login front end's every request).
    let remembered = match (&key, &session) {
        (Some(k), None) => app.identities.cached(k),
        _ => None,
    };
    let caller = match remembered {
        Some(c) => c,
        None => {
            let a = app.clone();
            let presented = session.clone();
            let caller = tokio::task::spawn_blocking(move || -> Result<Caller, Error> {
                let key = key.ok_or(Error::Unauthenticated)?;
                let client = a.identities.client(&a.bank, &key)?;
                Ok(match presented {
                    // A session that is no (longer a) live one leaves the client as it is: the
                    // route answers as without one (401 operator_session_required on the back
                    // office's). A session row that cannot be read is not "no session": 500
                    // for a damaged row, 503 for the database away (`routes::refusal`).
                    Some(s) => match a.bank.operator_session(&client, &s, now) {
                        Ok(operator) => operator,
                        Err(e @ Error::Store(_)) => return Err(e),
                        Err(_) => client,
                    },
                    None => client,
                })
            })
            .await;
            match caller {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => return routes::refusal(&e),
                Err(_) => return Reply::error(500, "internal", "the request could not be handled"),
            }
        }
    };
    if let Err(r) = routes::gate_route(&caller, route) {
        return r;
    }
    *authorized = Some(caller.clone());
    let limit = if import {
        MAX_IMPORT
    } else if customer_file {
        MAX_CUSTOMER_FILE
    } else {
        MAX_BODY
    };
    // Announced over the limit: refused before a byte is read (the rest is read and dropped
    // by the lingering layer, so the client gets this answer).
    if header_text(&parts.headers, "content-length")
        .and_then(|l| l.parse::<u64>().ok())
        .is_some_and(|l| l > limit as u64)
    {
        return too_large(limit, import);
    }
    let bytes = match axum::body::to_bytes(Body::new(body), limit).await {
        Ok(b) => b,
        Err(e) => return body_error(&e, limit, import),
    };
    if method == "POST" && path == "/v1/validate" {
        let b: ValidateBody = match serde_json::from_slice(&bytes) {
            Ok(b) => b,
            Err(e) => return Reply::error(400, "invalid_input", format!("bad JSON body: {e}")),
        };
        let user = UserRef::new(b.customer, b.login);
        // A first-factor session presented with the code is checked before the code is
        // spent: a stale one is refused (401) and the code stays good (issue #10 review).
        let proved = match customer_session {
            None => None,
            Some(s) => {
                let (a, c, u) = (app.clone(), caller.clone(), user.clone());
                match tokio::task::spawn_blocking(move || a.bank.first_factor_of(&c, &s, &u, now))
                    .await
                {
                    Ok(Ok(p)) => Some(p),
                    Ok(Err(e)) => return routes::refusal(&e),
                    Err(_) => {
                        return Reply::error(500, "internal", "the request could not be handled")
                    }
                }
            }
        };
        let outcome = match app
            .committer
            .validate(caller.clone(), user.clone(), b.code)
            .await
        {
            Ok(o) => o,
            Err(e) => return routes::refusal(&e),
        };
        // The signed-in session reads the store (the user's row): on a blocking thread, and
        // only when there is one to give.
        if proved.is_none() && !app.bank.vouches_for_first_factor(&caller) {
            return routes::validate_answer(&app.bank, &caller, None, &user, &outcome, now);
        }
        let a = app.clone();
        return tokio::task::spawn_blocking(move || {
            routes::validate_answer(&a.bank, &caller, proved.as_ref(), &user, &outcome, now)
        })
        .await
        .unwrap_or_else(|_| Reply::error(500, "internal", "the request could not be handled"));
    }
    // Password checks through their gate: a flood of them waits for its own turn, or is
    // answered busy, and never takes the pool and the cores from the other routes.
    let hashing = method == "POST" && route.is_some_and(|r| HASHING_ROUTES.contains(&r.path));
    let _password_turn = match hashing {
        true => match app.password_checks.enter().await {
            Some(turn) => Some(turn),
            None => {
                return Reply::error(
                    503,
                    "busy",
                    "too many sign-ins and confirmations are being checked at once: nothing \
                     was done; retry in a few seconds",
                )
            }
        },
        false => None,
    };
    // Imports over the network one at a time, with a rest after each (the `import-lane`
    // crate; the back office's upload page takes its turn in the same lane).
    let entered =
        match (import || customer_file) && method == "POST" {
            true => match app.imports.enter().await {
                Some(e) => Some(e),
                None => return Reply::error(
                    503,
                    "import_busy",
                    "other imports are running or waiting, and the database rests after each so \
                     that logins go first: nothing was imported; retry in a few seconds",
                ),
            },
            false => None,
        };
    let a = app.clone();
    let reply = tokio::task::spawn_blocking(move || {
        if import && method == "POST" {
            let skip_known = query.iter().any(|(k, v)| k == "skip_known" && v == "true");
            return import_file(&a, &caller, &bytes, skip_known, now);
        }
        if let ("DELETE", "/v1/operator/sessions/current", Some(s)) =
            (method.as_str(), path.as_str(), session.as_deref())
        {
            return routes::close_session(&a.bank, &caller, s, now);
        }
        let request = routes::Request {
            method: &method,
            path: &path,
            query: &query,
            body: &bytes,
            customer_session: customer_session.as_deref(),
        };
        routes::handle(&a.bank, Some(&caller), &request, now)
    })
    .await
    .unwrap_or_else(|_| Reply::error(500, "internal", "the request could not be handled"));
    if let Some(e) = entered {
        e.done();
    }
    reply
}

/// 413 `body_too_large`: the limit, and for a seed file what to do instead.
fn too_large(limit: usize, import: bool) -> Reply {
    let message = if import {
        format!(
            "the seed file is larger than POST /v1/imports accepts ({limit} bytes, {} MiB): \
             nothing was imported. Ask for the batch in files under that size, or import the \
             file on the bank's server with `tokenline bank import FILE --key KEY`",
            limit / (1024 * 1024)
        )
    } else {
        format!("request bodies are limited to {limit} bytes here")
    };
    Reply::error(413, "body_too_large", message)
}

fn body_error(e: &axum::Error, limit: usize, import: bool) -> Reply {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if s.is::<http_body_util::LengthLimitError>() {
            return too_large(limit, import);
        }
        src = s.source();
    }
    Reply::error(
        408,
        "body_timeout",
        "the request body did not arrive in time: send it whole, at once",
    )
}

#[cfg(test)]
mod tests {
    /// Every route that checks a password passes the password gate: the list names routes
    /// that exist (a renamed route would slip past the gate), and every route whose body
    /// carries a password or a confirmation secret (by the spec) is in it.
    #[test]
    fn the_password_gate_names_real_routes_and_every_one_that_takes_a_secret() {
        for p in super::HASHING_ROUTES {
            assert!(
                crate::ROUTES
                    .iter()
                    .any(|r| r.method == "POST" && r.path == *p),
                "{p}: no such POST route"
            );
        }
        let spec = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../spec/bank-api.openapi.yaml"
        ))
        .unwrap_or_default();
        // The request body of `path`'s POST: the spec's lines from `requestBody:` to
        // `responses:` within the path's block.
        let body_of = |path: &str| -> String {
            let head = format!("\n  {path}:\n");
            let Some(start) = spec.find(&head) else {
                return String::new();
            };
            let block = &spec[start + head.len()..];
            let block = &block[..block.find("\n  /").unwrap_or(block.len())];
            let from = block.find("requestBody:").unwrap_or(block.len());
            let rest = &block[from..];
            rest[..rest.find("responses:").unwrap_or(rest.len())].to_owned()
        };
        assert!(
            body_of("/v1/login").contains("password"),
            "the spec is read"
        );
        for r in crate::ROUTES.iter().filter(|r| r.method == "POST") {
            let body = body_of(r.path).to_lowercase();
            if body.contains("password") || body.contains("secret") {
                assert!(
                    super::HASHING_ROUTES.contains(&r.path),
                    "{}: takes a secret but passes no password gate",
                    r.path
                );
            }
        }
    }
}
