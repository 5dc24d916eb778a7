//! `POST /v1/imports`: a seed file decrypted by the server's importer into stock.

use super::App;
use crate::routes::{self, Reply};
use lifecycle::{Caller, Store};

pub(super) fn import_file<S: Store>(
    app: &App<S>,
    caller: &Caller,
    bytes: &[u8],
    skip_known: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Reply {
    // Authorize before saying anything about the server's configuration.
    if let Err(e) = caller.authorize(lifecycle::Action::Import) {
        return routes::refusal(&e);
    }
    let Some(importer) = &app.importer else {
        return Reply::error(
            501,
            "import_not_configured",
            "this server was started without --import-key: imports are not accepted over HTTP",
        );
    };
    match app
        .bank
        .import_file_with(caller, bytes, &**importer, skip_known, now)
    {
        Ok((o, digest, label)) => Reply {
            status: 201,
            body: serde_json::json!({ "imported": o.imported, "skipped": o.skipped, "digest": digest, "label": label }),
        },
        Err(e) => routes::refusal(&e),
    }
}
