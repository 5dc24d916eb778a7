//! シードファイル取込: an operator uploads a seed file into the bank's stock — the use case
//! `Bank::import_file` of `POST /v1/imports` and `bank import` (authorized before a byte is
//! opened; an unreadable file, a file imported before or any known serial imports nothing).
//! The form is `multipart/form-data` (a file input needs it, no JavaScript); its CSRF token
//! is checked here, before the file is looked at, as [`crate::csrf::CsrfForm`] does for
//! plain forms. Uploads are limited to [`MAX_UPLOAD`] bytes: a bigger one — announced by its
//! `Content-Length`, or found while reading — gets this page again saying the file is too
//! large, the limit, and what to do (smaller files, or `tokenline bank import` on the
//! server); nothing more than the limit is held, and the edge reads and drops the rest of the
//! body before answering (`bank_http`'s lingering close), so the browser shows the page.
//!
//! An upload takes its turn in the server's one import lane ([`super::Office::imports`], the
//! lane of the JSON API's imports too, issue #10), after the file is read and the CSRF token
//! checked: one import at a time, a rest after each so that logins get the database first,
//! and when the lane is full this page again saying so (503, `bo.imports.busy`), nothing
//! imported.

use super::{outcome, Staff};
use crate::csrf;
use crate::page::{self, render_status, Chrome};
use crate::session::Session;
use crate::Web;
use askama::Template;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lifecycle::Store;
use std::sync::Arc;

/// The largest seed file accepted (bytes): the same bound as `POST /v1/imports`.
pub const MAX_UPLOAD: usize = 64 * 1024 * 1024;

/// What a form around the file may add to it (boundaries, part headers, the CSRF token).
pub const FORM_OVERHEAD: usize = 64 * 1024;

/// [`MAX_UPLOAD`] as the pages show it (`64 MiB`).
fn limit_text() -> String {
    format!("{} MiB", MAX_UPLOAD / (1024 * 1024))
}

/// シードファイル取込.
#[derive(Template)]
#[template(path = "backoffice/imports.html")]
pub struct UploadPage {
    /// Chrome.
    pub c: Chrome,
    /// Whether the server can open seed files (`bank serve --import-key`).
    pub configured: bool,
    /// The file field's label (with the size limit).
    pub file_label: String,
    /// A refusal.
    pub error: Option<String>,
}

fn upload_page<S: Store + Send + Sync + 'static>(
    web: &Web<S>,
    c: Chrome,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let file_label = c.fmt("bo.imports.file", &[&limit_text()]);
    render_status(
        status,
        &UploadPage {
            c,
            configured: web.office.importer.is_some(),
            file_label,
            error,
        },
    )
}

/// `GET /backoffice/imports`.
pub async fn form<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    staff: Staff,
) -> Response {
    upload_page(&web, staff.c, None, StatusCode::OK)
}

/// `POST /backoffice/imports` (`multipart/form-data`: `csrf`, `file`). The answer carries
/// the operator's [`lifecycle::Caller`] in its extensions: the edge's lingering close then
/// reads the whole rest of a file over the limit, so the operator's browser gets the page
/// that says so (bank-http's `linger`: callers not signed in get a short linger only).
pub async fn submit<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    staff: Staff,
    req: Request,
) -> Response {
    let caller = staff.caller.clone();
    let mut resp = submit_as(web, staff, req).await;
    resp.extensions_mut().insert(caller);
    resp
}

async fn submit_as<S: Store + Send + Sync + 'static>(
    web: Arc<Web<S>>,
    staff: Staff,
    req: Request,
) -> Response {
    let c = staff.c;
    let csrf_refused = |c: Chrome| {
        let text = c.t("error.csrf").to_owned();
        page::error_page(c, StatusCode::FORBIDDEN, &text)
    };
    let session = req.extensions().get::<Session>().cloned();
    let path = page::full_path(req.extensions(), req.uri());
    // A forged upload is refused and audited as every forged form is (crate::csrf).
    if !csrf::same_origin(&req) {
        return csrf::forged(&web, session.as_ref(), &path, c)
            .await
            .into_response();
    }
    let Some(session) = session else {
        return csrf_refused(c);
    };
    let bad = |c, key: &str| {
        let text = c_t(&c, key);
        upload_page(&web, c, Some(text), StatusCode::BAD_REQUEST)
    };
    let too_large = |c: Chrome| {
        let text = c.fmt("bo.imports.too_large", &[&limit_text()]);
        upload_page(&web, c, Some(text), StatusCode::PAYLOAD_TOO_LARGE)
    };
    // Announced over the limit: answered before a byte is read.
    let announced = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > (MAX_UPLOAD + FORM_OVERHEAD) as u64) {
        return too_large(c);
    }
    // A read that fails: over the route's limit (a body without a length), or broken off.
    let unread = |c: Chrome, status: StatusCode| {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(c)
        } else {
            bad(c, "bo.imports.broken")
        }
    };
    let mut form = match Multipart::from_request(req, &()).await {
        Ok(m) => m,
        Err(_) => return bad(c, "bo.imports.not_multipart"),
    };
    let mut token = String::new();
    let mut file: Option<Vec<u8>> = None;
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return unread(c, e.status()),
        };
        match field.name() {
            Some("csrf") => match field.text().await {
                Ok(t) if t.len() <= 128 => token = t,
                _ => return csrf_refused(c),
            },
            Some("file") => {
                let mut bytes = Vec::new();
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            if bytes.len() + chunk.len() > MAX_UPLOAD {
                                return too_large(c);
                            }
                            bytes.extend_from_slice(&chunk);
                        }
                        Ok(None) => break,
                        Err(e) => return unread(c, e.status()),
                    }
                }
                file = Some(bytes);
            }
            _ => {}
        }
    }
    // The token first: nothing of the file is opened for a forged form.
    if !csrf::token_ok(&session, &token) {
        return csrf::forged(&web, Some(&session), &path, c)
            .await
            .into_response();
    }
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        return bad(c, "bo.imports.no_file");
    };
    let Some(opener) = web.office.importer.clone() else {
        return bad(c, "bo.imports.not_configured");
    };
    let caller = staff.caller;
    let Some(turn) = web.office.imports.enter().await else {
        let text = c_t(&c, "bo.imports.busy");
        return upload_page(&web, c, Some(text), StatusCode::SERVICE_UNAVAILABLE);
    };
    let res = web
        .call(move |bank, now| bank.import_file(&caller, &bytes, &*opener, now))
        .await;
    turn.done();
    match res {
        Ok((n, digest, label)) => {
            let title = c.t("bo.imports.title").to_owned();
            let lines = vec![
                c.fmt("bo.imports.done", &[&n.to_string(), &label]),
                c.fmt("bo.imports.digest", &[&digest]),
            ];
            outcome(
                c,
                StatusCode::CREATED,
                &title,
                lines,
                false,
                ("/backoffice/imports", "bo.menu.imports"),
            )
        }
        Err(e) => {
            let text = page::refusal_text(&c, &e);
            let status = match e.code() {
                "invalid_seed_file" => StatusCode::BAD_REQUEST,
                "import_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
                "duplicate_import" | "duplicate_serial" => StatusCode::CONFLICT,
                _ => page::refusal_status(&e),
            };
            upload_page(&web, c, Some(text), status)
        }
    }
}

fn c_t(c: &Chrome, key: &str) -> String {
    c.t(key).to_owned()
}
