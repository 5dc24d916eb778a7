//! The pages' integration tests (bank-web), one test binary: each file a module, the
//! shared helpers in `support`. One binary rather than one per file: each file's binary
//! compiled the pages' whole generic server again (about 18 s each; issue #10, the suite under
//! 20 minutes).

mod support;

mod admin_pages_http;
mod api_and_web_login;
mod backoffice_http;
mod csrf_http;
mod http_pages;
mod lockout_http;
mod login_http;
mod paths_http;
