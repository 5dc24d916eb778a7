//! Routing: one function from (caller, method, path, query, body, now) to a JSON reply, so the
//! whole API can be tested without a socket. [`ROUTES`] lists every route with the scope it
//! needs; the authorization matrix test checks it against `spec/bank-api.openapi.yaml` and
//! against the router.
//!
//! One module per route family (`provisioning`, `customer_admin`, `tokens`, `backoffice`,
//! `audit`, `login`); `reply` maps domain refusals to statuses, `bodies` holds the request
//! bodies, `query` decodes paths and queries.

mod audit;
mod backoffice;
mod bodies;
mod customer_admin;
mod login;
mod provisioning;
mod query;
mod reply;
mod tokens;

pub use login::validate_answer;
pub use query::{percent_decode, query_pairs};
pub use reply::{refusal, Reply};

use reply::done;

use chrono::{DateTime, Utc};
use lifecycle::{Bank, Caller, Error, Store};
use serde_json::json;

/// One route: method, path template (as in the OpenAPI spec), the scope a client needs
/// (`None`: no credential), and whether an operator session is needed on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// HTTP method.
    pub method: &'static str,
    /// Path template, `{name}` for a parameter.
    pub path: &'static str,
    /// The scope a client needs (`None` for the health check): the first of the spec's
    /// `x-scope` list.
    pub scope: Option<&'static str>,
    /// Further scopes that open the route as well (`x-scope: [login, provisioning]`): a key
    /// with any one of [`Route::scopes`] passes the gate.
    pub also: &'static [&'static str],
    /// An operator session is needed too.
    pub operator: bool,
}

impl Route {
    /// Every scope that opens the route, in the spec's `x-scope` order (empty: no
    /// credential needed).
    pub fn scopes(&self) -> impl Iterator<Item = &'static str> {
        self.scope.into_iter().chain(self.also.iter().copied())
    }
}

const fn r(method: &'static str, path: &'static str, scope: &'static str, operator: bool) -> Route {
    Route {
        method,
        path,
        scope: Some(scope),
        also: &[],
        operator,
    }
}

/// The most audit entries one `GET /v1/audit?limit=` asks for.
pub const MAX_AUDIT_LIMIT: usize = 1_000_000;

/// Every route the server answers.
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/v1/health",
        scope: None,
        also: &[],
        operator: false,
    },
    Route {
        method: "GET",
        path: "/v1/ready",
        scope: None,
        also: &[],
        operator: false,
    },
    r("POST", "/v1/customers", "provisioning", false),
    // The bank's customer file, all or nothing (issue #15: `bank customers import` as a route).
    r("POST", "/v1/customer-imports", "provisioning", false),
    r("GET", "/v1/customers", "provisioning", false),
    r("GET", "/v1/customers/{id}", "provisioning", false),
    r(
        "POST",
        "/v1/customers/{id}/users/{login}/remove",
        "provisioning",
        false,
    ),
    r(
        "POST",
        "/v1/customers/{id}/users/{login}/password",
        "provisioning",
        false,
    ),
    r(
        "POST",
        "/v1/customers/{id}/users/{login}/permissions",
        "customer-admin",
        false,
    ),
    r("POST", "/v1/register-for", "customer-admin", false),
    r("GET", "/v1/tokens", "backoffice", true),
    r("POST", "/v1/users", "provisioning", false),
    // Issue #10: `login` lists the acting user's own customer, `provisioning` any customer.
    Route {
        also: &["provisioning"],
        ..r("GET", "/v1/customers/{id}/users", "login", false)
    },
    r("POST", "/v1/tokens/{serial}/issue", "provisioning", false),
    r("POST", "/v1/imports", "import", false),
    r("POST", "/v1/register", "login", false),
    r("POST", "/v1/skip", "login", false),
    r("POST", "/v1/validate", "login", false),
    r("POST", "/v1/revoke", "customer-admin", false),
    r("POST", "/v1/mode", "customer-admin", false),
    r("POST", "/v1/unregister", "customer-admin", false),
    r("POST", "/v1/operator/sessions", "backoffice", false),
    r(
        "DELETE",
        "/v1/operator/sessions/current",
        "backoffice",
        true,
    ),
    r("GET", "/v1/tokens/{serial}", "backoffice", true),
    r("POST", "/v1/backoffice/revoke", "backoffice", true),
    r("POST", "/v1/unlock", "backoffice", true),
    r(
        "POST",
        "/v1/backoffice/requests/{id}/approve",
        "backoffice",
        true,
    ),
    // Review L1 of issue #10: the requester withdraws, another supervisor rejects.
    r(
        "POST",
        "/v1/backoffice/requests/{id}/withdraw",
        "backoffice",
        true,
    ),
    r(
        "POST",
        "/v1/backoffice/requests/{id}/reject",
        "backoffice",
        true,
    ),
    r("GET", "/v1/audit", "audit", false),
    // Issues #10/#11: the login password (ログインパスワード) over the API — the first factor
    // of a customer user's login, set by bank IT or by the customer's master with proof.
    r("POST", "/v1/login", "login", false),
    r(
        "POST",
        "/v1/customers/{id}/users/{login}/login-password",
        "provisioning",
        false,
    ),
    r("POST", "/v1/login-password", "customer-admin", false),
];

/// Whether `path` fits the template `t` (`{name}` matches one segment), segment by segment
/// without allocating (every request is matched against the table). A template without a
/// `{name}` is compared whole (most of the table, and the busiest routes: splitting every
/// template into segments cost 4 % of the server's time on `POST /v1/validate`).
fn fits(t: &str, path: &str) -> bool {
    if !t.contains('{') {
        return t.trim_matches('/') == path.trim_matches('/');
    }
    let mut t = t.trim_matches('/').split('/');
    let mut segs = path.trim_matches('/').split('/');
    loop {
        match (t.next(), segs.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == b || (a.starts_with('{') && a.ends_with('}')) => {}
            _ => return false,
        }
    }
}

/// The route a request path matches (`{name}` matches one segment).
pub fn route_of(method: &str, path: &str) -> Option<&'static Route> {
    ROUTES
        .iter()
        .find(|r| r.method == method && fits(r.path, path))
}

/// The methods served on `path` (empty for an unknown path): the `Allow` header of a 405.
pub fn methods_of(path: &str) -> Vec<&'static str> {
    ROUTES
        .iter()
        .filter(|r| fits(r.path, path))
        .map(|r| r.method)
        .collect()
}

/// Checks the route's scope (and operator session) before the body is even parsed, so a
/// key without the scope learns nothing from validation errors. The domain checks again.
pub fn gate(caller: &Caller, method: &str, path: &str) -> Result<(), Reply> {
    gate_route(caller, route_of(method, path))
}

/// [`gate`] for a route already looked up (`None`: no route, nothing to check here).
pub fn gate_route(caller: &Caller, route: Option<&Route>) -> Result<(), Reply> {
    let Some(r) = route else {
        return Ok(());
    };
    if r.scope.is_none() {
        return Ok(());
    }
    let mut held = false;
    for s in r.scopes() {
        held |= caller.has_scope(lifecycle::Scope::parse(s).map_err(|e| refusal(&e))?);
    }
    if !held {
        return Err(refusal(&Error::Forbidden {
            needs: format!(
                "an API key with the scope {}",
                r.scopes().collect::<Vec<_>>().join(" or ")
            ),
        }));
    }
    if r.operator && !matches!(caller, Caller::Operator { .. } | Caller::Local(_)) {
        return Err(refusal(&Error::OperatorSessionRequired));
    }
    Ok(())
}

/// One request as the routes see it, after the edge has checked its headers.
pub struct Request<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    /// The query's pairs, percent-decoded ([`query_pairs`]).
    pub query: &'a [(String, String)],
    /// The body (JSON, or a file for imports).
    pub body: &'a [u8],
    /// `X-Customer-Session`: the signed-in customer user a `login` client acts for
    /// ([`lifecycle::Bank::customer_session`]).
    pub customer_session: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// A request without body or customer session.
    pub fn bare(method: &'a str, path: &'a str, query: &'a [(String, String)]) -> Self {
        Request {
            method,
            path,
            query,
            body: &[],
            customer_session: None,
        }
    }
}

/// What every route family reads of a request: the bank, the authenticated caller, the
/// request's parts and the time.
#[derive(Clone, Copy)]
struct Ctx<'a, S> {
    bank: &'a Bank<S>,
    who: &'a Caller,
    method: &'a str,
    q: &'a [(String, String)],
    body: &'a [u8],
    customer_session: Option<&'a str>,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
}

/// A route family: its reply, or `None` for a route of another family.
type Family<S> = fn(&Ctx<'_, S>, &[&str]) -> Result<Option<Reply>, Reply>;

/// Handles one request from `caller` (`None`: no valid credential: only `/v1/health`).
pub fn handle<S: Store>(
    bank: &Bank<S>,
    caller: Option<&Caller>,
    request: &Request<'_>,
    now: DateTime<Utc>,
) -> Reply {
    match route(bank, caller, request, now) {
        Ok(r) | Err(r) => r,
    }
}

fn route<S: Store>(
    bank: &Bank<S>,
    caller: Option<&Caller>,
    request: &Request<'_>,
    now: DateTime<Utc>,
) -> Result<Reply, Reply> {
    let Request {
        method,
        path,
        query: q,
        body,
        customer_session,
    } = *request;
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    if (method, segs.as_slice()) == ("GET", &["v1", "health"][..]) {
        return Ok(Reply::ok(json!({ "status": "ok", "time": now })));
    }
    if route_of(method, path).is_none() && !methods_of(path).is_empty() {
        return Err(Reply::error(
            405,
            "method_not_allowed",
            format!(
                "{path} does not take {method}: use {} (see the Allow header)",
                methods_of(path).join(", ")
            ),
        ));
    }
    let Some(who) = caller else {
        return Err(refusal(&Error::Unauthenticated));
    };
    let c = Ctx {
        bank,
        who,
        method,
        q,
        body,
        customer_session,
        tz: bank.policy().time_zone,
        now,
    };
    let families: [Family<S>; 6] = [
        provisioning::route,
        customer_admin::route,
        tokens::route,
        backoffice::route,
        audit::route,
        login::route,
    ];
    for family in families {
        if let Some(reply) = family(&c, &segs)? {
            return Ok(reply);
        }
    }
    Ok(match segs.as_slice() {
        ["v1", ..] => Reply::error(
            404,
            "no_such_route",
            format!("no route {method} {path}: see spec/bank-api.openapi.yaml"),
        ),
        _ => Reply::error(
            404,
            "no_such_route",
            format!("no route {method} {path}: the API lives under /v1"),
        ),
    })
}

/// for) presented as `X-Operator-Session` (`DELETE /v1/operator/sessions/current`).
pub fn close_session<S: Store>(
    bank: &Bank<S>,
    caller: &Caller,
    session: &str,
    now: DateTime<Utc>,
) -> Reply {
    done(bank.close_operator_session(caller, session, now), |()| {
        Reply::ok(json!({ "result": "closed" }))
    })
}

#[cfg(test)]
mod tests {
    use super::{methods_of, route_of};

    /// A literal route and a template route are found with and without a trailing slash; a
    /// doubled slash, an extra segment or another method finds none.
    #[test]
    fn a_path_finds_its_route_segment_by_segment() {
        let path = |m, p| route_of(m, p).map(|r| r.path);
        assert_eq!(path("POST", "/v1/validate"), Some("/v1/validate"));
        assert_eq!(path("POST", "/v1/validate/"), Some("/v1/validate"));
        assert_eq!(path("POST", "/v1//validate"), None);
        assert_eq!(path("POST", "/v1/validate/x"), None);
        assert_eq!(path("GET", "/v1/validate"), None);
        assert_eq!(methods_of("/v1/validate"), vec!["POST"]);
        assert_eq!(
            path("POST", "/v1/customers/C1/users/u1/login-password"),
            Some("/v1/customers/{id}/users/{login}/login-password")
        );
        assert_eq!(
            path("POST", "/v1/customers/C1/users//login-password"),
            Some("/v1/customers/{id}/users/{login}/login-password"),
            "an empty segment fills a {{name}} (the use case refuses the empty name)"
        );
        assert_eq!(
            path("POST", "/v1/customers/C1/users/u1/x/login-password"),
            None
        );
    }
}
