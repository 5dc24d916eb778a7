//! The API server's integration tests (bank-http), one test binary: each file a module, the
//! shared helpers in `support`. One binary rather than one per file: each file's binary
//! compiled the server's generic code again (issue #10, the suite under 20 minutes).

mod support;

mod admin_routes;
mod api_key_revocation;
mod audit_actor;
mod authorization_matrix;
mod customer_id_case;
mod damaged_row;
mod exactly_once;
mod group_commit_sync;
mod hardening;
mod http_api;
#[cfg(feature = "load-client")]
mod load_client;
mod login_no_timing_oracle;
mod login_routes;
mod malformed_secrets;
mod operations;
mod operator_sign_out;
mod refused_linger;
mod register_oracle;
mod registration_state;
mod token_state_oracle;
mod user_list_routes;
mod validate_session;
